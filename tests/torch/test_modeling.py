"""PreTrainedModel (PyTorch): save / load pipeline, fast init, reports, dtypes, bad input."""

from __future__ import annotations

import json
import logging
import sys

import pytest
import torch
from torch import nn

from pretrained import PretrainedConfig
from pretrained.errors import CheckpointError, ConfigError, IncompleteLoadError, ShapeMismatchError
from pretrained.torch import PreTrainedModel
from pretrained.torch import loading as torch_loading


class ToyConfig(PretrainedConfig):
    model_type = "toy"

    def __init__(self, hidden: int = 4, vocab_size: int = 11, **kwargs):
        self.hidden = hidden
        self.vocab_size = vocab_size
        super().__init__(**kwargs)


class Scale(nn.Module):
    """A custom parameter with no reset_parameters, initialised in __init__ only."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.gain = nn.Parameter(torch.randn(size))


class ToyModel(PreTrainedModel):
    config_class = ToyConfig
    base_model_prefix = "toy"

    def __init__(self, config: ToyConfig, extra: int = 0) -> None:
        super().__init__(config)
        self.extra = extra
        self.embed = nn.Embedding(config.vocab_size, config.hidden)
        self.dense = nn.Linear(config.hidden, config.hidden)
        self.norm = nn.BatchNorm1d(config.hidden)
        self.scale = Scale(config.hidden)
        self.register_buffer("steps", torch.arange(5), persistent=False)
        self.post_init()

    def get_input_embeddings(self) -> nn.Embedding:
        return self.embed

    def set_input_embeddings(self, value: nn.Embedding) -> None:
        self.embed = value

    def _init_weights(self, module: nn.Module) -> None:
        if isinstance(module, (nn.Linear, nn.Embedding)):
            module.weight.data.normal_(0.0, 0.02)
            if getattr(module, "bias", None) is not None:
                module.bias.data.zero_()
        elif isinstance(module, Scale):
            module.gain.data.fill_(1.0)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        return self.norm(self.dense(self.embed(input_ids)).mean(1)) * self.scale.gain


class ToyHead(PreTrainedModel):
    config_class = ToyConfig
    base_model_prefix = "toy"

    def __init__(self, config: ToyConfig) -> None:
        super().__init__(config)
        self.toy = ToyModel(config)
        self.head = nn.Linear(config.hidden, 2)
        self.post_init()

    def _init_weights(self, module: nn.Module) -> None:
        self.toy._init_weights(module)


def saved(tmp_path, model_class=ToyModel, **config_kwargs):
    torch.manual_seed(0)
    model = model_class(ToyConfig(**config_kwargs)).eval()
    model.save_pretrained(tmp_path)
    return model


def assert_same(a: nn.Module, b: nn.Module) -> None:
    assert a.state_dict().keys() == b.state_dict().keys()
    for key, value in a.state_dict().items():
        assert torch.equal(value, b.state_dict()[key]), key


# ------------------------------------------------------------------------------------------- save
def test_save_writes_config_and_canonical_safetensors(tmp_path):
    from safetensors import safe_open

    model = saved(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["architectures"] == ["ToyModel"] and config["dtype"] == "float32"
    with safe_open(tmp_path / "model.safetensors", "pt") as handle:
        assert handle.metadata() == {"format": "pt"}
        assert set(handle.keys()) == set(model.state_dict())
        assert "steps" not in handle.keys()


def test_keys_to_ignore_on_save_are_not_written(tmp_path):
    from safetensors import safe_open

    cls = type("NoScale", (ToyModel,), {"_keys_to_ignore_on_save": ["scale.gain"]})
    saved(tmp_path, cls)
    with safe_open(tmp_path / "model.safetensors", "pt") as handle:
        assert "scale.gain" not in handle.keys()
    _, info = cls.from_pretrained(tmp_path, output_loading_info=True)
    assert info["missing_keys"] == ["scale.gain"]


def test_half_model_saves_float16_and_loads_auto(tmp_path):
    model = ToyModel(ToyConfig()).half()
    assert model.dtype == torch.float16
    model.save_pretrained(tmp_path)
    assert json.loads((tmp_path / "config.json").read_text())["dtype"] == "float16"
    assert ToyModel.from_pretrained(tmp_path, dtype="auto").dense.weight.dtype == torch.float16
    assert ToyModel.from_pretrained(tmp_path, torch_dtype="bfloat16").dense.weight.dtype == torch.bfloat16
    assert ToyModel.from_pretrained(tmp_path).float().dense.weight.dtype == torch.float32


def test_bin_round_trip_and_stale_files_removed(tmp_path):
    model = saved(tmp_path)
    model.save_pretrained(tmp_path, safe_serialization=False)
    assert (tmp_path / "pytorch_model.bin").is_file() and not (tmp_path / "model.safetensors").exists()
    assert_same(model, ToyModel.from_pretrained(tmp_path))
    model.save_pretrained(tmp_path, safe_serialization=False, max_shard_size=200)
    assert not (tmp_path / "pytorch_model.bin").exists()
    index = json.loads((tmp_path / "pytorch_model.bin.index.json").read_text())
    assert len(set(index["weight_map"].values())) > 1
    assert_same(model, ToyModel.from_pretrained(tmp_path))
    assert not list(tmp_path.glob(".tmp-*"))


def test_failed_bin_save_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    model = saved(tmp_path)
    before = (tmp_path / "model.safetensors").read_bytes()

    def broken_save(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(CheckpointError, match="disk full"):
        model.save_pretrained(tmp_path, safe_serialization=False)
    assert (tmp_path / "model.safetensors").read_bytes() == before
    assert not list(tmp_path.glob(".tmp-*"))


def test_push_to_hub_and_load_by_repo_id(local_hub, tmp_path):
    model = saved(tmp_path / "local")
    model.push_to_hub("alice/toy")
    assert_same(model, ToyModel.from_pretrained("alice/toy"))
    model.save_pretrained(tmp_path / "again", push_to_hub=True, repo_id="alice/toy2", max_shard_size=300)
    assert_same(model, ToyModel.from_pretrained("alice/toy2"))


# ------------------------------------------------------------------------------------------- load
def test_meta_and_copy_paths_give_identical_weights(tmp_path):
    model = saved(tmp_path)
    fast = ToyModel.from_pretrained(tmp_path)
    slow = type("Slow", (ToyModel,), {"_supports_param_buffer_assignment": False}).from_pretrained(tmp_path)
    assert_same(model, fast)
    assert_same(fast, slow)
    assert not fast.training and not slow.training


@pytest.mark.parametrize("flag", ["_supports_assign_param_buffer", "_supports_param_buffer_assignment"])
def test_either_spelling_turns_assignment_off(tmp_path, monkeypatch, flag):
    saved(tmp_path)
    calls = []
    original = torch_loading.meta_parameters

    def spy():
        calls.append(1)
        return original()

    monkeypatch.setattr(torch_loading, "meta_parameters", spy)
    ToyModel.from_pretrained(tmp_path)
    assert calls == [1]
    type("Off", (ToyModel,), {flag: False}).from_pretrained(tmp_path)
    assert calls == [1]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/maps")
def test_assigned_weights_are_zero_copy_views_of_the_file(tmp_path):
    saved(tmp_path)
    model = ToyModel.from_pretrained(tmp_path)
    slow = type("Slow", (ToyModel,), {"_supports_assign_param_buffer": False}).from_pretrained(tmp_path)

    def mapped_file(tensor: torch.Tensor) -> str | None:
        for line in open("/proc/self/maps"):
            low, high = (int(x, 16) for x in line.split()[0].split("-"))
            if low <= tensor.data_ptr() < high:
                return line.split()[-1]
        return None

    assert mapped_file(model.dense.weight) == str(tmp_path / "model.safetensors")  # no private copy
    assert mapped_file(slow.dense.weight) != str(tmp_path / "model.safetensors")


def test_missing_weights_come_from_init_weights_not_garbage(tmp_path):
    model = saved(tmp_path)
    state = {k: v for k, v in model.state_dict().items() if not k.startswith(("scale.", "dense.bias"))}
    for assign in (True, False):
        cls = type("T", (ToyModel,), {"_supports_assign_param_buffer": assign})
        loaded, info = cls.from_pretrained(None, config=model.config, state_dict=state, output_loading_info=True)
        assert info["missing_keys"] == ["dense.bias", "scale.gain"]
        assert torch.equal(loaded.scale.gain, torch.ones(4))  # _init_weights ran on the owner module
        assert torch.equal(loaded.dense.bias, torch.zeros(4))
        assert torch.equal(loaded.dense.weight, model.dense.weight)  # the loaded half of the module wins


def test_non_persistent_buffers_are_computed(tmp_path):
    saved(tmp_path)
    assert torch.equal(ToyModel.from_pretrained(tmp_path).steps, torch.arange(5))


def test_config_overrides_and_model_kwargs(tmp_path):
    saved(tmp_path)
    model = ToyModel.from_pretrained(tmp_path, extra=3, output_hidden_states=True)
    assert model.extra == 3 and model.config.output_hidden_states


def test_head_loads_base_and_base_loads_head(tmp_path):
    base = saved(tmp_path / "base")
    head, info = ToyHead.from_pretrained(tmp_path / "base", output_loading_info=True)
    assert info["missing_keys"] == ["head.weight", "head.bias"] and info["unexpected_keys"] == []
    assert torch.equal(head.toy.dense.weight, base.dense.weight)
    head.save_pretrained(tmp_path / "head")
    back, info = ToyModel.from_pretrained(tmp_path / "head", output_loading_info=True)
    assert info["missing_keys"] == [] and info["unexpected_keys"] == ["head.weight", "head.bias"]
    assert torch.equal(back.dense.weight, base.dense.weight)


def test_ignore_patterns_filter_the_report(tmp_path):
    saved(tmp_path / "base")
    cls = type("Quiet", (ToyHead,), {"_keys_to_ignore_on_load_missing": [r"^head\."]})
    _, info = cls.from_pretrained(tmp_path / "base", output_loading_info=True)
    assert info["missing_keys"] == []


def test_strict_refuses_an_incomplete_checkpoint(tmp_path):
    saved(tmp_path / "base")
    with pytest.raises(IncompleteLoadError, match="head.weight"):
        ToyHead.from_pretrained(tmp_path / "base", strict=True)


def test_device_argument(tmp_path):
    saved(tmp_path)
    assert ToyModel.from_pretrained(tmp_path, device="cpu").device.type == "cpu"
    with pytest.raises(ConfigError, match="several devices"):
        ToyModel.from_pretrained(tmp_path, device_map={"embed": "cpu", "dense": "meta"})


# ------------------------------------------------------------------------------------------- bad input
def test_wrong_config_class_is_refused():
    class OtherConfig(PretrainedConfig):
        model_type = "other"

    with pytest.raises(ConfigError, match="ToyModel expects a ToyConfig"):
        ToyModel(OtherConfig())
    with pytest.raises(ConfigError, match="needs a configuration"):
        ToyModel({"hidden": 4})


def test_checkpoint_missing_every_key_warns_and_reports(tmp_path, caplog):
    from safetensors.torch import save_file

    ToyConfig().save_pretrained(tmp_path)
    save_file({"unrelated.weight": torch.zeros(2)}, tmp_path / "model.safetensors", metadata={"format": "pt"})
    with caplog.at_level(logging.WARNING, logger="pretrained"):
        model, info = ToyModel.from_pretrained(tmp_path, output_loading_info=True)
    assert set(info["missing_keys"]) == set(model.state_dict()) - {"norm.num_batches_tracked"}
    assert info["unexpected_keys"] == ["unrelated.weight"]
    assert "None of the 1 weights" in info["error_msgs"][0]
    assert "newly initialized" in caplog.text and "None of the 1 weights" in caplog.text
    assert torch.isfinite(model.dense.weight).all()


def test_shape_mismatch_names_key_and_both_shapes(tmp_path):
    saved(tmp_path)
    with pytest.raises(ShapeMismatchError, match=r"embed\.weight: checkpoint \[11, 4\] vs model \[13, 4\]"):
        ToyModel.from_pretrained(tmp_path, vocab_size=13)
    model, info = ToyModel.from_pretrained(tmp_path, vocab_size=13, ignore_mismatched_sizes=True,
                                           output_loading_info=True)
    assert info["mismatched_keys"] == [("embed.weight", (11, 4), (13, 4))]
    assert model.embed.weight.shape == (13, 4) and float(model.embed.weight.detach().std()) < 0.1


def test_bin_that_needs_full_pickle_is_refused(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    ToyConfig().save_pretrained(tmp_path)
    torch.save({"dense.weight": torch.zeros(4, 4), "payload": Evil()}, tmp_path / "pytorch_model.bin")
    with pytest.raises(CheckpointError, match="pytorch_model.bin: refused to load"):
        ToyModel.from_pretrained(tmp_path)


def test_dtype_auto_follows_the_config_then_refuses_a_mixed_checkpoint(tmp_path):
    import json

    model = saved(tmp_path)
    state = model.state_dict()
    state["dense.weight"] = state["dense.weight"].half()
    from safetensors.torch import save_file

    save_file(state, tmp_path / "model.safetensors", metadata={"format": "pt"})
    assert ToyModel.from_pretrained(tmp_path, dtype="auto").dense.weight.dtype == torch.float32  # config.json says
    config = json.loads((tmp_path / "config.json").read_text())
    del config["dtype"]
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(ConfigError, match="ambiguous.*float16.*float32"):
        ToyModel.from_pretrained(tmp_path, dtype="auto")
    assert ToyModel.from_pretrained(tmp_path).dense.weight.dtype == torch.float32  # cast on assignment


def test_unknown_dtype_is_refused(tmp_path):
    saved(tmp_path)
    with pytest.raises(ConfigError, match="unknown torch dtype"):
        ToyModel.from_pretrained(tmp_path, dtype="float13")


def test_from_pretrained_none_without_state_dict_is_refused():
    with pytest.raises(ConfigError, match="state_dict"):
        ToyModel.from_pretrained(None, config=ToyConfig())


# ------------------------------------------------------------------------------------------- utilities
def test_memory_footprint_and_parameter_counts():
    model = ToyModel(ToyConfig())
    params = 11 * 4 + 4 * 4 + 4 + 4 + 4 + 4
    assert model.num_parameters() == params
    assert model.num_parameters(exclude_embeddings=True) == params - 44
    assert model.get_memory_footprint(return_buffers=False) == 4 * params
    buffers = 4 * 4 + 4 * 4 + 8 + 5 * 8  # running mean/var (fp32), num_batches_tracked, steps (int64)
    assert model.get_memory_footprint() == 4 * params + buffers


def test_gradient_checkpointing_unsupported_is_refused():
    with pytest.raises(ValueError, match="does not support gradient checkpointing"):
        ToyModel(ToyConfig()).gradient_checkpointing_enable()


def test_register_for_auto_class():
    class Registered(ToyModel):
        pass

    Registered.register_for_auto_class()
    assert Registered._auto_class == "AutoModel" and ToyModel._auto_class is None


def test_base_model_and_embeddings_accessors():
    head = ToyHead(ToyConfig())
    assert head.base_model is head.toy and head.get_input_embeddings() is head.toy.embed
    assert head.get_output_embeddings() is None
    with pytest.raises(NotImplementedError):
        ToyModel(ToyConfig()).prune_heads({0: [0]})


# ------------------------------------------------------------------------------------------- extra state
class Counter(nn.Module):
    """A module with extra state (PyTorch's get_extra_state / set_extra_state): a plain dict, or a tensor."""

    def __init__(self, as_tensor: bool = False) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(2))
        self.as_tensor, self.state = as_tensor, {"steps": 0, "name": "fresh"}

    def get_extra_state(self):
        return torch.tensor([float(self.state["steps"])]) if self.as_tensor else dict(self.state)

    def set_extra_state(self, state) -> None:
        self.state = {"steps": int(state[0]), "name": "tensor"} if self.as_tensor else dict(state)


