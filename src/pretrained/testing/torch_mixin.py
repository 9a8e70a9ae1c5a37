"""`TorchModelTesterMixin`: the common tests for a user's PyTorch model (same test names as the TF / Flax mixins).

Apply it to a pytest class, list the model classes and say how to build a small config and inputs:

Example:
    >>> from pretrained.testing.torch_mixin import TorchModelTesterMixin
    >>> class TestMyModel(TorchModelTesterMixin):  # doctest: +SKIP
    ...     model_classes = (MyModel, MyModelForMaskedLM)
    ...     base_model_class = MyModel
    ...     def prepare_config_and_inputs(self):
    ...         config = MyConfig(hidden_size=32, num_hidden_layers=2)
    ...         return config, {"input_ids": torch.tensor([[1, 2, 3]])}

`get_config()` + `get_inputs(config)` and `all_model_classes` (the TF / Flax mixins' spelling) work as well.
Switch off `test_resize_embeddings` / `test_pruning` for models without token embeddings / attention heads (they
are skipped automatically when the model has no input embeddings / no `_prune_heads`).
"""

from __future__ import annotations

import copy
import json
import random
import re
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

from ..configuration import PretrainedConfig
from ..errors import IncompleteLoadError, ShapeMismatchError


def flat_tensors(output: Any) -> list[torch.Tensor]:
    """Every tensor of a model output (a `ModelOutput` / dict, a tuple or one tensor)."""
    if isinstance(output, dict):
        output = list(output.values())
    if isinstance(output, (list, tuple)):
        return [t for item in output for t in flat_tensors(item)]
    return [output] if isinstance(output, torch.Tensor) else []


def assert_outputs_close(a: Any, b: Any, atol: float = 1e-5) -> None:
    """Same structure, shapes and values within `atol` (loaded weights are bit-exact, but memory-mapped tensors
    are only 8-byte aligned, so vectorised kernels may round the last bit differently)."""
    left, right = flat_tensors(a), flat_tensors(b)
    assert len(left) == len(right) and left, "the outputs differ in structure"
    for x, y in zip(left, right):
        assert x.shape == y.shape
        torch.testing.assert_close(x.float(), y.float(), atol=atol, rtol=0)


def assert_state_equal(a: nn.Module, b: nn.Module) -> None:
    """Bit-exact equality of two models' state dicts (same keys, dtypes and values)."""
    left, right = a.state_dict(), b.state_dict()
    assert left.keys() == right.keys()
    for key in left:
        assert left[key].dtype == right[key].dtype, key
        assert torch.equal(left[key], right[key]), key


def mock_init_weights(self: nn.Module, module: nn.Module) -> None:
    """A deterministic `_init_weights`: every parameter of `module` is filled with a value derived from its name."""
    for name, param in module.named_parameters(recurse=False):
        param.data.fill_(sum(map(ord, name)) % 7 + 0.5)


def _mocked(model_class: type, *, assign: bool) -> type:
    attrs = {"_init_weights": mock_init_weights, "_keys_to_ignore_on_load_missing": [],
             "_supports_assign_param_buffer": assign}
    return type(f"Mocked{model_class.__name__}", (model_class,), attrs)


