"""PyTorch backend: `PreTrainedModel`, `ModuleUtilsMixin`, `GenerationMixin`, pruning helpers (and the Auto classes,
lazily).

Example:
    >>> from pretrained.torch import PreTrainedModel, ModuleUtilsMixin
    >>> issubclass(PreTrainedModel, ModuleUtilsMixin)
    True
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..auto_names import backend_auto_names
from ..errors import MissingBackendError
from ..utils.backends import warn_if_triton_beside_tensorflow
from ..utils.lazy import lazy_names

try:
    warn_if_triton_beside_tensorflow("torch")  # before torch loads: TensorFlow + triton may crash the import chain
    import torch  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised only without torch
    raise MissingBackendError(
        "pretrained.torch needs PyTorch, which is not installed: pip install 'pretrained[torch]'"
    ) from exc

from .embeddings import resize_embedding, resize_embedding_, resize_linear_head_, resize_output_embedding
from .generation import GenerationMixin
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
from .variables import canonical_variables

_AUTO = backend_auto_names("torch")

__all__ = [
    "Conv1D",
    "GenerationMixin",
    "ModuleUtilsMixin",
    "PreTrainedModel",
    "canonical_variables",
    "find_pruneable_heads_and_indices",
    "no_init_weights",
    "prune_conv1d_layer",
    "prune_layer",
    "prune_linear_layer",
    "resize_embedding",
    "resize_embedding_",
    "resize_linear_head_",
    "resize_output_embedding",
    *_AUTO,
]


__getattr__, __dir__ = lazy_names(__name__, dict.fromkeys(_AUTO, ".auto"))


if TYPE_CHECKING:
    from .auto import (  # noqa: F401
        AutoModel,
        AutoModelForCausalLM,
        AutoModelForImageClassification,
        AutoModelForMaskedLM,
        AutoModelForMultipleChoice,
        AutoModelForNextSentencePrediction,
        AutoModelForPreTraining,
        AutoModelForQuestionAnswering,
        AutoModelForSequenceClassification,
        AutoModelForTokenClassification,
    )
