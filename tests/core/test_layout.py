"""The leaf-rule table: backend paths <-> canonical keys, layout transforms and their inverses."""

from __future__ import annotations

import numpy as np
import pytest

from pretrained.layout import (
    LayoutOverride,
    canonical_shape,
    from_canonical,
    num_batches_tracked_key,
    path_to_key,
    to_canonical,
)


@pytest.mark.parametrize(
    ("backend", "path", "key", "transform"),
    [
        ("tf", ("layer1", "0", "conv1", "kernel"), "layer1.0.conv1.weight", "kernel"),
        ("tf", ("LayerNorm", "gamma"), "LayerNorm.weight", "identity"),
        ("tf", ("bn1", "beta"), "bn1.bias", "identity"),
        ("tf", ("bn1", "moving_mean"), "bn1.running_mean", "identity"),
        ("tf", ("bn1", "moving_variance"), "bn1.running_var", "identity"),
        ("tf", ("word_embeddings", "embeddings"), "word_embeddings.weight", "identity"),
        ("tf", ("dw", "depthwise_kernel"), "dw.weight", "depthwise"),
        ("flax", ("layer1", 0, "bn1", "scale"), "layer1.0.bn1.weight", "identity"),
        ("flax", ("bn1", "mean"), "bn1.running_mean", "identity"),
        ("flax", ("bn1", "var"), "bn1.running_var", "identity"),
        ("flax", ("emb", "embedding"), "emb.weight", "identity"),
        ("flax", ("custom", "layer_scale"), "custom.layer_scale", "identity"),
    ],
)
def test_leaf_rules(backend, path, key, transform):
    assert path_to_key(path, backend=backend) == (key, transform)


def test_gamma_is_renamed_only_as_a_whole_leaf():
    assert path_to_key(("block", "gamma_scale"), backend="tf") == ("block.gamma_scale", "identity")


def test_override_wins_over_rules():
    override = LayoutOverride(r"h\.(\d+)\.c_attn\.kernel", r"h.\1.c_attn.weight", "identity")
    assert path_to_key(("h", 3, "c_attn", "kernel"), backend="flax", overrides=[override]) == ("h.3.c_attn.weight", "identity")


@pytest.mark.parametrize(
    ("shape", "canonical"),
    [((3, 5), (5, 3)), ((3, 16, 8), (8, 16, 3)), ((3, 3, 4, 8), (8, 4, 3, 3)), ((2, 3, 3, 4, 8), (8, 4, 2, 3, 3))],
)
def test_kernel_transforms_round_trip(shape, canonical):
    array = np.random.default_rng(0).normal(size=shape).astype(np.float32)
    out = to_canonical(array, "kernel")
    assert out.shape == canonical == canonical_shape(shape, "kernel")
    np.testing.assert_array_equal(from_canonical(out, "kernel"), array)


def test_conv_kernel_matches_torch_layout():
    torch = pytest.importorskip("torch")
    conv = torch.nn.Conv2d(4, 6, 3, bias=False)
    weight = conv.weight.detach().numpy()
    hwio = from_canonical(weight, "kernel")
    assert hwio.shape == (3, 3, 4, 6)
    np.testing.assert_array_equal(hwio[1, 2, 3, 5], weight[5, 3, 1, 2])


def test_depthwise_round_trip():
    array = np.random.default_rng(0).normal(size=(3, 3, 4, 2)).astype(np.float32)
    out = to_canonical(array, "depthwise")
    assert out.shape == (8, 1, 3, 3) == canonical_shape(array.shape, "depthwise")
    np.testing.assert_array_equal(from_canonical(out, "depthwise", shape=array.shape), array)


def test_num_batches_tracked_key():
    assert num_batches_tracked_key("layer1.0.bn1.running_mean") == "layer1.0.bn1.num_batches_tracked"
    assert num_batches_tracked_key("layer1.0.bn1.weight") is None
