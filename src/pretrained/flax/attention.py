"""Attention kernels for Flax NNX models: `"eager"` (written out; returns the probabilities) and `"sdpa"`
(`jax.nn.dot_product_attention`). Which one a model uses is `config._attn_implementation`
([`pretrained.attention`][pretrained.attention]); `attention_forward` runs it, or the eager one when the call needs
the probabilities, a head mask, or dropout (the JAX kernel has none).

Arrays are `(batch, sequence, heads, head_dim)` in and out, as the query / key / value projections produce them.

Example:
    >>> import jax.numpy as jnp
    >>> from pretrained.flax.attention import attention_forward
    >>> q = k = v = jnp.ones((1, 3, 2, 4))
    >>> context, probs = attention_forward("sdpa", q, k, v)
    >>> context.shape, probs
    ((1, 3, 2, 4), None)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx

from ..attention import EAGER, SDPA, effective_implementation

AttentionFunction = Callable[..., tuple[jax.Array, jax.Array | None]]


def eager_attention(query: jax.Array, key: jax.Array, value: jax.Array, attention_mask: jax.Array | None = None, *,
                    head_mask: jax.Array | None = None, dropout: nnx.Dropout | None = None,
                    rngs: nnx.Rngs | None = None, scale: float | None = None) -> tuple[jax.Array, jax.Array]:
    """softmax(q k^T / sqrt(d) + mask), dropout, head mask, times v: `(context, probabilities)`.

    >>> x = jnp.ones((1, 2, 1, 4))
    >>> eager_attention(x, x, x)[1].tolist()
    [[[[0.5, 0.5], [0.5, 0.5]]]]
    """
    scores = jnp.einsum("bqhd,bkhd->bhqk", query, key)
    scores = scores / math.sqrt(query.shape[-1]) if scale is None else scores * scale
    if attention_mask is not None:
        scores = scores + attention_mask.astype(scores.dtype)
    probs = jax.nn.softmax(scores, axis=-1)
    if dropout is not None:
        probs = dropout(probs, rngs=rngs)
    if head_mask is not None:
        probs = probs * head_mask
    return jnp.einsum("bhqk,bkhd->bqhd", probs, value), probs


def sdpa_attention(query: jax.Array, key: jax.Array, value: jax.Array, attention_mask: jax.Array | None = None, *,
                   head_mask: jax.Array | None = None, dropout: nnx.Dropout | None = None,
                   rngs: nnx.Rngs | None = None, scale: float | None = None) -> tuple[jax.Array, None]:
    """The fused kernel (`jax.nn.dot_product_attention`); no probabilities, no dropout.

    >>> x = jnp.ones((1, 2, 1, 4))
    >>> sdpa_attention(x, x, x)[0].shape
    (1, 2, 1, 4)
    """
    if head_mask is not None:
        raise ValueError("sdpa_attention cannot apply a head_mask: use eager_attention")
    bias = None if attention_mask is None else attention_mask.astype(query.dtype)
    return jax.nn.dot_product_attention(query, key, value, bias=bias, scale=scale), None


ATTENTION_FUNCTIONS: dict[str, AttentionFunction] = {EAGER: eager_attention, SDPA: sdpa_attention}


def attention_forward(implementation: str, query: jax.Array, key: jax.Array, value: jax.Array,
                      attention_mask: jax.Array | None = None, *, head_mask: jax.Array | None = None,
                      dropout: nnx.Dropout | None = None, rngs: nnx.Rngs | None = None,
                      output_attentions: bool = False, scale: float | None = None, caller: str = "attention"
                      ) -> tuple[Any, Any]:
    """Run `implementation` (falling back to eager when the call needs probabilities, a head mask, or dropout):
    `(context (batch, seq, heads, head_dim), probabilities or None)`.

    >>> x = jnp.ones((1, 2, 1, 4))
    >>> attention_forward("sdpa", x, x, x, output_attentions=True)[1].shape
    (1, 1, 2, 2)
    """
    dropping = bool(dropout is not None and not dropout.deterministic and dropout.rate > 0)
    implementation = effective_implementation(implementation, output_attentions=output_attentions,
                                              head_mask=head_mask is not None, dropout=dropping, caller=caller)
    return ATTENTION_FUNCTIONS[implementation](query, key, value, attention_mask, head_mask=head_mask,
                                               dropout=dropout, rngs=rngs, scale=scale)
