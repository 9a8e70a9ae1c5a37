"""Attention kernels for PyTorch models: `"eager"` (written out; returns the probabilities) and `"sdpa"`
(`torch.nn.functional.scaled_dot_product_attention`). Which one a model uses is `config._attn_implementation`
([`pretrained.attention`][pretrained.attention]); `attention_forward` runs it, or the eager one when the call needs
the probabilities or a head mask.

Tensors are `(batch, sequence, heads, head_dim)` in and out, as the query / key / value projections produce them.

Example:
    >>> import torch
    >>> from pretrained.torch.attention import attention_forward
    >>> q = k = v = torch.ones(1, 3, 2, 4)
    >>> context, probs = attention_forward("sdpa", q, k, v)
    >>> context.shape, probs
    (torch.Size([1, 3, 2, 4]), None)
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from ..attention import EAGER, SDPA, effective_implementation

AttentionFunction = Callable[..., tuple[torch.Tensor, torch.Tensor | None]]


def eager_attention(query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                    attention_mask: torch.Tensor | None = None, *, head_mask: torch.Tensor | None = None,
                    dropout: nn.Module | None = None, scale: float | None = None
                    ) -> tuple[torch.Tensor, torch.Tensor]:
    """softmax(q k^T / sqrt(d) + mask), dropout, head mask, times v: `(context, probabilities)`.

    >>> x = torch.ones(1, 2, 1, 4)
    >>> eager_attention(x, x, x)[1].tolist()
    [[[[0.5, 0.5], [0.5, 0.5]]]]
    """
    query, key, value = (t.transpose(1, 2) for t in (query, key, value))
    scores = torch.matmul(query, key.transpose(-1, -2))
    scores = scores / math.sqrt(query.shape[-1]) if scale is None else scores * scale
    if attention_mask is not None:
        scores = scores + attention_mask
    probs = nn.functional.softmax(scores, dim=-1)
    if dropout is not None:
        probs = dropout(probs)
    if head_mask is not None:
        probs = probs * head_mask
    return torch.matmul(probs, value).transpose(1, 2), probs


def sdpa_attention(query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                   attention_mask: torch.Tensor | None = None, *, head_mask: torch.Tensor | None = None,
                   dropout: nn.Module | None = None, scale: float | None = None) -> tuple[torch.Tensor, None]:
    """The fused kernel (`torch.nn.functional.scaled_dot_product_attention`, dropout included); no probabilities.

    >>> x = torch.ones(1, 2, 1, 4)
    >>> sdpa_attention(x, x, x)[0].shape
    torch.Size([1, 2, 1, 4])
    """
    if head_mask is not None:
        raise ValueError("sdpa_attention cannot apply a head_mask: use eager_attention")
    rate = dropout.p if dropout is not None and dropout.training else 0.0
    mask = None if attention_mask is None else attention_mask.to(query.dtype)
    context = nn.functional.scaled_dot_product_attention(
        query.transpose(1, 2), key.transpose(1, 2), value.transpose(1, 2), attn_mask=mask, dropout_p=rate,
        scale=scale)
    return context.transpose(1, 2), None


ATTENTION_FUNCTIONS: dict[str, AttentionFunction] = {EAGER: eager_attention, SDPA: sdpa_attention}


def attention_forward(implementation: str, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                      attention_mask: torch.Tensor | None = None, *, head_mask: torch.Tensor | None = None,
                      dropout: nn.Module | None = None, output_attentions: bool = False, scale: float | None = None,
                      caller: str = "attention") -> tuple[torch.Tensor, torch.Tensor | None]:
    """Run `implementation` (falling back to eager when the call needs probabilities or a head mask):
    `(context (batch, seq, heads, head_dim), probabilities or None)`.

    >>> x = torch.ones(1, 2, 1, 4)
    >>> attention_forward("sdpa", x, x, x, output_attentions=True)[1].shape
    torch.Size([1, 1, 2, 2])
    """
    implementation = effective_implementation(implementation, output_attentions=output_attentions,
                                              head_mask=head_mask is not None, caller=caller)
    return ATTENTION_FUNCTIONS[implementation](query, key, value, attention_mask, head_mask=head_mask,
                                               dropout=dropout, scale=scale)