class CountingModel(PreTrainedModel):
    config_class = ToyConfig

    def __init__(self, config: ToyConfig, as_tensor: bool = False) -> None:
        super().__init__(config)
        self.counter = Counter(as_tensor)
        self.post_init()


@pytest.mark.parametrize("as_tensor", [False, True])
def test_extra_state_round_trips(tmp_path, as_tensor):
    model = CountingModel(ToyConfig(), as_tensor=as_tensor)
    model.counter.state = {"steps": 7, "name": "trained"}
    model.save_pretrained(tmp_path)
    loaded, info = CountingModel.from_pretrained(tmp_path, as_tensor=as_tensor, output_loading_info=True)
    assert info["missing_keys"] == [] and info["unexpected_keys"] == []
    assert loaded.counter.state == ({"steps": 7, "name": "tensor"} if as_tensor else {"steps": 7, "name": "trained"})
    fresh = CountingModel(ToyConfig(), as_tensor=as_tensor)
    fresh.load_canonical_state(model.canonical_state_dict(), strict=True)
    assert fresh.counter.state["steps"] == 7


def test_extra_state_that_is_not_json_is_refused_by_key(tmp_path):
    model = CountingModel(ToyConfig())
    model.counter.state = {"steps": object()}
    with pytest.raises(ValueError, match=r"cannot save 'counter\._extra_state': get_extra_state\(\) returned a dict, "
                                         r"which is neither a tensor nor JSON-serialisable"):
        model.save_pretrained(tmp_path)
    assert not (tmp_path / "model.safetensors").exists()
