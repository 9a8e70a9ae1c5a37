"""Pruning for NNX layers: keep selected rows / columns of an `nnx.Linear` (the Flax twin of torch's
`prune_linear_layer`). Which heads to prune and which indices to keep is decided by
[`pretrained.heads`][pretrained.heads], shared with the other backends.

`dim` follows the PyTorch weight `(out, in)`: `dim=0` keeps output features (kernel columns and the bias),
`dim=1` keeps input features (kernel rows).

Example:
    >>> import numpy as np
    >>> from flax import nnx
    >>> from pretrained.flax.pruning import prune_linear_layer
    >>> layer = nnx.Linear(4, 6, rngs=nnx.Rngs(0))
    >>> prune_linear_layer(layer, np.array([0, 2]), dim=0).kernel.shape
    (4, 2)
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
import numpy as np
from flax import nnx

from ..heads import find_pruneable_heads_and_indices, merge_pruned_heads, pruneable_heads_and_indices

__all__ = ["find_pruneable_heads_and_indices", "merge_pruned_heads", "prune_linear_layer", "pruneable_heads_and_indices"]


def prune_linear_layer(layer: nnx.Linear, index: Any, dim: int = 0) -> nnx.Linear:
    """Keep only the entries `index` of `layer` along `dim` (0: outputs, 1: inputs), in place; returns `layer`.

    Works on concrete and on abstract (`nnx.eval_shape`) modules.

    Example:
        >>> import numpy as np
        >>> from flax import nnx
        >>> from pretrained.flax.pruning import prune_linear_layer
        >>> layer = prune_linear_layer(nnx.Linear(4, 6, rngs=nnx.Rngs(0)), np.array([1, 3]), dim=1)
        >>> layer.in_features, layer.kernel.shape
        (2, (2, 6))
    """
    if dim not in (0, 1):
        raise ValueError(f"dim must be 0 (outputs) or 1 (inputs), got {dim}")
    index = jnp.asarray(np.asarray(index), dtype=jnp.int32)
    kernel = layer.kernel.get_value()
    if dim == 0:
        layer.kernel.set_value(jnp.take(kernel, index, axis=1))
        if getattr(layer, "bias", None) is not None:
            layer.bias.set_value(jnp.take(layer.bias.get_value(), index, axis=0))
        layer.out_features = int(index.shape[0])
    else:
        layer.kernel.set_value(jnp.take(kernel, index, axis=0))
        layer.in_features = int(index.shape[0])
    return layer
