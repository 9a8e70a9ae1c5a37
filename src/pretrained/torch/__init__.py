"""PyTorch backend: `PreTrainedModel`, `ModuleUtilsMixin`, pruning helpers (and the Auto classes, lazily).

Example:
    >>> from pretrained.torch import PreTrainedModel, ModuleUtilsMixin
    >>> issubclass(PreTrainedModel, ModuleUtilsMixin)
    True
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import MissingBackendError
from ..utils.lazy import lazy_names

try:
    import torch  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised only without torch
    raise MissingBackendError(
        "pretrained.torch needs PyTorch, which is not installed: pip install 'pretrained[torch]'"
    ) from exc

from .embeddings import resize_embedding_, resize_linear_head_
from .loading import no_init_weights
from .modeling import PreTrainedModel
from .module_utils import ModuleUtilsMixin
from .pruning import (
    Conv1D,
    find_pruneable_heads_and_indices,
    prune_conv1d_layer,
    prune_layer,
    prune_linear_layer,
)

_AUTO = ("AutoModel", "AutoModelForImageClassification", "AutoModelForMaskedLM", "AutoModelForSequenceClassification")

__all__ = [
    "Conv1D",
    "ModuleUtilsMixin",
    "PreTrainedModel",
    "find_pruneable_heads_and_indices",
    "no_init_weights",
    "prune_conv1d_layer",
    "prune_layer",
    "prune_linear_layer",
    "resize_embedding_",
    "resize_linear_head_",
    *_AUTO,
]


__getattr__, __dir__ = lazy_names(__name__, dict.fromkeys(_AUTO, ".auto"))


if TYPE_CHECKING:
    from .auto import (
        AutoModel,
        AutoModelForImageClassification,
        AutoModelForMaskedLM,
        AutoModelForSequenceClassification,
    )
