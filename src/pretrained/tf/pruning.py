"""Head pruning for Keras models: rebuild `Dense` layers keeping only some rows or columns.

The rules (which heads, which flat indices) are the framework-free ones of [`pretrained.heads`][pretrained.heads];
this module only slices Keras variables. `dim` follows PyTorch's `prune_linear_layer`: `dim=0` keeps output
features (kernel columns and the bias), `dim=1` keeps input features (kernel rows).

Example:
    >>> import keras, numpy as np
    >>> from pretrained.tf.pruning import prune_linear_layer
    >>> dense = keras.layers.Dense(4, name="query")
    >>> dense.build((None, 3))
    >>> pruned = prune_linear_layer(dense, np.array([0, 2]))
    >>> pruned.name, pruned.kernel.shape, pruned.bias.shape
    ('query', TensorShape([3, 2]), TensorShape([2]))
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np

from ..heads import find_pruneable_heads_and_indices
from .loading import build_with_values, is_initialized
from .variables import replace_layer

__all__ = ["find_pruneable_heads_and_indices", "prune_dense_layer", "prune_layer_attribute", "prune_linear_layer"]


def prune_linear_layer(layer: keras.layers.Dense, index: np.ndarray, *, dim: int = 0) -> keras.layers.Dense:
    """A new `Dense` (same name, activation, initializers, dtype policy) keeping entries `index` along `dim`."""
    if dim not in (0, 1):
        raise ValueError(f"dim must be 0 (output features) or 1 (input features), got {dim}")
    index = np.asarray(index, dtype=np.int64)
    config = layer.get_config()
    if not is_initialized(layer.kernel):  # built by the loader (no values yet): a new deferred layer of the new shape
        rows, columns = (int(d) for d in layer.kernel.shape)
        config["units"] = len(index) if dim == 0 else columns
        new = type(layer).from_config(config)
        new.build((None, rows if dim == 0 else len(index)))
        return new
    kernel = layer.kernel.numpy()
    kernel = kernel[:, index] if dim == 0 else kernel[index, :]
    values = {"kernel": kernel}
    if layer.use_bias:
        bias = layer.bias.numpy()
        values["bias"] = bias[index] if dim == 0 else bias
    config["units"] = int(kernel.shape[1])
    new = type(layer).from_config(config)
    build_with_values(new, (None, int(kernel.shape[0])), values)
    return new


def prune_layer_attribute(parent: Any, attribute: str, index: np.ndarray, *, dim: int = 0) -> keras.layers.Dense:
    """Replace the `Dense` at `parent.<attribute>` by its pruned copy; returns the new layer.

    Example:
        >>> import keras, numpy as np
        >>> from pretrained.tf.pruning import prune_layer_attribute
        >>> class Block(keras.layers.Layer):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.dense = keras.layers.Dense(4, name="dense")
        >>> block = Block()
        >>> block.dense.build((None, 4))
        >>> prune_layer_attribute(block, "dense", np.array([1, 3]), dim=1).kernel.shape
        TensorShape([2, 4])
    """
    new = prune_linear_layer(getattr(parent, attribute), index, dim=dim)
    replace_layer(parent, attribute, new)
    return new


prune_dense_layer = prune_linear_layer  # the name of earlier versions
