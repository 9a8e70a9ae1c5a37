"""`resize_token_embeddings` for Keras models: the rules of [`pretrained.resizing`][pretrained.resizing] applied to
`keras.layers.Embedding` layers and output-bias variables.

Example:
    >>> import keras, numpy as np
    >>> from pretrained.tf.embeddings import resized_embedding
    >>> old = keras.layers.Embedding(10, 4, name="word_embeddings")
    >>> old.build()
    >>> new = resized_embedding(old, 12, mean_resizing=False, initializer_range=0.02)
    >>> new.name, new.embeddings.shape, bool(np.all(new.embeddings.numpy()[:10] == old.embeddings.numpy()))
    ('word_embeddings', TensorShape([12, 4]), True)
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np

from ..resizing import new_vocab_size, resized_bias, resized_rows
from .variables import build_with_values


def resized_embedding(
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


def resize_token_embeddings(
    model: Any, new_num_tokens: int | None, *, pad_to_multiple_of: int | None, mean_resizing: bool
) -> keras.layers.Embedding:
    """Resize `model`'s input embeddings, its untied output embeddings and its output bias (`get_bias()`), and set
    `config.vocab_size`. Returns the (new) input embedding layer."""
    model._ensure_built()
    old = model.get_input_embeddings()
    if new_num_tokens is None and pad_to_multiple_of is None:
        return old
    size = new_vocab_size(old.input_dim, new_num_tokens, pad_to_multiple_of=pad_to_multiple_of)
    rng = np.random.default_rng()
    init_range = float(getattr(model.config, "initializer_range", 0.02))
    output = model.get_output_embeddings()
    new = resized_embedding(old, size, mean_resizing=mean_resizing, initializer_range=init_range, rng=rng)
    model.set_input_embeddings(new)
    if output is not None and output is not old and isinstance(output, keras.layers.Embedding):
        model.set_output_embeddings(
            resized_embedding(output, size, mean_resizing=mean_resizing, initializer_range=init_range, rng=rng)
        )
    bias = model.get_bias()
    if bias:
        model.set_bias(
            {name: resized_bias(var.numpy(), size, mean_resizing=mean_resizing, rng=rng) for name, var in bias.items()}
        )
    model.config.get_text_config().vocab_size = size
    model.tie_weights()
    return model.get_input_embeddings()
