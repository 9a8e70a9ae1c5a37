"""Layers whose canonical layout differs from PyTorch's defaults, mirrored in `pretrained.tf.layers` and
`pretrained.flax.layers`: `Conv1D`, GPT-2's linear layer with its weight stored (in_features, out_features).

Example:
    >>> import torch
    >>> from pretrained.torch.layers import Conv1D
    >>> layer = Conv1D(nf=6, nx=4)
    >>> tuple(layer.weight.shape), tuple(layer(torch.ones(2, 4)).shape)
    ((4, 6), (2, 6))
"""

from __future__ import annotations

from .pruning import Conv1D

__all__ = ["Conv1D"]
