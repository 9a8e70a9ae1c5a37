"""`resize_token_embeddings` for Keras models: the rules of [`pretrained.resizing`][pretrained.resizing] applied to
`keras.layers.Embedding` layers and output-bias variables.

Example:
    >>> import keras, numpy as np
    >>> from pretrained.tf.embeddings import resize_embedding
    >>> old = keras.layers.Embedding(10, 4, name="word_embeddings")
    >>> old.build()
    >>> new = resize_embedding(old, 12, mean_resizing=False, initializer_range=0.02)
    >>> new.name, new.embeddings.shape, bool(np.all(new.embeddings.numpy()[:10] == old.embeddings.numpy()))
    ('word_embeddings', TensorShape([12, 4]), True)
"""

from __future__ import annotations

import keras
import numpy as np

from ..resizing import resized_bias, resized_rows
from .loading import build_with_values


def resize_embedding(
    old: keras.layers.Embedding,
    new_num_tokens: int,
    *,
    mean_resizing: bool,
    initializer_range: float = 0.02,
    rng: np.random.Generator | None = None,
) -> keras.layers.Embedding:
    """A new `Embedding` (same name, dtype policy, initializer) with `new_num_tokens` rows: the old rows kept,
    new rows sampled around the old mean (`mean_resizing=True`) or drawn from a normal of `initializer_range`."""
    matrix = old.embeddings.numpy()
    init = None
    if not mean_resizing:
        init = np.random.default_rng().normal(0.0, initializer_range, (new_num_tokens, matrix.shape[1]))
    rows = resized_rows(matrix, new_num_tokens, mean_resizing=mean_resizing, rng=rng, init=init)
    new = keras.layers.Embedding(
        new_num_tokens,
        matrix.shape[1],
        embeddings_initializer=old.embeddings_initializer,
        name=old.name,
        dtype=old.dtype_policy,
    )
    build_with_values(new, None, {"embeddings": rows})
    return new


def resize_output_embedding(
    old: keras.layers.Layer,
    new_num_tokens: int,
    *,
    mean_resizing: bool,
    initializer_range: float = 0.02,
    rng: np.random.Generator | None = None,
) -> keras.layers.Layer:
    """An untied output projection resized to `new_num_tokens` outputs: an `Embedding` (used through its matrix) is
    resized like an input embedding; a `Dense` keeps its old output columns (and bias entries) and gets new ones by
    the same rules.

    Example:
        >>> import keras
        >>> from pretrained.tf.embeddings import resize_output_embedding
        >>> head = keras.layers.Dense(10, name="decoder")
        >>> head.build((None, 4))
        >>> resize_output_embedding(head, 12, mean_resizing=True).kernel.shape
        TensorShape([4, 12])
    """
    if isinstance(old, keras.layers.Embedding):
        return resize_embedding(old, new_num_tokens, mean_resizing=mean_resizing,
                                 initializer_range=initializer_range, rng=rng)
    if not isinstance(old, keras.layers.Dense):
        raise TypeError(f"cannot resize an output embedding of type {type(old).__name__} (expected Embedding or Dense)")
    rng = rng or np.random.default_rng()
    rows = old.kernel.numpy().T  # (out, in), like an embedding table
    init = None
    if not mean_resizing:
        init = rng.normal(0.0, initializer_range, (new_num_tokens, rows.shape[1]))
    values = {"kernel": np.ascontiguousarray(resized_rows(rows, new_num_tokens, mean_resizing=mean_resizing, rng=rng,
                                                          init=init).T)}
    if old.use_bias:
        values["bias"] = resized_bias(old.bias.numpy(), new_num_tokens, mean_resizing=mean_resizing, rng=rng)
    new = keras.layers.Dense(new_num_tokens, use_bias=old.use_bias, kernel_initializer=old.kernel_initializer,
                             name=old.name, dtype=old.dtype_policy)
    build_with_values(new, (None, rows.shape[1]), values)
    return new


# the names of earlier versions
resized_embedding = resize_embedding
resized_output = resize_output_embedding
