"""`resize_token_embeddings` for PyTorch models; the size rule and mean resizing live in `pretrained.resizing`.

Modules are resized **in place** (the `nn.Embedding` / `nn.Linear` object, and so any subclass of it, is kept; only
its weight is replaced), so hooks and custom embedding classes survive.

Example:
    >>> import torch
    >>> from pretrained.torch.embeddings import resize_embedding
    >>> emb = torch.nn.Embedding(10, 4)
    >>> resize_embedding(emb, 12, mean_resizing=True) is emb, emb.weight.shape
    (True, torch.Size([12, 4]))
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from .. import resizing
from ..utils import logging

logger = logging.get_logger(__name__)

InitFn = Callable[[nn.Module], None]


def resize_embedding(
    embedding: nn.Embedding, new_num_tokens: int, *, mean_resizing: bool, init: InitFn | None = None
) -> nn.Embedding:
    """Resize an `nn.Embedding` in place to `new_num_tokens` rows: old rows kept, new rows drawn around the old
    rows' mean (`mean_resizing=True`) or set by `init` (the model's `_init_weights`) on a fresh module.

    Example:
        >>> emb = torch.nn.Embedding(4, 2)
        >>> old = emb.weight[:2].clone()
        >>> torch.equal(resize_embedding(emb, 2, mean_resizing=False).weight, old)
        True
    """
    if not isinstance(embedding, nn.Embedding):
        raise TypeError(
            f"resize_token_embeddings needs the input embeddings to be an nn.Embedding, got {type(embedding).__name__}"
        )
    old_rows = embedding.weight.shape[0]
    if new_num_tokens == old_rows:
        return embedding
    fresh = None
    if not mean_resizing and new_num_tokens > old_rows:
        fresh = _fresh_weight(nn.Embedding(new_num_tokens, embedding.embedding_dim, **_like(embedding.weight)), init)
    weight = _resized(embedding.weight, new_num_tokens, mean_resizing=mean_resizing, fresh=fresh)
    _set_weight(embedding, weight)
    embedding.num_embeddings = new_num_tokens
    if embedding.padding_idx is not None and embedding.padding_idx >= new_num_tokens:
        embedding.padding_idx = None
    return embedding


def resize_output_embedding(
    head: nn.Linear | nn.Embedding, new_num_tokens: int, *, mean_resizing: bool, init: InitFn | None = None,
    resize_weight: bool = True
) -> nn.Linear | nn.Embedding:
    """Resize an output projection in place: an `nn.Linear(hidden, vocab)` has its weight rows (unless
    `resize_weight` is False, for a head tied to the input embeddings) and its bias resized; an untied
    `nn.Embedding` used as the output is resized like an input embedding.

    Example:
        >>> head = torch.nn.Linear(4, 10)
        >>> resize_output_embedding(head, 12, mean_resizing=True).bias.shape
        torch.Size([12])
    """
    if isinstance(head, nn.Embedding):
        return resize_embedding(head, new_num_tokens, mean_resizing=mean_resizing, init=init) if resize_weight else head
    if not isinstance(head, nn.Linear):
        raise TypeError(f"cannot resize an output embedding of type {type(head).__name__} (expected nn.Linear)")
    old_rows = head.out_features
    if resize_weight and head.weight.shape[0] != new_num_tokens:
        fresh = None
        if not mean_resizing and new_num_tokens > old_rows:
            fresh = _fresh_weight(nn.Linear(head.in_features, new_num_tokens, **_like(head.weight)), init)
        _set_weight(head, _resized(head.weight, new_num_tokens, mean_resizing=mean_resizing, fresh=fresh))
    if head.bias is not None and head.bias.shape[0] != new_num_tokens:
        bias = resizing.resized_bias(
            _to_numpy(head.bias), new_num_tokens, mean_resizing=mean_resizing, rng=_torch_seeded_rng()
        )
        head.bias.data = torch.from_numpy(bias).to(head.bias.device, head.bias.dtype)
    head.out_features = new_num_tokens
    return head


def _resized(weight: torch.Tensor, rows: int, *, mean_resizing: bool, fresh: torch.Tensor | None) -> torch.Tensor:
    new = resizing.resized_rows(
        _to_numpy(weight),
        rows,
        mean_resizing=mean_resizing,
        rng=_torch_seeded_rng(),
        init=None if fresh is None else _to_numpy(fresh),
    )
    return torch.from_numpy(new).to(device=weight.device, dtype=weight.dtype)


def _fresh_weight(module: nn.Module, init: InitFn | None) -> torch.Tensor:
    if init is not None:
        init(module)
    return module.weight.detach()


def _set_weight(module: nn.Module, weight: torch.Tensor) -> None:
    """Swap the data of the existing Parameter, so ties (the same Parameter object elsewhere) follow."""
    requires_grad = module.weight.requires_grad
    module.weight.data = weight
    module.weight.requires_grad_(requires_grad)


def _to_numpy(tensor: torch.Tensor) -> np.ndarray:
    # float32 on the host: NumPy has no bfloat16, and the rules compute statistics in float32 anyway
    out = tensor.detach().to("cpu", torch.float32).numpy()
    return out


def _like(tensor: torch.Tensor) -> dict:
    return {"device": tensor.device, "dtype": tensor.dtype}


def _torch_seeded_rng() -> np.random.Generator:
    """A NumPy generator seeded from torch's, so `torch.manual_seed` makes resizing reproducible."""
    return np.random.default_rng(int(torch.randint(0, 2**62, (1,)).item()))


# the names of earlier versions (trailing underscore: in place, as torch spells it)
resize_embedding_ = resize_embedding
resize_linear_head_ = resize_output_embedding
