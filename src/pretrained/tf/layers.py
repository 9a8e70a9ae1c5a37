"""Keras layers whose variables keep PyTorch's layout, mirrored in `pretrained.torch.layers` and
`pretrained.flax.layers`: `TFConv1D`, GPT-2's linear layer with its `weight` stored (in_features, out_features).

A variable named `weight` keeps its name and layout in the canonical checkpoint (no leaf rule applies), so
`h/0/attn/c_attn/weight` is the key `h.0.attn.c_attn.weight`, untransposed, exactly as transformers' `Conv1D`.

Example:
    >>> import keras
    >>> from pretrained.tf.layers import TFConv1D
    >>> from pretrained.tf.variables import canonical_variables
    >>> class Block(keras.layers.Layer):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.c_attn = TFConv1D(6, 4, name="c_attn")
    ...     def call(self, x):
    ...         return self.c_attn(x)
    >>> block = Block()
    >>> tuple(block(keras.ops.ones((2, 4))).shape)
    (2, 6)
    >>> [(v.key, v.canonical_shape, v.transform) for v in canonical_variables(block)]
    [('c_attn.weight', (4, 6), 'identity'), ('c_attn.bias', (6,), 'identity')]
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from .variables import declare_input_shape


class TFConv1D(keras.layers.Layer):
    """`y = x @ weight + bias` with `weight` of shape (nx, nf): transformers' `Conv1D` (`nf` outputs, `nx`
    inputs). Its input shape is declared, so a `ContainerLayer` builds it without a forward pass."""

    def __init__(self, nf: int, nx: int, initializer_range: float = 0.02, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.nf, self.nx = nf, nx
        self.initializer_range = initializer_range
        declare_input_shape(self, (None, None, nx))

    def build(self, input_shape: Any = None) -> None:
        self.weight = self.add_weight(
            name="weight", shape=(self.nx, self.nf),
            initializer=keras.initializers.RandomNormal(stddev=self.initializer_range))
        self.bias = self.add_weight(name="bias", shape=(self.nf,), initializer="zeros")
        self.built = True

    def call(self, x: Any) -> Any:
        return ops.matmul(x, self.weight) + self.bias

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "nf": self.nf, "nx": self.nx, "initializer_range": self.initializer_range}


__all__ = ["TFConv1D"]
