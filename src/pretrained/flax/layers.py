"""NNX layers whose parameters keep PyTorch's layout, mirrored in `pretrained.torch.layers` and
`pretrained.tf.layers`: `FlaxConv1D`, GPT-2's linear layer with its `weight` stored (in_features, out_features).

A parameter named `weight` keeps its name and layout in the canonical checkpoint (no leaf rule applies), so the
state path `('h', 0, 'attn', 'c_attn', 'weight')` is the key `h.0.attn.c_attn.weight`, untransposed, exactly as
transformers' `Conv1D`.

Example:
    >>> import jax.numpy as jnp
    >>> from flax import nnx
    >>> from pretrained.flax.layers import FlaxConv1D
    >>> from pretrained.flax.variables import canonical_variables
    >>> layer = FlaxConv1D(6, 4, rngs=nnx.Rngs(0))
    >>> layer(jnp.ones((2, 4))).shape
    (2, 6)
    >>> [(v.key, v.canonical_shape, v.transform) for v in canonical_variables(layer)]
    [('bias', (6,), 'identity'), ('weight', (4, 6), 'identity')]
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx


class FlaxConv1D(nnx.Module):
    """`y = x @ weight + bias` with `weight` of shape (nx, nf): transformers' `Conv1D` (`nf` outputs, `nx`
    inputs). `dtype` is the computation dtype (None: the inputs'), `param_dtype` the storage dtype."""

    def __init__(self, nf: int, nx: int, *, rngs: nnx.Rngs, initializer_range: float = 0.02, dtype: Any = None,
                 param_dtype: Any = jnp.float32) -> None:
        self.nf, self.nx = nf, nx
        self.dtype = dtype
        self.weight = nnx.Param(nnx.initializers.normal(stddev=initializer_range)(rngs.params(), (nx, nf),
                                                                                  param_dtype))
        self.bias = nnx.Param(jnp.zeros((nf,), param_dtype))

    def __call__(self, x: jax.Array) -> jax.Array:
        dtype = self.dtype or x.dtype
        return x.astype(dtype) @ self.weight.get_value().astype(dtype) + self.bias.get_value().astype(dtype)


__all__ = ["FlaxConv1D"]