class TorchModelTesterMixin:
    """Common tests for `PreTrainedModel` subclasses (see the module docstring)."""

    model_classes: tuple[type, ...] = ()
    all_model_classes: tuple[type, ...] = ()
    base_model_class: type | None = None
    test_resize_embeddings: bool = True
    test_pruning: bool = True
    heads_to_prune: dict[int, list[int]] = {0: [0], -1: [1]}
    shard_size: str = "20KB"

    def prepare_config_and_inputs(self) -> tuple[PretrainedConfig, dict[str, Any]]:
        config = self.get_config()
        return config, self.get_inputs(config)

    def get_config(self) -> PretrainedConfig:
        if type(self).prepare_config_and_inputs is TorchModelTesterMixin.prepare_config_and_inputs:
            raise NotImplementedError("implement prepare_config_and_inputs() (or get_config() and get_inputs())")
        return self.prepare_config_and_inputs()[0]

    def get_inputs(self, config: PretrainedConfig) -> dict[str, Any]:
        return self.prepare_config_and_inputs()[1]

    # ------------------------------------------------------------------ helpers
    def _classes(self) -> tuple[type, ...]:
        return tuple(self.model_classes or self.all_model_classes)

    def _model(self, model_class: type, config: PretrainedConfig | None = None) -> nn.Module:
        torch.manual_seed(0)
        return model_class(copy.deepcopy(config or self.get_config())).eval()

    @torch.no_grad()
    def _run(self, model: nn.Module) -> Any:
        return model(**self.get_inputs(model.config))

    def _head_classes(self) -> list[type]:
        return [c for c in self._classes() if c is not self.base_model_class]

    @staticmethod
    def _deletable_key(model: nn.Module) -> str:
        names = [n for n, _ in model.named_parameters()]
        return random.Random(0).choice(names)

    # ------------------------------------------------------------------ tests
    def test_save_load_round_trip(self, tmp_path: Path) -> None:
        for model_class in self._classes():
            model = self._model(model_class)
            model.save_pretrained(tmp_path / model_class.__name__)
            assert (tmp_path / model_class.__name__ / "config.json").is_file()
            loaded, info = model_class.from_pretrained(tmp_path / model_class.__name__, output_loading_info=True)
            assert info == {"missing_keys": [], "unexpected_keys": [], "mismatched_keys": [], "error_msgs": []}
            assert not loaded.training
            assert_state_equal(model, loaded)
            assert_outputs_close(self._run(model), self._run(loaded))

    def test_from_pretrained_no_checkpoint(self) -> None:
        for model_class in self._classes():
            model = self._model(model_class)
            loaded = model_class.from_pretrained(None, config=model.config, state_dict=model.state_dict())
            assert_state_equal(model, loaded)

    def test_save_load_from_base(self, tmp_path: Path) -> None:
        if self.base_model_class is None:
            pytest.skip("no base model class")
        base = self._model(self.base_model_class)
        base.save_pretrained(tmp_path)
        for model_class in self._head_classes():
            head = model_class.from_pretrained(tmp_path)
            self._assert_base_equal(base.state_dict(), head.state_dict(), model_class.base_model_prefix)

    def test_save_load_to_base(self, tmp_path: Path) -> None:
        if self.base_model_class is None:
            pytest.skip("no base model class")
        for model_class in self._head_classes():
            head = self._model(model_class)
            head.save_pretrained(tmp_path / model_class.__name__)
            base = self.base_model_class.from_pretrained(tmp_path / model_class.__name__)
            self._assert_base_equal(base.state_dict(), head.state_dict(), model_class.base_model_prefix)

    @staticmethod
    def _assert_base_equal(base: dict, head: dict, prefix: str) -> None:
        compared = 0
        for key, value in base.items():
            for candidate in (f"{prefix}.{key}" if prefix else key, key):
                if candidate in head and head[candidate].shape == value.shape:
                    assert torch.equal(value, head[candidate]), key
                    compared += 1
                    break
        assert compared > 0

    def test_fast_init_from_base(self, tmp_path: Path) -> None:
        """A base checkpoint with one weight deleted, into each head class: the meta + assign path and the copy
        path give identical weights, and the deleted weight comes out of `_init_weights` (not garbage)."""
        if self.base_model_class is None:
            pytest.skip("no base model class")
        base = self._model(self.base_model_class)
        deleted = self._deletable_key(base)
        self._save_without(base, deleted, tmp_path)
        for model_class in self._head_classes():
            fast = _mocked(model_class, assign=True).from_pretrained(tmp_path)
            slow = _mocked(model_class, assign=False).from_pretrained(tmp_path)
            assert_state_equal(fast, slow)
            prefix = model_class.base_model_prefix
            key = f"{prefix}.{deleted}" if prefix and f"{prefix}.{deleted}" in fast.state_dict() else deleted
            self._assert_mock_initialised(fast, key)

    def test_fast_init_to_base(self, tmp_path: Path) -> None:
        if self.base_model_class is None:
            pytest.skip("no base model class")
        for model_class in self._head_classes():
            head = self._model(model_class)
            directory = tmp_path / model_class.__name__
            prefix = model_class.base_model_prefix
            base_keys = {n for n, _ in self._model(self.base_model_class).named_parameters()}
            candidates = [n for n, _ in head.named_parameters() if n.removeprefix(f"{prefix}.") in base_keys]
            deleted = random.Random(0).choice(candidates)
            self._save_without(head, deleted, directory)
            fast = _mocked(self.base_model_class, assign=True).from_pretrained(directory)
            slow = _mocked(self.base_model_class, assign=False).from_pretrained(directory)
            assert_state_equal(fast, slow)
            self._assert_mock_initialised(fast, deleted.removeprefix(f"{prefix}.") if prefix else deleted)

    @staticmethod
    def _save_without(model: nn.Module, key: str, directory: Path) -> None:
        from safetensors.torch import load_file, save_file

        model.save_pretrained(directory)
        weights = load_file(directory / "model.safetensors")
        weights.pop(key, None)
        save_file(weights, directory / "model.safetensors", metadata={"format": "pt"})

    @staticmethod
    def _assert_mock_initialised(model: nn.Module, key: str) -> None:
        tensor = model.state_dict()[key]
        leaf = key.rsplit(".", 1)[-1]
        expected = torch.full_like(tensor, sum(map(ord, leaf)) % 7 + 0.5)
        assert torch.equal(tensor, expected), f"{key} was not initialised by _init_weights"

    def test_loading_report(self, tmp_path: Path) -> None:
        from safetensors.torch import load_file, save_file

        model_class = self._classes()[-1]
        model = self._model(model_class)
        model.save_pretrained(tmp_path)
        weights = load_file(tmp_path / "model.safetensors")
        tied = {k for group in _shared_groups(model) for k in group}
        key = next(k for k, v in weights.items() if v.dim() == 2 and k not in tied)
        wrong = (weights[key].shape[0] + 1, weights[key].shape[1])
        weights[key] = torch.zeros(wrong, dtype=weights[key].dtype)
        weights["no.such.weight"] = torch.zeros(3)
        save_file(weights, tmp_path / "model.safetensors", metadata={"format": "pt"})
        with pytest.raises(ShapeMismatchError, match=rf"{re.escape(key)}.*\[{wrong[0]}, {wrong[1]}\]"):
            model_class.from_pretrained(tmp_path)
        loaded, info = model_class.from_pretrained(tmp_path, ignore_mismatched_sizes=True, output_loading_info=True)
        assert [(k, tuple(a), tuple(b)) for k, a, b in info["mismatched_keys"]] == [
            (key, wrong, tuple(model.state_dict()[key].shape))
        ]
        assert info["unexpected_keys"] == ["no.such.weight"] and info["missing_keys"] == []
        assert torch.isfinite(loaded.state_dict()[key]).all()
        del weights[key]
        save_file(weights, tmp_path / "model.safetensors", metadata={"format": "pt"})
        loaded, info = model_class.from_pretrained(tmp_path, output_loading_info=True)
        assert info["missing_keys"] == [key]
        assert torch.isfinite(loaded.state_dict()[key]).all()
        with pytest.raises(IncompleteLoadError):
            model_class.from_pretrained(tmp_path, strict=True)

    def test_tied_weights_after_reload(self, tmp_path: Path) -> None:
        for model_class in self._classes():
            model = self._model(model_class)
            shared = _shared_groups(model)
            model.save_pretrained(tmp_path / model_class.__name__)
            loaded = model_class.from_pretrained(tmp_path / model_class.__name__)
            assert _shared_groups(loaded) == shared
            saved = model.canonical_state_dict()
            for group in shared:
                assert sum(k in saved for k in group) == 1, group

    def test_resize_token_embeddings(self, tmp_path: Path) -> None:
        model = self._model(self._classes()[0])
        if not self.test_resize_embeddings or not _has_input_embeddings(model):
            pytest.skip("the model has no token embeddings")
        for model_class in self._classes():
            model = self._model(model_class)
            embedding = model.get_input_embeddings()
            old = embedding.weight.detach().clone()
            size = old.shape[0]
            assert model.resize_token_embeddings(size + 10) is embedding
            assert type(model.get_input_embeddings()) is type(embedding)
            assert embedding.weight.shape == (size + 10, old.shape[1]) and model.config.vocab_size == size + 10
            assert torch.equal(embedding.weight[:size], old)
            inputs = self.get_inputs(model.config)
            inputs[model_class.main_input_name][0, 0] = size + 9
            with torch.no_grad():
                before = model(**inputs)
            model.save_pretrained(tmp_path / model_class.__name__)
            with torch.no_grad():
                after = model_class.from_pretrained(tmp_path / model_class.__name__)(**inputs)
            assert_outputs_close(before, after)
            model.resize_token_embeddings(size - 5)
            assert model.get_input_embeddings().weight.shape[0] == size - 5
            assert model.resize_token_embeddings(size, pad_to_multiple_of=8).num_embeddings % 8 == 0
            with pytest.raises(ValueError, match="not and integer"):
                model.resize_token_embeddings(size, pad_to_multiple_of=1.3)

    def test_prune_heads(self, tmp_path: Path) -> None:
        model = self._model(self._classes()[0])
        if not self.test_pruning or not hasattr(model.base_model, "_prune_heads"):
            pytest.skip("the model does not support head pruning")
        for model_class in self._classes():
            model = self._model(model_class)
            count = model.num_parameters()
            model.prune_heads(self.heads_to_prune)
            assert model.config.pruned_heads == {int(k): sorted(v) for k, v in self.heads_to_prune.items()}
            pruned = model.num_parameters()
            assert pruned < count
            model.prune_heads(self.heads_to_prune)  # idempotent
            assert model.num_parameters() == pruned
            before = self._run(model)
            model.save_pretrained(tmp_path / model_class.__name__)
            loaded = model_class.from_pretrained(tmp_path / model_class.__name__)
            assert loaded.config.pruned_heads == model.config.pruned_heads
            assert_state_equal(model, loaded)
            assert_outputs_close(before, self._run(loaded))
            assert model_class(copy.deepcopy(model.config)).num_parameters() == pruned  # pruned at construction

    def test_dtype_round_trip(self, tmp_path: Path) -> None:
        model_class = self._classes()[0]
        model = self._model(model_class).to(torch.bfloat16)
        model.save_pretrained(tmp_path)
        assert json.loads((tmp_path / "config.json").read_text())["dtype"] == "bfloat16"
        kept = model_class.from_pretrained(tmp_path, dtype="auto")
        upcast = model_class.from_pretrained(tmp_path)
        half = model_class.from_pretrained(tmp_path, torch_dtype=torch.float16)
        for key, value in model.state_dict().items():
            if value.is_floating_point():
                assert kept.state_dict()[key].dtype == torch.bfloat16, key
                assert upcast.state_dict()[key].dtype == torch.float32, key
                assert half.state_dict()[key].dtype == torch.float16, key
                assert torch.equal(kept.state_dict()[key], value), key
                assert torch.equal(upcast.state_dict()[key], value.float()), key

    def test_sharded_save_load(self, tmp_path: Path) -> None:
        model_class = self._classes()[-1]
        model = self._model(model_class)
        model.save_pretrained(tmp_path / "safe", max_shard_size=self.shard_size)
        index = json.loads((tmp_path / "safe" / "model.safetensors.index.json").read_text())
        shards = set(index["weight_map"].values())
        assert len(shards) > 1 and not (tmp_path / "safe" / "model.safetensors").exists()
        assert_state_equal(model, model_class.from_pretrained(tmp_path / "safe"))
        model.save_pretrained(tmp_path / "bin", max_shard_size=self.shard_size, safe_serialization=False)
        index = json.loads((tmp_path / "bin" / "pytorch_model.bin.index.json").read_text())
        assert len(set(index["weight_map"].values())) > 1
        assert_state_equal(model, model_class.from_pretrained(tmp_path / "bin"))



def _shared_groups(model: nn.Module) -> list[list[str]]:
    groups: dict[int, list[str]] = {}
    for key, tensor in model.state_dict(keep_vars=True).items():
        groups.setdefault(id(tensor), []).append(key)
    return sorted(keys for keys in groups.values() if len(keys) > 1)


def _has_input_embeddings(model: nn.Module) -> bool:
    try:
        return isinstance(model.get_input_embeddings(), nn.Embedding)
    except NotImplementedError:
        return False
