"""`TFModuleUtilsMixin`: the helpers a TensorFlow model and its layers share (the TF twin of `ModuleUtilsMixin`).

Example:
    >>> import numpy as np
    >>> from pretrained.tf import TFModuleUtilsMixin
    >>> mask = TFModuleUtilsMixin().get_extended_attention_mask(np.array([[1, 1, 0]]), (1, 3))
    >>> mask.shape, float(mask[0, 0, 0, 2]) < -1e30
    (TensorShape([1, 1, 1, 3]), True)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from ..layout import RUNNING_MEAN
from ..modeling_base import chunk_count, padding_warning

_BUFFER_LEAVES = (RUNNING_MEAN, "running_var")  # canonical leaves that are torch buffers, not parameters


class TFModuleUtilsMixin:
    """Parameter counting and the attention / head mask helpers, for `TFPreTrainedModel` and for Keras layers."""

    def num_parameters(self, only_trainable: bool = False, exclude_embeddings: bool = False) -> int:
        """Number of parameters, counted as PyTorch counts them (BatchNorm statistics are buffers, not parameters).

        Args:
            only_trainable: count only trainable variables.
            exclude_embeddings: leave out `keras.layers.Embedding` weights.

        Example:
            >>> from pretrained.models.bert import BertConfig, TFBertModel
            >>> model = TFBertModel(BertConfig(vocab_size=10, hidden_size=8, num_hidden_layers=1,
            ...                                num_attention_heads=2, intermediate_size=16))
            >>> model.num_parameters() > 0
            True
        """
        from .variables import canonical_variables

        build = getattr(self, "_ensure_built", None)
        if build is not None:
            build()
        embeddings = {id(v) for layer in _all_layers(self) if isinstance(layer, keras.layers.Embedding)
                      for v in layer.weights} if exclude_embeddings else set()
        total = 0
        for entry in canonical_variables(self):
            if entry.key.rsplit(".", 1)[-1] in _BUFFER_LEAVES or id(entry.variable) in embeddings:
                continue
            if only_trainable and not entry.variable.trainable:
                continue
            total += int(np.prod(entry.shape, dtype=np.int64))
        return total

    def get_extended_attention_mask(
        self, attention_mask: Any, input_shape: Any = None, dtype: Any = None
    ) -> tf.Tensor:
        """A `[batch, seq]` (or `[batch, from, to]`) 1/0 mask as an additive `[batch, 1, 1|from, to]` mask: 0 where
        attended, the dtype's most negative value where masked.

        Example:
            >>> import numpy as np
            >>> from pretrained.tf import TFModuleUtilsMixin
            >>> TFModuleUtilsMixin().get_extended_attention_mask(np.ones((2, 3, 3)), (2, 3)).shape
            TensorShape([2, 1, 3, 3])
        """
        dtype = dtype or _compute_dtype(self)
        mask = ops.cast(attention_mask, dtype)
        if len(mask.shape) == 3:
            mask = mask[:, None, :, :]
        elif len(mask.shape) == 2:
            mask = mask[:, None, None, :]
        else:
            raise ValueError(f"attention_mask must have shape [batch, seq] or [batch, from, to], got {mask.shape}")
        return (1.0 - mask) * float(tf.as_dtype(dtype).min)

    def invert_attention_mask(self, encoder_attention_mask: Any, dtype: Any = None) -> tf.Tensor:
        """An encoder's 1/0 mask as the additive mask for cross-attention (same rule as the extended mask).

        Example:
            >>> import numpy as np
            >>> from pretrained.tf import TFModuleUtilsMixin
            >>> TFModuleUtilsMixin().invert_attention_mask(np.array([[1, 0]])).shape
            TensorShape([1, 1, 1, 2])
        """
        return self.get_extended_attention_mask(encoder_attention_mask, None, dtype)

    def get_head_mask(
        self, head_mask: Any, num_hidden_layers: int, is_attention_chunked: bool = False, dtype: Any = None
    ) -> Any:
        """`[num_layers, 1, heads, 1, 1]` multipliers from a `[heads]` or `[num_layers, heads]` mask, or
        `[None] * num_layers` when `head_mask` is None.

        Example:
            >>> import numpy as np
            >>> from pretrained.tf import TFModuleUtilsMixin
            >>> TFModuleUtilsMixin().get_head_mask(np.array([1.0, 0.0]), 3).shape
            TensorShape([3, 1, 2, 1, 1])
        """
        if head_mask is None:
            return [None] * num_hidden_layers
        mask = ops.cast(head_mask, dtype or _compute_dtype(self))
        if len(mask.shape) == 1:
            mask = ops.broadcast_to(mask[None, None, :, None, None], (num_hidden_layers, 1, mask.shape[0], 1, 1))
        elif len(mask.shape) == 2:
            mask = mask[:, None, :, None, None]
        else:
            raise ValueError(f"head_mask must have shape [heads] or [num_layers, heads], got {mask.shape}")
        if is_attention_chunked:
            mask = mask[..., None]
        return mask

    def warn_if_padding_and_no_attention_mask(self, input_ids: Any, attention_mask: Any) -> None:
        """Warn once when `input_ids` look padded (the config's `pad_token_id` first or last in a row) and no
        `attention_mask` was given (v4); silent inside `tf.function` and symbolic builds.

        Example:
            >>> import numpy as np
            >>> from pretrained.models.bert import BertConfig, TFBertModel
            >>> model = TFBertModel(BertConfig(hidden_size=8, num_hidden_layers=1, num_attention_heads=2))
            >>> model.warn_if_padding_and_no_attention_mask(np.array([[5, 6, 0]]), None)  # logs a warning
        """
        if attention_mask is not None or not tf.executing_eagerly() or isinstance(input_ids, keras.KerasTensor):
            return
        ids = np.asarray(input_ids)
        padding_warning(ids[:, [-1, 0]] if ids.ndim == 2 else None, getattr(self, "config", None))


TFModelUtilsMixin = TFModuleUtilsMixin  # transformers v4's name


def apply_chunking_to_forward(forward_fn: Callable[..., Any], chunk_size: int, chunk_dim: int,
                              *input_tensors: Any) -> Any:
    """`forward_fn(*input_tensors)` computed in chunks of `chunk_size` along `chunk_dim` (less memory for the
    feed-forward of long sequences; `chunk_size` 0, or a dimension unknown while tracing, runs it whole), as v4's
    `config.chunk_size_feed_forward`.

    Example:
        >>> x = np.arange(8.0, dtype=np.float32).reshape(1, 4, 2)
        >>> np.array_equal(apply_chunking_to_forward(lambda t: t * 2, 2, 1, x), x * 2)
        True
    """
    length = input_tensors[0].shape[chunk_dim]
    if length is None:
        return forward_fn(*input_tensors)
    chunks = chunk_count(int(length), chunk_size)
    if chunks == 1:
        return forward_fn(*input_tensors)
    pieces = zip(*(ops.split(tensor, chunks, axis=chunk_dim) for tensor in input_tensors))
    return ops.concatenate([forward_fn(*piece) for piece in pieces], axis=chunk_dim)


def _compute_dtype(obj: Any) -> str:
    policy = getattr(obj, "dtype_policy", None) or keras.config.dtype_policy()
    return policy.compute_dtype


def _all_layers(layer: Any) -> list[Any]:
    flatten = getattr(layer, "_flatten_layers", None)
    return list(flatten(include_self=True)) if flatten else []
