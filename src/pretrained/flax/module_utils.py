"""`FlaxModuleUtilsMixin`: the helpers of torch's `ModuleUtilsMixin` that models need, for NNX modules."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from ..modeling_base import chunk_count, padding_warning


class FlaxModuleUtilsMixin:
    """Parameter counting and attention / head mask helpers (the Flax twin of torch's `ModuleUtilsMixin`).

    Example:
        >>> from flax import nnx
        >>> from pretrained.flax import FlaxModuleUtilsMixin
        >>> class Tiny(nnx.Module, FlaxModuleUtilsMixin):
        ...     def __init__(self):
        ...         self.dense = nnx.Linear(3, 2, rngs=nnx.Rngs(0))
        >>> Tiny().num_parameters()
        8
    """

    def num_parameters(self, only_trainable: bool = False, exclude_embeddings: bool = False) -> int:
        """Number of parameter values (`nnx.Param` leaves; batch statistics are buffers and do not count).

        Every `nnx.Param` is trainable, so `only_trainable` changes nothing; it is accepted for torch parity.
        `exclude_embeddings` leaves out `nnx.Embed` tables.

        Example:
            >>> from flax import nnx
            >>> from pretrained.flax import FlaxModuleUtilsMixin
            >>> class Tiny(nnx.Module, FlaxModuleUtilsMixin):
            ...     def __init__(self):
            ...         self.emb = nnx.Embed(10, 2, rngs=nnx.Rngs(0))
            >>> Tiny().num_parameters(exclude_embeddings=True)
            0
        """
        total = 0
        for path, variable in nnx.to_flat_state(nnx.state(self, nnx.Param)):
            if exclude_embeddings and path[-1] == "embedding":
                continue
            total += int(jnp.size(variable.get_value()))
        return total

    @staticmethod
    def invert_attention_mask(encoder_attention_mask: jax.Array, dtype: Any = jnp.float32) -> jax.Array:
        """`(batch, seq)` or `(batch, q, k)` 1/0 mask -> additive mask broadcastable to `(batch, heads, q, k)`.

        Example:
            >>> import jax.numpy as jnp
            >>> from pretrained.flax import FlaxModuleUtilsMixin
            >>> FlaxModuleUtilsMixin.invert_attention_mask(jnp.array([[1, 0]])).shape
            (1, 1, 1, 2)
        """
        mask = jnp.asarray(encoder_attention_mask)
        if mask.ndim == 3:
            mask = mask[:, None, :, :]
        elif mask.ndim == 2:
            mask = mask[:, None, None, :]
        return jnp.where(mask.astype(bool), jnp.zeros((), dtype), jnp.finfo(dtype).min)

    def get_extended_attention_mask(
        self, attention_mask: jax.Array, input_shape: tuple[int, ...], dtype: Any = None
    ) -> jax.Array:
        """Make a broadcastable additive mask (0 to attend, the dtype's minimum to ignore), as torch's helper.

        Example:
            >>> import jax.numpy as jnp
            >>> from pretrained.flax import FlaxModuleUtilsMixin
            >>> FlaxModuleUtilsMixin().get_extended_attention_mask(jnp.array([[1, 0]]), (1, 2))[0, 0, 0].tolist()
            [0.0, -3.4028234663852886e+38]
        """
        dtype = dtype or getattr(self, "dtype", jnp.float32)
        mask = jnp.asarray(attention_mask)
        if mask.ndim == 3:
            extended = mask[:, None, :, :]
        elif mask.ndim == 2:
            extended = mask[:, None, None, :]
        else:
            raise ValueError(
                f"Wrong shape for input_ids (shape {tuple(input_shape)}) or attention_mask (shape {mask.shape})"
            )
        return jnp.where(extended.astype(bool), jnp.zeros((), dtype), jnp.finfo(dtype).min)

    def get_head_mask(
        self, head_mask: jax.Array | None, num_hidden_layers: int, is_attention_chunked: bool = False
    ) -> list[jax.Array | None]:
        """`head_mask` of shape `(heads,)` or `(layers, heads)` -> one `(batch, heads, q, k)`-broadcastable mask
        per layer, or `[None] * num_hidden_layers`.

        Example:
            >>> import jax.numpy as jnp
            >>> from pretrained.flax import FlaxModuleUtilsMixin
            >>> masks = FlaxModuleUtilsMixin().get_head_mask(jnp.ones((4,)), 2)
            >>> len(masks), masks[0].shape
            (2, (1, 4, 1, 1))
        """
        if head_mask is None:
            return [None] * num_hidden_layers
        mask = jnp.asarray(head_mask)
        if mask.ndim == 1:
            mask = jnp.broadcast_to(mask[None, None, :, None, None], (num_hidden_layers, 1, mask.shape[0], 1, 1))
        elif mask.ndim == 2:
            mask = mask[:, None, :, None, None]
        else:
            raise ValueError(f"head_mask must have 1 or 2 dimensions, got shape {mask.shape}")
        if mask.shape[0] != num_hidden_layers:
            raise ValueError(f"head_mask has {mask.shape[0]} layers, the model has {num_hidden_layers}")
        mask = mask.astype(getattr(self, "dtype", jnp.float32))
        if is_attention_chunked:
            mask = mask[..., None]
        return [mask[i] for i in range(num_hidden_layers)]

    def warn_if_padding_and_no_attention_mask(self, input_ids: jax.Array, attention_mask: jax.Array | None) -> None:
        """Warn once when `input_ids` look padded (the config's `pad_token_id` first or last in a row) and no
        `attention_mask` was given (v4); silent under `jax.jit` / `nnx.jit` tracing.

        Example:
            >>> import jax.numpy as jnp
            >>> from pretrained.models.bert import BertConfig, FlaxBertModel
            >>> model = FlaxBertModel(BertConfig(hidden_size=8, num_hidden_layers=1, num_attention_heads=2))
            >>> model.warn_if_padding_and_no_attention_mask(jnp.array([[5, 6, 0]]), None)  # logs a warning
        """
        if attention_mask is not None or isinstance(input_ids, jax.core.Tracer):
            return
        ids = np.asarray(input_ids)
        padding_warning(ids[:, [-1, 0]] if ids.ndim == 2 else None, getattr(self, "config", None))


def apply_chunking_to_forward(forward_fn: Callable[..., jax.Array], chunk_size: int, chunk_dim: int,
                              *input_tensors: jax.Array) -> jax.Array:
    """`forward_fn(*input_tensors)` computed in chunks of `chunk_size` along `chunk_dim` (less memory for the
    feed-forward of long sequences; `chunk_size` 0 runs it whole), as v4's `config.chunk_size_feed_forward`.

    Example:
        >>> x = jnp.arange(8.0).reshape(1, 4, 2)
        >>> bool((apply_chunking_to_forward(lambda t: t * 2, 2, 1, x) == x * 2).all())
        True
    """
    chunks = chunk_count(input_tensors[0].shape[chunk_dim], chunk_size)
    if chunks == 1:
        return forward_fn(*input_tensors)
    pieces = zip(*(jnp.split(tensor, chunks, axis=chunk_dim) for tensor in input_tensors))
    return jnp.concatenate([forward_fn(*piece) for piece in pieces], axis=chunk_dim)
