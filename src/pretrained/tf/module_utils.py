"""`TFModuleUtilsMixin`: the helpers a TensorFlow model and its layers share (the TF twin of `ModuleUtilsMixin`).

Example:
    >>> import numpy as np
    >>> from pretrained.tf import TFModuleUtilsMixin
    >>> mask = TFModuleUtilsMixin().get_extended_attention_mask(np.array([[1, 1, 0]]), (1, 3))
    >>> mask.shape, float(mask[0, 0, 0, 2]) < -1e30
    (TensorShape([1, 1, 1, 3]), True)
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from ..layout import RUNNING_MEAN

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
        for entry in canonical_variables(self, overrides=getattr(self, "_layout_overrides", ())):
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


TFModelUtilsMixin = TFModuleUtilsMixin  # transformers v4's name


def _compute_dtype(obj: Any) -> str:
    policy = getattr(obj, "dtype_policy", None) or keras.config.dtype_policy()
    return policy.compute_dtype


def _all_layers(layer: Any) -> list[Any]:
    flatten = getattr(layer, "_flatten_layers", None)
    return list(flatten(include_self=True)) if flatten else []
