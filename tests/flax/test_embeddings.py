"""Resizing NNX embeddings and heads in place (rules from pretrained.resizing)."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from pretrained.flax.embeddings import resize_bias, resize_embedding, resize_linear_outputs


def test_grow_keeps_rows_and_mean_resizing_stays_near_the_mean() -> None:
    embed = nnx.Embed(10, 4, rngs=nnx.Rngs(0))
    old = np.asarray(embed.embedding.get_value())
    same = resize_embedding(embed, 14, seed=0)
    new = np.asarray(embed.embedding.get_value())
    assert same is embed and embed.num_embeddings == 14 and new.shape == (14, 4)
    np.testing.assert_array_equal(new[:10], old)
    np.testing.assert_allclose(new[10:], np.tile(old.mean(0), (4, 1)), atol=1e-3)


def test_shrink_and_initialiser_rows() -> None:
    embed = nnx.Embed(10, 4, rngs=nnx.Rngs(0))
    old = np.asarray(embed.embedding.get_value())
    resize_embedding(embed, 6)
    np.testing.assert_array_equal(np.asarray(embed.embedding.get_value()), old[:6])
    resize_embedding(embed, 8, mean_resizing=False, initializer=nnx.initializers.constant(7.0))
    assert np.all(np.asarray(embed.embedding.get_value())[6:] == 7.0)


def test_linear_head_and_bias() -> None:
    head = nnx.Linear(4, 10, rngs=nnx.Rngs(0))
    head.bias.set_value(jnp.arange(10.0))
    old = np.asarray(head.kernel.get_value())
    resize_linear_outputs(head, 12, mean_resizing=False)
    assert head.out_features == 12 and head.kernel.shape == (4, 12)
    np.testing.assert_array_equal(np.asarray(head.kernel.get_value())[:, :10], old)
    np.testing.assert_array_equal(np.asarray(head.bias.get_value()), [*range(10), 0, 0])
    bias = resize_bias(nnx.Param(jnp.ones(3)), 2)
    assert bias.get_value().tolist() == [1.0, 1.0]


def test_model_level_resize_rules() -> None:
    from pretrained.models.bert import BertConfig, FlaxBertForMaskedLM

    model = FlaxBertForMaskedLM(BertConfig(vocab_size=20, hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
                                           intermediate_size=16))
    assert model.resize_token_embeddings() is model.get_input_embeddings()  # no-op
    model.resize_token_embeddings(21, pad_to_multiple_of=8)
    assert model.config.vocab_size == 24 and model.cls.predictions.bias.shape == (24,)
    assert model.get_output_embeddings() is model.get_input_embeddings()  # tied by construction
    with pytest.raises(ValueError, match="positive"):
        model.resize_token_embeddings(0)
