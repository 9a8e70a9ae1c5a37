"""Embedding resizing for Keras layers (`pretrained.tf.embeddings`)."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

keras = pytest.importorskip("keras")

from pretrained.tf.embeddings import resize_embedding  # noqa: E402


@pytest.fixture
def old():
    layer = keras.layers.Embedding(10, 4, name="word_embeddings", dtype="float32")
    layer.build()
    layer.embeddings.assign(np.random.default_rng(0).normal(size=(10, 4)).astype(np.float32))
    return layer


def test_grow_keeps_rows_and_name(old):
    new = resize_embedding(old, 13, mean_resizing=False, initializer_range=0.02)
    values = new.embeddings.numpy()
    assert new.name == "word_embeddings" and new.input_dim == 13 and values.shape == (13, 4)
    np.testing.assert_array_equal(values[:10], old.embeddings.numpy())
    assert 0 < np.abs(values[10:]).max() < 0.2  # from the model's initializer range


def test_mean_resizing_and_shrink(old):
    grown = resize_embedding(old, 12, mean_resizing=True, rng=np.random.default_rng(1)).embeddings.numpy()
    np.testing.assert_allclose(grown[10:], np.broadcast_to(old.embeddings.numpy().mean(0), (2, 4)), atol=1e-3)
    shrunk = resize_embedding(old, 6, mean_resizing=True).embeddings.numpy()
    np.testing.assert_array_equal(shrunk, old.embeddings.numpy()[:6])


def test_dtype_policy_is_kept():
    half = keras.layers.Embedding(5, 2, dtype="float16", name="e")
    half.build()
    assert resize_embedding(half, 7, mean_resizing=False).embeddings.dtype == "float16"
