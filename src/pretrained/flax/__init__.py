"""The Flax (NNX) backend: `FlaxPreTrainedModel` and its helpers.

Importing this package imports jax and flax; without them it raises `MissingBackendError` naming the extra to
install. The Auto classes (`FlaxAutoModel`, ...) resolve lazily from `pretrained.flax.auto`.

Example:
    >>> from pretrained.flax import FlaxPreTrainedModel
    >>> FlaxPreTrainedModel.main_input_name
    'input_ids'
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..auto_names import backend_auto_names
from ..errors import MissingBackendError
from ..utils.lazy import lazy_names

try:
    import flax.nnx  # noqa: F401
    import jax  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise MissingBackendError(
        f"The Flax backend needs jax and flax ({exc}). Install them with: pip install 'pretrained[flax]'"
    ) from exc

from .embeddings import resize_bias as resize_bias
from .embeddings import resize_embedding as resize_embedding
from .embeddings import resize_linear_outputs as resize_linear_outputs
from .embeddings import resize_output_embedding as resize_output_embedding
from .generation import FlaxGenerationMixin as FlaxGenerationMixin
from .modeling import FlaxPreTrainedModel as FlaxPreTrainedModel
from .modeling import layer_defaults as layer_defaults
from .module_utils import FlaxModuleUtilsMixin as FlaxModuleUtilsMixin
from .pruning import find_pruneable_heads_and_indices as find_pruneable_heads_and_indices
from .pruning import prune_linear_layer as prune_linear_layer
from .variables import canonical_variables as canonical_variables

_AUTO = backend_auto_names("flax")

__all__ = [
    "FlaxGenerationMixin",
    "FlaxModuleUtilsMixin",
    "FlaxPreTrainedModel",
    "canonical_variables",
    "layer_defaults",
    "find_pruneable_heads_and_indices",
    "prune_linear_layer",
    "resize_bias",
    "resize_embedding",
    "resize_linear_outputs",
    "resize_output_embedding",
    *_AUTO,
]


__getattr__, __dir__ = lazy_names(__name__, dict.fromkeys(_AUTO, ".auto"))


if TYPE_CHECKING:
    from .auto import (  # noqa: F401
        FlaxAutoModel,
        FlaxAutoModelForCausalLM,
        FlaxAutoModelForImageClassification,
        FlaxAutoModelForMaskedLM,
        FlaxAutoModelForMultipleChoice,
        FlaxAutoModelForNextSentencePrediction,
        FlaxAutoModelForPreTraining,
        FlaxAutoModelForQuestionAnswering,
        FlaxAutoModelForSequenceClassification,
        FlaxAutoModelForTokenClassification,
    )
