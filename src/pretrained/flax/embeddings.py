"""Resizing NNX token embeddings and output heads in place (the rules live in
[`pretrained.resizing`][pretrained.resizing], shared with the other backends).

Example:
    >>> from flax import nnx
    >>> from pretrained.flax.embeddings import resize_embedding
    >>> embed = nnx.Embed(10, 4, rngs=nnx.Rngs(0))
    >>> resize_embedding(embed, 12).embedding.shape
    (12, 4)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from ..resizing import new_vocab_size, resized_bias, resized_rows

__all__ = ["new_vocab_size", "resize_bias", "resize_embedding", "resize_linear_outputs", "resize_output_embedding"]

Initializer = Callable[[jax.Array, tuple[int, ...], Any], jax.Array]


def _default_init() -> Initializer:
    return nnx.initializers.normal(stddev=0.02)


def _init_rows(initializer: Initializer | None, shape: tuple[int, ...], dtype: Any, seed: int | None) -> np.ndarray:
    key = jax.random.key(np.random.default_rng(seed).integers(2**31) if seed is None else seed)
    return np.asarray((initializer or _default_init())(key, shape, dtype))


def resize_embedding(
    embed: nnx.Embed,
    new_num_tokens: int,
    *,
    mean_resizing: bool = True,
    initializer: Initializer | None = None,
    seed: int | None = None,
) -> nnx.Embed:
    """Resize `embed` to `new_num_tokens` rows in place (the same module object), keeping the old rows.

    New rows follow `mean_resizing` (transformers v4.46+: sampled around the old rows' mean) or come from
    `initializer` (default: normal with stddev 0.02).

    Example:
        >>> from flax import nnx
        >>> from pretrained.flax.embeddings import resize_embedding
        >>> embed = nnx.Embed(10, 4, rngs=nnx.Rngs(0))
        >>> resize_embedding(embed, 8).num_embeddings
        8
    """
    old = np.asarray(embed.embedding.get_value())
    if new_num_tokens == old.shape[0]:
        return embed
    init = None
    if not mean_resizing:
        init = _init_rows(initializer, (new_num_tokens, old.shape[1]), old.dtype, seed)
    rng = np.random.default_rng(seed)
    rows = resized_rows(old, new_num_tokens, mean_resizing=mean_resizing, rng=rng, init=init)
    embed.embedding.set_value(jnp.asarray(rows))
    embed.num_embeddings = new_num_tokens
    return embed


def resize_linear_outputs(
    linear: nnx.Linear,
    new_num_tokens: int,
    *,
    mean_resizing: bool = True,
    initializer: Initializer | None = None,
    seed: int | None = None,
) -> nnx.Linear:
    """Resize the output features of an (untied) LM head in place; the kernel is `(in, out)`, so its columns are
    treated as embedding rows, and the bias follows.

    Example:
        >>> from flax import nnx
        >>> from pretrained.flax.embeddings import resize_linear_outputs
        >>> head = nnx.Linear(4, 10, rngs=nnx.Rngs(0))
        >>> resize_linear_outputs(head, 12).kernel.shape
        (4, 12)
    """
    old = np.asarray(linear.kernel.get_value()).T  # (out, in), like an embedding table
    if new_num_tokens == old.shape[0]:
        return linear
    init = None
    if not mean_resizing:
        init = _init_rows(initializer, (new_num_tokens, old.shape[1]), old.dtype, seed)
    rows = resized_rows(old, new_num_tokens, mean_resizing=mean_resizing, rng=np.random.default_rng(seed), init=init)
    linear.kernel.set_value(jnp.asarray(np.ascontiguousarray(rows.T)))
    if getattr(linear, "bias", None) is not None:
        resize_bias(linear.bias, new_num_tokens, mean_resizing=mean_resizing, seed=seed)
    linear.out_features = new_num_tokens
    return linear


def resize_output_embedding(
    layer: nnx.Embed | nnx.Linear,
    new_num_tokens: int,
    *,
    mean_resizing: bool = True,
    initializer: Initializer | None = None,
    seed: int | None = None,
) -> nnx.Embed | nnx.Linear:
    """Resize an untied output projection in place: an `nnx.Embed` like an input embedding, an `nnx.Linear`
    through its output features ([`resize_linear_outputs`][pretrained.flax.embeddings.resize_linear_outputs]).

    Example:
        >>> from flax import nnx
        >>> from pretrained.flax.embeddings import resize_output_embedding
        >>> resize_output_embedding(nnx.Linear(4, 10, rngs=nnx.Rngs(0)), 12).kernel.shape
        (4, 12)
    """
    if isinstance(layer, nnx.Embed):
        return resize_embedding(layer, new_num_tokens, mean_resizing=mean_resizing, initializer=initializer, seed=seed)
    return resize_linear_outputs(layer, new_num_tokens, mean_resizing=mean_resizing, initializer=initializer,
                                 seed=seed)


def resize_bias(bias: nnx.Variable, new_size: int, *, mean_resizing: bool = True, seed: int | None = None) -> nnx.Variable:
    """Resize a 1-D output bias in place: kept entries, new ones ~ N(mean, 1e-9 * std) or zero.

    Example:
        >>> import jax.numpy as jnp
        >>> from flax import nnx
        >>> from pretrained.flax.embeddings import resize_bias
        >>> resize_bias(nnx.Param(jnp.ones(3)), 5, mean_resizing=False).get_value().tolist()
        [1.0, 1.0, 1.0, 0.0, 0.0]
    """
    old = np.asarray(bias.get_value())
    if old.shape[0] != new_size:
        bias.set_value(jnp.asarray(resized_bias(old, new_size, mean_resizing=mean_resizing,
                                                rng=np.random.default_rng(seed))))
    return bias
