"""Head-pruning helpers: indices (a LongTensor, from pretrained.heads) and pruned layers' values."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from pretrained.torch import (
    Conv1D,
    find_pruneable_heads_and_indices,
    prune_conv1d_layer,
    prune_layer,
    prune_linear_layer,
)


def test_indices_skip_and_shift_already_pruned_heads():
    heads, index = find_pruneable_heads_and_indices([1], n_heads=3, head_size=2, already_pruned_heads=set())
    assert heads == {1} and index.dtype == torch.long and index.tolist() == [0, 1, 4, 5]
    heads, index = find_pruneable_heads_and_indices([0, 2], n_heads=3, head_size=1, already_pruned_heads={0})
    assert heads == {2} and index.tolist() == [0, 2]  # head 2 is now row 1 of the 3 remaining heads


def test_pruning_every_head_is_refused():
    with pytest.raises(ValueError, match="cannot prune all"):
        find_pruneable_heads_and_indices([0, 1], n_heads=2, head_size=4, already_pruned_heads=set())


def test_prune_linear_rows_and_columns():
    layer = nn.Linear(3, 4)
    rows = prune_linear_layer(layer, torch.tensor([1, 3]))
    assert torch.equal(rows.weight, layer.weight[[1, 3]]) and torch.equal(rows.bias, layer.bias[[1, 3]])
    cols = prune_linear_layer(layer, torch.tensor([0, 2]), dim=1)
    assert torch.equal(cols.weight, layer.weight[:, [0, 2]]) and torch.equal(cols.bias, layer.bias)
    x = torch.randn(2, 3)
    torch.testing.assert_close(rows(x), layer(x)[:, [1, 3]])
    assert rows.weight.requires_grad and rows.weight.data_ptr() != layer.weight.data_ptr()


def test_prune_conv1d_matches_its_linear_equivalent():
    layer = Conv1D(nf=4, nx=3)
    pruned = prune_conv1d_layer(layer, torch.tensor([0, 3]))
    assert pruned.weight.shape == (3, 2) and torch.equal(pruned.bias, layer.bias[[0, 3]])
    x = torch.randn(2, 3)
    torch.testing.assert_close(pruned(x), layer(x)[:, [0, 3]])
    rows = prune_conv1d_layer(layer, torch.tensor([1]), dim=0)
    assert rows.weight.shape == (1, 4) and torch.equal(rows.bias, layer.bias)


def test_prune_layer_dispatches_and_works_on_meta():
    assert isinstance(prune_layer(nn.Linear(3, 4), torch.tensor([0])), nn.Linear)
    assert isinstance(prune_layer(Conv1D(4, 3), torch.tensor([0])), Conv1D)
    with pytest.raises(ValueError, match="Can't prune layer"):
        prune_layer(nn.Conv2d(1, 1, 1), torch.tensor([0]))
    meta = nn.Linear(3, 4, device="meta")
    assert prune_linear_layer(meta, torch.tensor([0, 1])).weight.is_meta
