"""Pruning NNX linear layers and BERT heads (rules from pretrained.heads)."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from pretrained.flax.pruning import prune_linear_layer
from pretrained.models.bert import BertConfig, FlaxBertModel


def test_prune_outputs_and_inputs() -> None:
    layer = nnx.Linear(4, 6, rngs=nnx.Rngs(0))
    kernel, bias = np.asarray(layer.kernel.get_value()), np.asarray(layer.bias.get_value())
    prune_linear_layer(layer, np.array([0, 5]), dim=0)
    np.testing.assert_array_equal(np.asarray(layer.kernel.get_value()), kernel[:, [0, 5]])
    np.testing.assert_array_equal(np.asarray(layer.bias.get_value()), bias[[0, 5]])
    prune_linear_layer(layer, np.array([1, 2]), dim=1)
    assert (layer.in_features, layer.out_features) == (2, 2)
    assert layer(jnp.ones((1, 2))).shape == (1, 2)
    with pytest.raises(ValueError):
        prune_linear_layer(layer, np.array([0]), dim=2)


def test_bert_prune_heads_accumulates_and_equals_masking() -> None:
    config = BertConfig(vocab_size=20, hidden_size=16, num_hidden_layers=2, num_attention_heads=4,
                        intermediate_size=16)
    model = FlaxBertModel(config).eval()
    ids = jnp.array([[1, 2, 3, 4]])
    head_mask = jnp.ones((2, 4)).at[0, 1].set(0.0).at[0, 3].set(0.0)
    masked = model(ids, head_mask=head_mask).last_hidden_state
    model.prune_heads({0: [1]})
    model.prune_heads({0: [1, 3]})  # head 1 already gone: skipped
    attention = model.encoder.layer[0].attention
    assert attention.self.num_attention_heads == 2 and attention.pruned_heads == {1, 3}
    assert model.config.pruned_heads == {0: [1, 3]}
    np.testing.assert_allclose(np.asarray(model(ids).last_hidden_state), np.asarray(masked), atol=1e-5)
    with pytest.raises(ValueError, match="cannot prune all"):
        model.prune_heads({1: [0, 1, 2, 3]})
