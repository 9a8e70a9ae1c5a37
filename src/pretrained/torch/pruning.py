"""Head-pruning helpers for PyTorch models (the rules themselves live in `pretrained.heads`).

Example:
    >>> import torch
    >>> from pretrained.torch.pruning import find_pruneable_heads_and_indices, prune_linear_layer
    >>> heads, index = find_pruneable_heads_and_indices([1], n_heads=2, head_size=2, already_pruned_heads=set())
    >>> index
    tensor([0, 1])
    >>> prune_linear_layer(torch.nn.Linear(3, 4), index).weight.shape
    torch.Size([2, 3])
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

from .. import heads as _heads

__all__ = ["Conv1D", "find_pruneable_heads_and_indices", "prune_conv1d_layer", "prune_layer", "prune_linear_layer"]


class Conv1D(nn.Module):
    """GPT-2's "Conv1D": a linear layer whose weight is stored transposed, `(in_features, out_features)`.

    Example:
        >>> Conv1D(nf=4, nx=3)(torch.ones(2, 3)).shape
        torch.Size([2, 4])
    """

    def __init__(self, nf: int, nx: int) -> None:
        super().__init__()
        self.nf = nf
        self.nx = nx
        self.weight = nn.Parameter(torch.empty(nx, nf))
        self.bias = nn.Parameter(torch.zeros(nf))
        nn.init.normal_(self.weight, std=0.02)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size_out = x.size()[:-1] + (self.nf,)
        x = torch.addmm(self.bias, x.view(-1, x.size(-1)), self.weight)
        return x.view(size_out)


def find_pruneable_heads_and_indices(
    heads: Iterable[int], n_heads: int, head_size: int, already_pruned_heads: set[int]
) -> tuple[set[int], torch.LongTensor]:
    """The heads still to prune (already-pruned ones skipped) and a LongTensor of the flat rows to keep.

    Example:
        >>> find_pruneable_heads_and_indices([0], 2, 1, set())
        ({0}, tensor([1]))
    """
    to_prune, index = _heads.pruneable_heads_and_indices(heads, n_heads, head_size, set(already_pruned_heads))
    return to_prune, torch.as_tensor(index, dtype=torch.long)


def prune_linear_layer(layer: nn.Linear, index: torch.LongTensor, dim: int = 0) -> nn.Linear:
    """A new `nn.Linear` keeping only the entries `index` along `dim` (0: output rows + bias, 1: input columns).

    Example:
        >>> prune_linear_layer(torch.nn.Linear(3, 4), torch.tensor([0, 2]), dim=1).weight.shape
        torch.Size([4, 2])
    """
    index = index.to(layer.weight.device)
    weight = layer.weight.index_select(dim, index).detach().clone()
    bias = None
    if layer.bias is not None:
        bias = (layer.bias if dim == 1 else layer.bias[index]).detach().clone()
    new_size = list(layer.weight.size())
    new_size[dim] = len(index)
    new_layer = nn.Linear(new_size[1], new_size[0], bias=bias is not None, device=layer.weight.device,
                          dtype=layer.weight.dtype)
    _replace(new_layer, "weight", weight, layer.weight.requires_grad)
    if bias is not None:
        _replace(new_layer, "bias", bias, layer.bias.requires_grad)
    return new_layer


def prune_conv1d_layer(layer: Conv1D, index: torch.LongTensor, dim: int = 1) -> Conv1D:
    """A new `Conv1D` keeping only the entries `index` along `dim` (1: output columns + bias, 0: input rows).

    Example:
        >>> prune_conv1d_layer(Conv1D(4, 3), torch.tensor([1, 3])).weight.shape
        torch.Size([3, 2])
    """
    index = index.to(layer.weight.device)
    weight = layer.weight.index_select(dim, index).detach().clone()
    bias = (layer.bias if dim == 0 else layer.bias[index]).detach().clone()
    new_size = list(layer.weight.size())
    new_size[dim] = len(index)
    new_layer = Conv1D(new_size[1], new_size[0]).to(layer.weight.device, layer.weight.dtype)
    _replace(new_layer, "weight", weight, layer.weight.requires_grad)
    _replace(new_layer, "bias", bias, layer.bias.requires_grad)
    return new_layer


def prune_layer(layer: nn.Linear | Conv1D, index: torch.LongTensor, dim: int | None = None) -> nn.Linear | Conv1D:
    """`prune_linear_layer` or `prune_conv1d_layer`, by the layer's type (`dim` defaults to each one's default).

    Example:
        >>> prune_layer(torch.nn.Linear(3, 4), torch.tensor([0])).out_features
        1
    """
    if isinstance(layer, nn.Linear):
        return prune_linear_layer(layer, index, dim=0 if dim is None else dim)
    if isinstance(layer, Conv1D):
        return prune_conv1d_layer(layer, index, dim=1 if dim is None else dim)
    raise ValueError(f"Can't prune layer of class {type(layer).__name__} (expected nn.Linear or Conv1D)")


def _replace(module: nn.Module, name: str, value: torch.Tensor, requires_grad: bool) -> None:
    module._parameters[name] = nn.Parameter(value, requires_grad=requires_grad)
