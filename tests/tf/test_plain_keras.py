"""Plain Keras 3 authoring: layers named by their attributes (no `name=`), lists as `.0`, `.1`, a symbolic build
without declared input shapes, layer-type layouts, `set_input_embeddings` by assignment, `config.pruned_heads`
re-applied by `post_init` — checked against the PyTorch twin through the canonical checkpoint."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

keras = pytest.importorskip("keras")
torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from pretrained import PretrainedConfig  # noqa: E402
from pretrained.heads import pruneable_heads_and_indices  # noqa: E402
from pretrained.layout import LayoutOverride  # noqa: E402
from pretrained.tf import TFPreTrainedModel, canonical_variables  # noqa: E402
from pretrained.tf.pruning import prune_linear_layer as tf_prune_linear  # noqa: E402
from pretrained.tf.variables import LayerList, replacing_layers  # noqa: E402
from pretrained.torch import PreTrainedModel  # noqa: E402
from pretrained.torch.pruning import Conv1D, prune_linear_layer  # noqa: E402


class DecConfig(PretrainedConfig):
    model_type = "plain-keras-decoder"

    def __init__(self, vocab_size=13, hidden_size=8, num_hidden_layers=2, num_attention_heads=2, **kwargs):
        self.vocab_size, self.hidden_size = vocab_size, hidden_size
        self.num_hidden_layers, self.num_attention_heads = num_hidden_layers, num_attention_heads
        super().__init__(**kwargs)


# ------------------------------------------------------------------------------------------------ torch twin
class Attention(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.heads, self.size = config.num_attention_heads, config.hidden_size // config.num_attention_heads
        self.c_attn = Conv1D(config.hidden_size, config.hidden_size)  # (in, out), as GPT-2 stores it
        self.query = nn.Linear(config.hidden_size, self.heads * self.size)
        self.out = nn.Linear(self.heads * self.size, config.hidden_size)
        self.pruned: set[int] = set()

    def prune(self, heads):
        heads, index = pruneable_heads_and_indices(heads, self.heads, self.size, self.pruned)
        self.query = prune_linear_layer(self.query, torch.as_tensor(index))
        self.out = prune_linear_layer(self.out, torch.as_tensor(index), dim=1)
        self.heads -= len(heads)
        self.pruned |= heads

    def forward(self, x):
        return self.out(torch.tanh(self.query(self.c_attn(x))))


class Block(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.ln = nn.LayerNorm(config.hidden_size)
        self.attn = Attention(config)

    def forward(self, x):
        return x + self.attn(self.ln(x))


class Decoder(PreTrainedModel):
    config_class = DecConfig
    base_model_prefix = "transformer"

    def __init__(self, config):
        super().__init__(config)
        self.wte = nn.Embedding(config.vocab_size, config.hidden_size)
        self.h = nn.ModuleList([Block(config) for _ in range(config.num_hidden_layers)])
        self.post_init()

    def get_input_embeddings(self):
        return self.wte

    def set_input_embeddings(self, value):
        self.wte = value

    def _prune_heads(self, heads_to_prune):
        for layer, heads in heads_to_prune.items():
            self.h[layer].attn.prune(heads)

    def forward(self, input_ids):
        x = self.wte(input_ids)
        for block in self.h:
            x = block(x)
        return x


# ------------------------------------------------------------------------------------------------ plain Keras twin
class TFConv1DLike(keras.layers.Dense):
    """A Dense whose kernel (in, out) *is* the canonical weight: declared once, for every model using it."""

    canonical_layout = {"kernel": ("weight", "identity")}


class TFAttention(keras.layers.Layer):
    def __init__(self, config, **kwargs):
        super().__init__(**kwargs)
        self.heads, self.size = config.num_attention_heads, config.hidden_size // config.num_attention_heads
        self.c_attn = TFConv1DLike(config.hidden_size)
        self.query = keras.layers.Dense(self.heads * self.size)
        self.out = keras.layers.Dense(config.hidden_size)
        self.pruned: set[int] = set()

    def prune(self, heads):
        heads, index = pruneable_heads_and_indices(heads, self.heads, self.size, self.pruned)
        self.query = tf_prune_linear(self.query, index)  # plain assignment
        self.out = tf_prune_linear(self.out, index, dim=1)
        self.heads -= len(heads)
        self.pruned |= heads

    def call(self, x):
        return self.out(keras.ops.tanh(self.query(self.c_attn(x))))


class TFBlock(keras.layers.Layer):
    def __init__(self, config, **kwargs):
        super().__init__(**kwargs)
        self.ln = keras.layers.LayerNormalization(epsilon=1e-5)
        self.attn = TFAttention(config)

    def call(self, x):
        return x + self.attn(self.ln(x))


class TFDecoder(TFPreTrainedModel):
    config_class = DecConfig
    base_model_prefix = "transformer"

    def __init__(self, config, **kwargs):
        super().__init__(config, **kwargs)
        self.wte = keras.layers.Embedding(config.vocab_size, config.hidden_size)
        self.h = [TFBlock(config) for _ in range(config.num_hidden_layers)]
        self.post_init()

    def get_input_embeddings(self):
        return self.wte

    def set_input_embeddings(self, value):
        self.wte = value

    def _prune_heads(self, heads_to_prune):
        for layer, heads in heads_to_prune.items():
            self.h[layer].attn.prune(heads)

    def call(self, input_ids, training=False):
        x = self.wte(input_ids)
        for block in self.h:
            x = block(x)
        return x


IDS = np.array([[1, 2, 3, 4, 12]], np.int32)


def _torch_out(model):
    with torch.no_grad():
        return model(torch.as_tensor(IDS, dtype=torch.long)).numpy()


def test_attribute_names_lists_and_layer_layouts_load_a_torch_checkpoint(tmp_path):
    torch.manual_seed(0)
    reference = Decoder(DecConfig())
    reference.save_pretrained(tmp_path)
    model = TFDecoder.from_pretrained(tmp_path)
    entries = {v.key: v.transform for v in model.canonical_variables()}
    assert set(entries) == set(reference.state_dict())
    assert entries["h.0.attn.c_attn.weight"] == "identity" and entries["h.0.attn.query.weight"] == "kernel"
    np.testing.assert_allclose(model(IDS).numpy(), _torch_out(reference), atol=1e-5)


def test_set_input_embeddings_by_assignment_and_pruned_heads_round_trip(tmp_path):
    model = TFDecoder(DecConfig())
    model.build_model()
    model.resize_token_embeddings(17)
    model.prune_heads({-1: [0]})  # the last layer, normalised
    assert model.config.pruned_heads == {-1: [0]}  # as given (v4); the model prunes layer 1
    assert len(model.weights) == len(canonical_variables(model))  # the replaced layers are untracked
    model.save_pretrained(tmp_path)
    reference = Decoder.from_pretrained(tmp_path)
    assert reference.h[1].attn.query.weight.shape == (4, 8) and reference.wte.weight.shape == (17, 8)
    np.testing.assert_allclose(model(IDS).numpy(), _torch_out(reference), atol=1e-5)
    reloaded = TFDecoder.from_pretrained(tmp_path)  # post_init prunes after the symbolic build
    assert reloaded.h[1].attn.query.kernel.shape == (8, 4)
    np.testing.assert_allclose(reloaded(IDS).numpy(), model(IDS).numpy(), atol=1e-6)


def test_pruned_heads_from_config_apply_before_the_first_call():
    model = TFDecoder(DecConfig(pruned_heads={"-1": [1]}))
    assert tuple(model(IDS).shape) == (1, 5, 8)
    assert model.h[1].attn.out.kernel.shape == (4, 8)


class TFHead(TFPreTrainedModel):
    """A head model: the overrides of the plain layer below `transformer` are relative to that layer."""

    config_class = DecConfig

    def __init__(self, config, **kwargs):
        super().__init__(config, **kwargs)
        self.transformer = TFBody(config)
        self.lm_head = keras.layers.Dense(config.vocab_size, use_bias=False)

    def call(self, input_ids, training=False):
        return self.lm_head(self.transformer(input_ids))


class TFBody(keras.layers.Layer):
    _layout_overrides = [LayoutOverride(r"proj\.kernel", "proj.weight", "identity")]

    def __init__(self, config, **kwargs):
        super().__init__(**kwargs)
        self.wte = keras.layers.Embedding(config.vocab_size, config.hidden_size)
        self.proj = keras.layers.Dense(config.hidden_size)

    def call(self, input_ids):
        return self.proj(self.wte(input_ids))


def test_overrides_are_relative_to_the_layer_that_declares_them():
    model = TFHead(DecConfig())
    model.build_model()
    entries = {v.key: v.transform for v in model.canonical_variables()}
    assert entries == {"transformer.wte.weight": "identity", "transformer.proj.weight": "identity",
                       "transformer.proj.bias": "identity", "lm_head.weight": "kernel"}


def test_model_overrides_also_apply_below_base_model_prefix():
    class TFHeadWithModelOverride(TFHead):
        base_model_prefix = "transformer"
        _layout_overrides = [LayoutOverride(r"wte\.embeddings", "wte.renamed", "identity")]

    model = TFHeadWithModelOverride(DecConfig())
    model.build_model()
    assert "transformer.wte.renamed" in {v.key for v in model.canonical_variables()}


def test_explicit_names_containers_dicts_and_sequential():
    class Net(keras.layers.Layer):
        def __init__(self):
            super().__init__()
            self.fc = keras.layers.Dense(2, name="dense_out")  # an explicit name wins over the attribute
            self.stack = LayerList([keras.layers.Dense(2), keras.layers.Dense(2)])
            self.seq = keras.Sequential([keras.layers.Dense(2), keras.layers.ReLU(), keras.layers.Dense(2)])
            self.by_name = {"a": keras.layers.Dense(2)}

        def call(self, x):
            return self.fc(x) + self.stack(x) + self.seq(x) + self.by_name["a"](x)

    net = Net()
    net(keras.ops.ones((1, 2)))
    keys = sorted(v.key for v in canonical_variables(net))
    assert keys == ["by_name.a.bias", "by_name.a.weight", "dense_out.bias", "dense_out.weight", "seq.0.bias",
                    "seq.0.weight", "seq.2.bias", "seq.2.weight", "stack.0.bias", "stack.0.weight",
                    "stack.1.bias", "stack.1.weight"]


def test_replacing_layers_allows_plain_assignment_on_a_built_layer():
    class Net(keras.layers.Layer):
        def __init__(self):
            super().__init__()
            self.fc = keras.layers.Dense(2)

        def call(self, x):
            return self.fc(x)

    net = Net()
    net(keras.ops.ones((1, 3)))
    with pytest.raises(ValueError, match="already built"):
        net.fc = keras.layers.Dense(3)
    with replacing_layers(net):
        net.fc = keras.layers.Dense(3)
    net.fc.build((None, 3))
    assert [v.key for v in canonical_variables(net)] == ["fc.weight", "fc.bias"] and len(net.weights) == 2
