"""Embedding resizing helpers (the size rule and mean resizing come from pretrained.resizing)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from pretrained.torch.embeddings import (
    resize_embedding,
    resize_embedding_,
    resize_linear_head_,
    resize_output_embedding,
)


class MyEmbedding(nn.Embedding):
    pass


def test_resize_keeps_the_module_and_old_rows():
    torch.manual_seed(0)
    emb = MyEmbedding(10, 4, padding_idx=9)
    old = emb.weight.detach().clone()
    assert resize_embedding(emb, 14, mean_resizing=True) is emb
    assert type(emb) is MyEmbedding and emb.num_embeddings == 14 and emb.weight.shape == (14, 4)
    assert torch.equal(emb.weight[:10], old) and emb.weight.requires_grad
    torch.testing.assert_close(emb.weight[10:], old.mean(0).expand(4, -1), atol=1e-3, rtol=0)
    resize_embedding(emb, 5, mean_resizing=True)
    assert torch.equal(emb.weight, old[:5]) and emb.padding_idx is None


def test_mean_resizing_is_reproducible_with_torch_seed():
    results = []
    for _ in range(2):
        torch.manual_seed(0)
        emb = nn.Embedding(10, 4)
        torch.manual_seed(1)
        results.append(resize_embedding(emb, 12, mean_resizing=True).weight.detach().clone())
    assert torch.equal(results[0], results[1])


def test_without_mean_resizing_new_rows_come_from_init():
    emb = nn.Embedding(3, 2)

    def init(module: nn.Module) -> None:
        module.weight.data.fill_(7.0)

    resize_embedding(emb, 5, mean_resizing=False, init=init)
    assert emb.weight[3:].tolist() == [[7.0, 7.0], [7.0, 7.0]]


def test_bfloat16_embedding_keeps_its_dtype():
    emb = nn.Embedding(4, 2).to(torch.bfloat16)
    old = emb.weight.detach().clone()
    resize_embedding(emb, 6, mean_resizing=True)
    assert emb.weight.dtype == torch.bfloat16 and torch.equal(emb.weight[:4], old)


def test_linear_head_resizes_rows_and_bias():
    head = nn.Linear(4, 10)
    old_w, old_b = head.weight.detach().clone(), head.bias.detach().clone()
    resize_output_embedding(head, 12, mean_resizing=False, init=lambda m: (m.weight.data.zero_(), m.bias.data.zero_()))
    assert head.out_features == 12 and head.weight.shape == (12, 4) and head.bias.shape == (12,)
    assert torch.equal(head.weight[:10], old_w) and torch.equal(head.bias[:10], old_b)
    assert torch.equal(head.weight[10:], torch.zeros(2, 4)) and torch.equal(head.bias[10:], torch.zeros(2))


def test_tied_head_resizes_only_its_bias():
    emb = nn.Embedding(10, 4)
    head = nn.Linear(4, 10)
    head.weight = emb.weight
    resize_embedding(emb, 12, mean_resizing=True)
    resize_output_embedding(head, 12, mean_resizing=True, resize_weight=False)
    assert head.weight is emb.weight and head.bias.shape == (12,) and head.out_features == 12


def test_wrong_module_types_are_refused():
    with pytest.raises(TypeError, match="nn.Embedding"):
        resize_embedding(nn.Linear(2, 2), 3, mean_resizing=True)
    with pytest.raises(TypeError, match="nn.Linear"):
        resize_output_embedding(nn.Conv1d(2, 2, 1), 3, mean_resizing=True)


def test_earlier_names_are_aliases():
    assert resize_embedding_ is resize_embedding and resize_linear_head_ is resize_output_embedding
