"""Plain NNX authoring: sub-modules take `rngs` / `dtype` / `param_dtype` from `layer_defaults()` (no factory, no
arguments threaded through), layer types declare their layout once, overrides are relative to the module that
declares them — checked against the PyTorch twin of tests/tf/test_plain_keras.py through the canonical checkpoint."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
jnp = pytest.importorskip("jax.numpy")
nnx = pytest.importorskip("flax.nnx")

from pretrained.flax import FlaxPreTrainedModel, layer_defaults  # noqa: E402
from pretrained.flax.pruning import prune_linear_layer  # noqa: E402
from pretrained.heads import pruneable_heads_and_indices  # noqa: E402
from pretrained.layout import LayoutOverride  # noqa: E402


def _twins():
    """The torch twin and config of tests/tf/test_plain_keras.py (one definition for the three backends)."""
    path = Path(__file__).parents[1] / "tf" / "test_plain_keras.py"
    spec = importlib.util.spec_from_file_location("_plain_twins", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


twins = _twins()
DecConfig, Decoder = twins.DecConfig, twins.Decoder


class FlaxConv1DLike(nnx.Linear):
    canonical_layout = {"kernel": ("weight", "identity")}  # kernel (in, out) is the canonical weight as stored


class FlaxAttention(nnx.Module):
    def __init__(self, config):
        self.heads, self.size = config.num_attention_heads, config.hidden_size // config.num_attention_heads
        self.c_attn = FlaxConv1DLike(config.hidden_size, config.hidden_size, **layer_defaults())
        self.query = nnx.Linear(config.hidden_size, self.heads * self.size, **layer_defaults())
        self.out = nnx.Linear(self.heads * self.size, config.hidden_size, **layer_defaults())
        self.pruned: tuple[int, ...] = ()  # static (hashable) module state

    def prune(self, heads):
        heads, index = pruneable_heads_and_indices(heads, self.heads, self.size, set(self.pruned))
        self.query = prune_linear_layer(self.query, index)
        self.out = prune_linear_layer(self.out, index, dim=1)
        self.heads -= len(heads)
        self.pruned = tuple(sorted(set(self.pruned) | heads))

    def __call__(self, x):
        return self.out(jnp.tanh(self.query(self.c_attn(x))))


class FlaxBlock(nnx.Module):
    def __init__(self, config):
        self.ln = nnx.LayerNorm(config.hidden_size, epsilon=1e-5, **layer_defaults())
        self.attn = FlaxAttention(config)

    def __call__(self, x):
        return x + self.attn(self.ln(x))


class FlaxDecoder(FlaxPreTrainedModel):
    config_class = DecConfig
    base_model_prefix = "transformer"

    def __init__(self, config, **kwargs):
        super().__init__(config, **kwargs)
        self.wte = nnx.Embed(config.vocab_size, config.hidden_size, **layer_defaults())
        self.h = nnx.List([FlaxBlock(config) for _ in range(config.num_hidden_layers)])
        self.post_init()

    def get_input_embeddings(self):
        return self.wte

    def set_input_embeddings(self, value):
        self.wte = value

    def _prune_heads(self, heads_to_prune):
        for layer, heads in heads_to_prune.items():
            self.h[layer].attn.prune(heads)

    def __call__(self, input_ids):
        x = self.wte(input_ids)
        for block in self.h:
            x = block(x)
        return x


def test_layer_defaults_and_layer_layouts_load_a_torch_checkpoint(tmp_path):
    import torch

    torch.manual_seed(0)
    reference = Decoder(DecConfig())
    reference.save_pretrained(tmp_path)
    model = FlaxDecoder.from_pretrained(tmp_path)
    entries = {v.key: v.transform for v in model.canonical_variables()}
    assert set(entries) == set(reference.state_dict())
    assert entries["h.0.attn.c_attn.weight"] == "identity" and entries["h.0.attn.query.weight"] == "kernel"
    np.testing.assert_allclose(np.asarray(model(twins.IDS)), twins._torch_out(reference), atol=1e-5)


def test_pruned_and_resized_round_trip_with_torch(tmp_path):
    model = FlaxDecoder(DecConfig(), param_dtype="float32")
    model.resize_token_embeddings(17)
    model.prune_heads({-1: [0]})
    model.save_pretrained(tmp_path)
    reference = Decoder.from_pretrained(tmp_path)
    assert reference.h[1].attn.query.weight.shape == (4, 8) and reference.wte.weight.shape == (17, 8)
    np.testing.assert_allclose(np.asarray(model(twins.IDS)), twins._torch_out(reference), atol=1e-5)
    assert FlaxDecoder.from_pretrained(tmp_path).h[1].attn.query.kernel.shape == (8, 4)


def test_layer_defaults_carry_dtypes_and_only_hold_during_init():
    model = FlaxDecoder(DecConfig(), dtype="bfloat16", param_dtype="bfloat16")
    assert model.h[0].attn.query.kernel.dtype == jnp.bfloat16 and model.h[0].attn.query.dtype == jnp.bfloat16
    with pytest.raises(RuntimeError, match="only available while a FlaxPreTrainedModel's __init__ runs"):
        FlaxBlock(DecConfig())


def test_overrides_are_relative_to_the_module_that_declares_them():
    class Body(nnx.Module):
        _layout_overrides = [LayoutOverride(r"proj\.kernel", "proj.weight", "identity")]

        def __init__(self, config):
            self.proj = nnx.Linear(config.hidden_size, config.hidden_size, **layer_defaults())

    class FlaxHead(FlaxPreTrainedModel):
        config_class = DecConfig

        def __init__(self, config, **kwargs):
            super().__init__(config, **kwargs)
            self.transformer = Body(config)
            self.post_init()

    entries = {v.key: v.transform for v in FlaxHead(DecConfig()).canonical_variables()}
    assert entries == {"transformer.proj.weight": "identity", "transformer.proj.bias": "identity"}
