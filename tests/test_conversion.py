"""The 3x3 conversion matrix (torch / TF / Flax, through checkpoints and in memory) for ResNet layouts, BERT heads,
resized and pruned BERT, and a user-defined model converted with the leaf rules only; plus overrides (Conv1D),
unmapped keys, legacy v4 files and TF <-> Flax without torch."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("tensorflow")
pytest.importorskip("flax")

import keras  # noqa: E402
from flax import nnx  # noqa: E402
from torch import nn  # noqa: E402

from pretrained import PretrainedConfig  # noqa: E402
from pretrained.conversion import canonical_arrays, convert, model_class_for, run_model  # noqa: E402
from pretrained.flax import FlaxPreTrainedModel  # noqa: E402
from pretrained.layout import LayoutOverride  # noqa: E402
from pretrained.models.bert import (  # noqa: E402
    BertConfig,
    BertForMaskedLM,
    BertForSequenceClassification,
    BertModel,
    FlaxBertForMaskedLM,
    FlaxBertForSequenceClassification,
    FlaxBertModel,
    TFBertForMaskedLM,
    TFBertForSequenceClassification,
    TFBertModel,
)
from pretrained.models.resnet import (  # noqa: E402
    FlaxResnetModelForImageClassification,
    ResnetConfig,
    ResnetModelForImageClassification,
    TFResnetModelForImageClassification,
)
from pretrained.outputs import ModelOutput  # noqa: E402
from pretrained.testing.cross_mixin import CrossFrameworkTesterMixin  # noqa: E402
from pretrained.tf import TFPreTrainedModel  # noqa: E402
from pretrained.torch import PreTrainedModel  # noqa: E402
from pretrained.torch.pruning import Conv1D  # noqa: E402

pytestmark = pytest.mark.xdist_group("conversion")  # one worker: the source models are cached per class


def randomize(model, seed: int = 0, *, batchnorm_only: bool = False):
    """New random values (loaded through the conversion API itself) so BatchNorm statistics and zero-initialised
    weights are really exercised: BatchNorm weights ~U(0.5, 1), biases and means ~N(0, 0.1), variances ~U(1, 2);
    other floating tensors ~N(0, 0.3) unless `batchnorm_only`."""
    rng = np.random.default_rng(seed)
    arrays = canonical_arrays(model)
    norms = {k.rpartition(".")[0] for k in arrays if k.endswith("running_mean")}
    for key, value in arrays.items():
        owner, _, leaf = key.rpartition(".")
        if value.dtype.kind != "f" or (batchnorm_only and owner not in norms):
            continue
        if leaf == "running_var":
            new = rng.uniform(1.0, 2.0, value.shape)
        elif leaf == "weight" and owner in norms:
            new = rng.uniform(0.5, 1.0, value.shape)
        else:
            new = rng.normal(0, 0.1 if owner in norms else 0.3, value.shape)
        arrays[key] = new.astype(value.dtype)
    model.load_canonical_state(arrays, strict=True)
    return model


# ============================================================================================ ResNet: 4 layouts
RESNET = dict(torch=ResnetModelForImageClassification, tf=TFResnetModelForImageClassification,
              flax=FlaxResnetModelForImageClassification)
PIXELS = np.random.default_rng(1).normal(size=(1, 3, 32, 32)).astype(np.float32)


class _Resnet(CrossFrameworkTesterMixin):
    model_classes = RESNET
    layout: dict = {}

    def get_config(self) -> ResnetConfig:
        return ResnetConfig(layers=[1, 1, 1, 1], num_classes=5, **self.layout)

    def get_inputs(self, config):
        return {"pixel_values": PIXELS}

    def prepare_model(self, model, backend):
        return randomize(model, seed=len(backend), batchnorm_only=True)


class TestResnet18(_Resnet):
    layout = dict(block_type="basic")


class TestResnet50d(_Resnet):
    layout = dict(block_type="bottleneck", stem_type="deep", stem_width=16, avg_down=True)


class TestResnet26t(_Resnet):
    layout = dict(block_type="bottleneck", stem_type="deep-tiered", stem_width=16, avg_down=True)


class TestResnext50(_Resnet):
    layout = dict(block_type="bottleneck", cardinality=8, base_width=4)


# ============================================================================================ BERT
IDS = np.array([[5, 6, 7, 8, 9, 10, 98], [12, 13, 14, 15, 16, 0, 0]])
MASK = np.array([[1, 1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 0, 0]])


class _Bert(CrossFrameworkTesterMixin):
    def get_config(self) -> BertConfig:
        return BertConfig(vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                          intermediate_size=37, max_position_embeddings=32, num_labels=3)

    def get_inputs(self, config):
        return {"input_ids": IDS % config.vocab_size, "attention_mask": MASK}


class TestBertBase(_Bert):
    model_classes = dict(torch=BertModel, tf=TFBertModel, flax=FlaxBertModel)


class TestBertMaskedLM(_Bert):
    model_classes = dict(torch=BertForMaskedLM, tf=TFBertForMaskedLM, flax=FlaxBertForMaskedLM)


class TestBertSequenceClassification(_Bert):
    model_classes = dict(torch=BertForSequenceClassification, tf=TFBertForSequenceClassification,
                         flax=FlaxBertForSequenceClassification)


class TestBertMaskedLMResizedAndPruned(TestBertMaskedLM):
    def prepare_model(self, model, backend):
        model.resize_token_embeddings(101)
        model.prune_heads({0: [1, 3], 1: [0]})
        return model


# ============================================================================================ a user's own model
class TinyNetConfig(PretrainedConfig):
    model_type = "tiny-cross-net"

    def __init__(self, channels: int = 8, groups: int = 2, multiplier: int = 2, vocab: int = 11, hidden: int = 6,
                 **kwargs) -> None:
        self.channels, self.groups, self.multiplier, self.vocab, self.hidden = channels, groups, multiplier, vocab, hidden
        super().__init__(**kwargs)


class TinyNet(PreTrainedModel):
    """conv, grouped conv, depthwise conv, batchnorm, embedding, dense, layernorm: PyTorch."""

    config_class = TinyNetConfig
    main_input_name = "pixel_values"

    def __init__(self, config: TinyNetConfig) -> None:
        super().__init__(config)
        c = config.channels
        self.conv = nn.Conv2d(3, c, 3, padding=1)
        self.grouped = nn.Conv2d(c, c, 3, padding=1, groups=config.groups, bias=False)
        self.depthwise = nn.Conv2d(c, c * config.multiplier, 3, padding=1, groups=c)
        self.bn = nn.BatchNorm2d(c * config.multiplier)
        self.embed = nn.Embedding(config.vocab, c * config.multiplier)
        self.dense = nn.Linear(c * config.multiplier, config.hidden)
        self.norm = nn.LayerNorm(config.hidden)
        self.post_init()

    def forward(self, pixel_values, token_ids):
        x = self.bn(self.depthwise(self.grouped(self.conv(pixel_values)))).mean((2, 3))
        return ModelOutput(logits=self.norm(self.dense(x + self.embed(token_ids).mean(1))))


class TFTinyNet(TFPreTrainedModel):
    """The same in Keras 3: layers named like the torch attributes, NHWC inside."""

    config_class = TinyNetConfig
    main_input_name = "pixel_values"

    def __init__(self, config: TinyNetConfig, **kwargs) -> None:
        super().__init__(config, **kwargs)
        c, layers = config.channels, keras.layers
        self.conv = layers.Conv2D(c, 3, padding="same", name="conv")
        self.grouped = layers.Conv2D(c, 3, padding="same", groups=config.groups, use_bias=False, name="grouped")
        self.depthwise = layers.DepthwiseConv2D(3, padding="same", depth_multiplier=config.multiplier,
                                                name="depthwise")
        self.bn = layers.BatchNormalization(epsilon=1e-5, momentum=0.9, name="bn")
        self.embed = layers.Embedding(config.vocab, c * config.multiplier, name="embed")
        self.dense = layers.Dense(config.hidden, name="dense")
        self.norm = layers.LayerNormalization(epsilon=1e-5, name="norm")

    @property
    def dummy_inputs(self):
        return {"pixel_values": np.zeros((1, 3, 8, 8), np.float32), "token_ids": np.zeros((1, 2), np.int32)}

    def call(self, pixel_values, token_ids, training=False):
        x = keras.ops.transpose(pixel_values, (0, 2, 3, 1))
        x = self.bn(self.depthwise(self.grouped(self.conv(x))), training=training)
        x = keras.ops.mean(x, axis=(1, 2)) + keras.ops.mean(self.embed(token_ids), axis=1)
        return ModelOutput(logits=self.norm(self.dense(x)))


class FlaxTinyNet(FlaxPreTrainedModel):
    """The same in Flax NNX."""

    config_class = TinyNetConfig
    main_input_name = "pixel_values"

    def __init__(self, config: TinyNetConfig, *, rngs=None, **kwargs) -> None:
        super().__init__(config, rngs=rngs, **kwargs)
        c, m, r = config.channels, config.multiplier, self.rngs
        self.conv = nnx.Conv(3, c, (3, 3), padding=1, rngs=r)
        self.grouped = nnx.Conv(c, c, (3, 3), padding=1, feature_group_count=config.groups, use_bias=False, rngs=r)
        self.depthwise = nnx.Conv(c, c * m, (3, 3), padding=1, feature_group_count=c, rngs=r)
        self.bn = nnx.BatchNorm(c * m, epsilon=1e-5, momentum=0.9, use_fast_variance=False, rngs=r)
        self.embed = nnx.Embed(config.vocab, c * m, rngs=r)
        self.dense = nnx.Linear(c * m, config.hidden, rngs=r)
        self.norm = nnx.LayerNorm(config.hidden, epsilon=1e-5, rngs=r)
        self.post_init()

    def __call__(self, pixel_values, token_ids):
        x = self.bn(self.depthwise(self.grouped(self.conv(pixel_values.transpose(0, 2, 3, 1))))).mean((1, 2))
        return ModelOutput(logits=self.norm(self.dense(x + self.embed(token_ids).mean(1))))


class TestUserDefinedModel(CrossFrameworkTesterMixin):
    """No `_layout_overrides` anywhere: the leaf rules alone map every variable."""

    model_classes = dict(torch=TinyNet, tf=TFTinyNet, flax=FlaxTinyNet)

    def get_config(self):
        return TinyNetConfig()

    def get_inputs(self, config):
        return {"pixel_values": PIXELS[:, :, :8, :8], "token_ids": np.array([[1, 2, 10]])}

    def prepare_model(self, model, backend):
        assert not getattr(model, "_layout_overrides", None)
        return randomize(model, seed=3)


# ============================================================================================ overrides, reports
class Conv1DNet(PreTrainedModel):
    config_class = TinyNetConfig
    main_input_name = "hidden"

    def __init__(self, config):
        super().__init__(config)
        self.c_attn = Conv1D(config.hidden, config.channels)  # weight stored (in, out)
        self.post_init()

    def forward(self, hidden):
        return ModelOutput(out=self.c_attn(hidden))


# Dense / Linear kernels are (in, out) like Conv1D's weight: declared, not guessed
CONV1D = [LayoutOverride(r"c_attn\.kernel", "c_attn.weight", "identity")]


class TFConv1DNet(TFPreTrainedModel):
    config_class = TinyNetConfig
    main_input_name = "hidden"
    _layout_overrides = CONV1D

    def __init__(self, config, **kwargs):
        super().__init__(config, **kwargs)
        self.c_attn = keras.layers.Dense(config.hidden, name="c_attn")

    @property
    def dummy_inputs(self):
        return {"hidden": np.zeros((1, self.config.channels), np.float32)}

    def call(self, hidden, training=False):
        return ModelOutput(out=self.c_attn(hidden))


class FlaxConv1DNet(FlaxPreTrainedModel):
    config_class = TinyNetConfig
    main_input_name = "hidden"
    _layout_overrides = CONV1D

    def __init__(self, config, *, rngs=None, **kwargs):
        super().__init__(config, rngs=rngs, **kwargs)
        self.c_attn = nnx.Linear(config.channels, config.hidden, rngs=self.rngs)
        self.post_init()

    def __call__(self, hidden):
        return ModelOutput(out=self.c_attn(hidden))


class TestConv1DWithOverrides(CrossFrameworkTesterMixin):
    model_classes = dict(torch=Conv1DNet, tf=TFConv1DNet, flax=FlaxConv1DNet)

    def get_config(self):
        return TinyNetConfig()

    def get_inputs(self, config):
        return {"hidden": np.random.default_rng(0).normal(size=(2, config.channels)).astype(np.float32)}


def test_unmapped_keys_are_reported_not_dropped() -> None:
    source = TinyNet(TinyNetConfig())
    state = dict(source.canonical_state_dict())
    state["extra.gamma"] = state.pop("norm.weight")  # a key no rule maps to the model
    target = FlaxTinyNet(TinyNetConfig())
    report = target.load_canonical_state(state)
    assert report.unexpected_keys == ["extra.gamma"] and report.missing_keys == ["norm.weight"]
    with pytest.raises(Exception, match="norm.weight"):
        TFTinyNet(TinyNetConfig()).load_canonical_state(state, strict=True)


@pytest.mark.parametrize("flag", ["from_pt", "from_tf", "from_flax"])
def test_v4_flags_accepted_everywhere(flag: str, tmp_path: Path) -> None:
    config = BertConfig(vocab_size=20, hidden_size=8, num_hidden_layers=1, num_attention_heads=2, intermediate_size=8)
    BertModel(config).save_pretrained(tmp_path)
    for model_class in (BertModel, TFBertModel, FlaxBertModel):
        assert model_class.from_pretrained(tmp_path, **{flag: True}).config.hidden_size == 8


def test_convert_by_backend_name_and_into_instance() -> None:
    config = BertConfig(vocab_size=20, hidden_size=8, num_hidden_layers=1, num_attention_heads=2, intermediate_size=8)
    source = BertForMaskedLM(config)
    assert model_class_for(config, "tf", architecture="FlaxBertForMaskedLM") is TFBertForMaskedLM
    flax_model = convert(source, "flax")
    assert type(flax_model) is FlaxBertForMaskedLM
    target = TFBertForMaskedLM(config)
    same, report = convert(flax_model, target, output_loading_info=True)
    assert same is target and report.is_complete
    np.testing.assert_allclose(run_model(target, {"input_ids": IDS % 20})[0],
                               run_model(source, {"input_ids": IDS % 20})[0], atol=1e-4)


def test_converted_models_share_no_memory() -> None:
    """In-memory conversion copies: training one model never changes the other (JAX adopts aligned host buffers,
    torch assigns tensors: neither may alias the source's memory)."""
    config = BertConfig(vocab_size=64, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=16)
    source = BertModel(config)
    converted = {backend: convert(source, backend) for backend in ("tf", "flax")}
    converted["torch"] = convert(converted["flax"], "torch")
    before = {name: canonical_arrays(model) for name, model in converted.items()}
    with torch.no_grad():
        source.embeddings.word_embeddings.weight.add_(1.0)
        converted["torch"].embeddings.word_embeddings.weight.add_(1.0)
    for name in ("tf", "flax"):
        after = canonical_arrays(converted[name])
        np.testing.assert_array_equal(after["embeddings.word_embeddings.weight"],
                                      before[name]["embeddings.word_embeddings.weight"], err_msg=name)


def test_tf_to_flax_without_torch(tmp_path: Path) -> None:
    """TF <-> Flax goes through canonical keys only: it works with torch unimportable."""
    script = """
import sys; sys.modules["torch"] = None
import numpy as np
from pretrained.conversion import convert, canonical_arrays
from pretrained.models.bert import BertConfig, TFBertForSequenceClassification, FlaxBertForSequenceClassification
config = BertConfig(vocab_size=20, hidden_size=8, num_hidden_layers=1, num_attention_heads=2, intermediate_size=8)
tf_model = TFBertForSequenceClassification(config)
flax_model = convert(tf_model, FlaxBertForSequenceClassification, strict=True)
back = convert(flax_model, TFBertForSequenceClassification, strict=True)
a, b = canonical_arrays(tf_model), canonical_arrays(back)
assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
assert "torch" not in {m.split(".")[0] for m, mod in sys.modules.items() if mod is not None}
print("ok")
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and "ok" in done.stdout, done.stderr[-3000:]


# ============================================================================================ legacy v4 files
def _linen_tree(model) -> dict:
    """What transformers v4's Flax BERT wrote: the Linen params tree (kernels (in, out), `scale`, `embedding`)."""
    tree: dict = {}
    for var in model.canonical_variables():
        node = tree
        for part in var.path[:-1]:
            node = node.setdefault(str(part), {})
        node[str(var.path[-1])] = np.asarray(var.variable.get_value())
    return tree


def test_flax_msgpack_to_canonical(tmp_path: Path) -> None:
    from flax.serialization import to_bytes

    from pretrained.legacy import read_flax_msgpack

    config = BertConfig(vocab_size=20, hidden_size=8, num_hidden_layers=2, num_attention_heads=2, intermediate_size=8)
    flax_model = FlaxBertForMaskedLM(config).eval()
    (tmp_path / "flax_model.msgpack").write_bytes(to_bytes(_linen_tree(flax_model)))
    tensors = read_flax_msgpack(tmp_path / "flax_model.msgpack")
    expected = canonical_arrays(flax_model)
    assert sorted(tensors) == sorted(expected)
    for key in expected:
        np.testing.assert_array_equal(tensors[key], expected[key], err_msg=key)
    torch_model = BertForMaskedLM.from_pretrained(None, config=config, state_dict=tensors, strict=True)
    np.testing.assert_allclose(run_model(torch_model, {"input_ids": IDS % 20})[0],
                               run_model(flax_model, {"input_ids": IDS % 20})[0], atol=1e-4)


def test_linen_batch_stats() -> None:
    from pretrained.legacy import linen_to_canonical

    flat = {("params", "bn", "scale"): np.ones(2), ("batch_stats", "bn", "mean"): np.zeros(2),
            ("batch_stats", "bn", "var"): np.ones(2), ("params", "conv", "kernel"): np.zeros((3, 3, 4, 5))}
    out = linen_to_canonical(flat)
    assert sorted(out) == ["bn.running_mean", "bn.running_var", "bn.weight", "conv.weight"]
    assert out["conv.weight"].shape == (5, 4, 3, 3)
