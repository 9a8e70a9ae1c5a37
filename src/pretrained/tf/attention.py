"""Attention kernels for TensorFlow (Keras 3) models: `"eager"` (written out; returns the probabilities) and
`"sdpa"` (`keras.ops.dot_product_attention`). Which one a model uses is `config._attn_implementation`
([`pretrained.attention`][pretrained.attention]); `attention_forward` runs it, or the eager one when the call needs
the probabilities, a head mask, or dropout (the Keras kernel has none).

Tensors are `(batch, sequence, heads, head_dim)` in and out, as the query / key / value projections produce them.

Example:
    >>> import numpy as np
    >>> from pretrained.tf.attention import attention_forward
    >>> q = k = v = np.ones((1, 3, 2, 4), np.float32)
    >>> context, probs = attention_forward("sdpa", q, k, v)
    >>> tuple(context.shape), probs
    ((1, 3, 2, 4), None)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import keras
from keras import ops

from ..attention import EAGER, SDPA, effective_implementation

AttentionFunction = Callable[..., tuple[Any, Any]]


def eager_attention(query: Any, key: Any, value: Any, attention_mask: Any = None, *, head_mask: Any = None,
                    dropout: keras.layers.Layer | None = None, training: bool = False, scale: float | None = None
                    ) -> tuple[Any, Any]:
    """softmax(q k^T / sqrt(d) + mask), dropout, head mask, times v: `(context, probabilities)`.

    >>> import numpy as np
    >>> x = np.ones((1, 2, 1, 4), np.float32)
    >>> eager_attention(x, x, x)[1].numpy().tolist()
    [[[[0.5, 0.5], [0.5, 0.5]]]]
    """
    query, key, value = (ops.transpose(t, (0, 2, 1, 3)) for t in (query, key, value))
    scores = ops.matmul(query, ops.transpose(key, (0, 1, 3, 2)))
    scores = scores / math.sqrt(query.shape[-1]) if scale is None else scores * scale
    if attention_mask is not None:
        scores = scores + ops.cast(attention_mask, scores.dtype)
    probs = ops.softmax(scores, axis=-1)
    if dropout is not None:
        probs = dropout(probs, training=training)
    if head_mask is not None:
        probs = probs * ops.cast(head_mask, probs.dtype)
    return ops.transpose(ops.matmul(probs, value), (0, 2, 1, 3)), probs


def sdpa_attention(query: Any, key: Any, value: Any, attention_mask: Any = None, *, head_mask: Any = None,
                   dropout: keras.layers.Layer | None = None, training: bool = False, scale: float | None = None
                   ) -> tuple[Any, None]:
    """The fused kernel (`keras.ops.dot_product_attention`); no probabilities, no dropout.

    >>> import numpy as np
    >>> x = np.ones((1, 2, 1, 4), np.float32)
    >>> tuple(sdpa_attention(x, x, x)[0].shape)
    (1, 2, 1, 4)
    """
    if head_mask is not None:
        raise ValueError("sdpa_attention cannot apply a head_mask: use eager_attention")
    query = ops.convert_to_tensor(query)
    bias = None if attention_mask is None else ops.cast(attention_mask, query.dtype)
    return ops.dot_product_attention(query, key, value, bias=bias, scale=scale), None


ATTENTION_FUNCTIONS: dict[str, AttentionFunction] = {EAGER: eager_attention, SDPA: sdpa_attention}


def attention_forward(implementation: str, query: Any, key: Any, value: Any, attention_mask: Any = None, *,
                      head_mask: Any = None, dropout: keras.layers.Layer | None = None, training: bool = False,
                      output_attentions: bool = False, scale: float | None = None, caller: str = "attention"
                      ) -> tuple[Any, Any]:
    """Run `implementation` (falling back to eager when the call needs probabilities, a head mask, or dropout):
    `(context (batch, seq, heads, head_dim), probabilities or None)`.

    >>> import numpy as np
    >>> x = np.ones((1, 2, 1, 4), np.float32)
    >>> tuple(attention_forward("sdpa", x, x, x, output_attentions=True)[1].shape)
    (1, 1, 2, 2)
    """
    dropping = bool(training and dropout is not None and dropout.rate > 0)
    implementation = effective_implementation(implementation, output_attentions=output_attentions,
                                              head_mask=head_mask is not None, dropout=dropping, caller=caller)
    return ATTENTION_FUNCTIONS[implementation](query, key, value, attention_mask, head_mask=head_mask,
                                               dropout=dropout, training=training, scale=scale)
