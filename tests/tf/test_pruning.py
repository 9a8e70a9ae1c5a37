"""Dense-layer pruning for Keras (`pretrained.tf.pruning`) and layer replacement in the variable walk."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

keras = pytest.importorskip("keras")

from pretrained.tf.pruning import find_pruneable_heads_and_indices, prune_layer_attribute, prune_linear_layer  # noqa: E402
from pretrained.tf.variables import ContainerLayer, canonical_variables  # noqa: E402


def dense(units=6, inputs=4, name="query"):
    layer = keras.layers.Dense(units, activation="tanh", name=name)
    layer.build((None, inputs))
    rng = np.random.default_rng(0)
    layer.kernel.assign(rng.normal(size=(inputs, units)).astype(np.float32))
    layer.bias.assign(rng.normal(size=(units,)).astype(np.float32))
    return layer


def test_prune_output_features():
    layer = dense()
    index = np.array([0, 2, 5])
    pruned = prune_linear_layer(layer, index, dim=0)
    assert pruned.name == "query" and pruned.units == 3 and pruned.activation is layer.activation
    np.testing.assert_array_equal(pruned.kernel.numpy(), layer.kernel.numpy()[:, index])
    np.testing.assert_array_equal(pruned.bias.numpy(), layer.bias.numpy()[index])
    x = np.random.default_rng(1).normal(size=(2, 4)).astype(np.float32)
    np.testing.assert_allclose(pruned(x).numpy(), layer(x).numpy()[:, index], atol=1e-6)


def test_prune_input_features_keeps_bias():
    layer = dense()
    pruned = prune_linear_layer(layer, np.array([1, 3]), dim=1)
    assert pruned.kernel.shape == (2, 6)
    np.testing.assert_array_equal(pruned.bias.numpy(), layer.bias.numpy())
    with pytest.raises(ValueError, match="dim"):
        prune_linear_layer(layer, np.array([0]), dim=2)


def test_replaced_layer_keeps_its_key():
    class Block(ContainerLayer):
        def __init__(self):
            super().__init__(name="block")
            self.query = dense(name="query")
            self.other = dense(name="other")

    block = Block()
    heads, index = find_pruneable_heads_and_indices([1], n_heads=3, head_size=2, already_pruned_heads=set())
    assert heads == {1} and index.tolist() == [0, 1, 4, 5]
    prune_layer_attribute(block, "query", index)
    entries = {v.key: v.canonical_shape for v in canonical_variables(block)}
    assert entries == {"query.weight": (4, 4), "query.bias": (4,), "other.weight": (6, 4), "other.bias": (6,)}
