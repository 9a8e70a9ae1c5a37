"""TensorFlow backend of `pretrained`: Keras 3 models on the TensorFlow backend, sharing the canonical checkpoint.

Importing this package imports TensorFlow and Keras. It raises
[`MissingBackendError`][pretrained.errors.MissingBackendError] when either is missing, and when Keras runs on another
backend (`KERAS_BACKEND` must be `tensorflow`, or unset).

Example:
    >>> from pretrained.tf import TFPreTrainedModel
    >>> TFPreTrainedModel.main_input_name
    'input_ids'
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..auto_names import backend_auto_names
from ..errors import MissingBackendError
from ..utils.backends import warn_if_triton_beside_tensorflow
from ..utils.lazy import lazy_names


def _check_backend() -> None:
    try:
        import keras  # first: on another Keras backend the check below fails before TensorFlow loads
    except ImportError as exc:
        raise MissingBackendError(
            f"The TensorFlow classes of pretrained need TensorFlow with Keras 3 ({exc}). "
            "Install them with: pip install 'pretrained[tf]'"
        ) from exc
    if not hasattr(keras, "config") or not hasattr(keras.config, "backend"):
        raise MissingBackendError(
            "pretrained's TensorFlow classes need Keras 3 (found a Keras 2 / tf-keras installation). "
            "Install them with: pip install 'pretrained[tf]'"
        )
    if keras.config.backend() != "tensorflow":
        raise MissingBackendError(
            f"pretrained's TensorFlow classes need Keras on the TensorFlow backend, but Keras is running on "
            f"{keras.config.backend()!r}. Set KERAS_BACKEND=tensorflow before Keras is first imported "
            "(or use the Flax / PyTorch classes)."
        )
    try:
        import tensorflow  # noqa: F401
    except ImportError as exc:
        raise MissingBackendError(
            f"The TensorFlow classes of pretrained need TensorFlow ({exc}). "
            "Install it with: pip install 'pretrained[tf]'"
        ) from exc


warn_if_triton_beside_tensorflow("tensorflow")
_check_backend()

from .embeddings import resize_embedding, resize_output_embedding  # noqa: E402
from .generation import TFGenerationMixin  # noqa: E402
from .modeling import TFPreTrainedModel, unpack_inputs  # noqa: E402
from .module_utils import TFModelUtilsMixin, TFModuleUtilsMixin  # noqa: E402
from .pruning import find_pruneable_heads_and_indices, prune_linear_layer  # noqa: E402
from .variables import CanonicalVariable, canonical_variables  # noqa: E402

# written separately: resolved on first access so this package imports without it
_AUTO = backend_auto_names("tf")

__all__ = [
    "CanonicalVariable",
    "TFGenerationMixin",
    "TFModelUtilsMixin",
    "TFModuleUtilsMixin",
    "TFPreTrainedModel",
    "canonical_variables",
    "find_pruneable_heads_and_indices",
    "prune_linear_layer",
    "resize_embedding",
    "resize_output_embedding",
    "unpack_inputs",
    *_AUTO,
]


__getattr__, __dir__ = lazy_names(__name__, dict.fromkeys(_AUTO, ".auto"))


if TYPE_CHECKING:
    from .auto import (  # noqa: F401
        TFAutoModel,
        TFAutoModelForCausalLM,
        TFAutoModelForImageClassification,
        TFAutoModelForMaskedLM,
        TFAutoModelForMultipleChoice,
        TFAutoModelForNextSentencePrediction,
        TFAutoModelForPreTraining,
        TFAutoModelForQuestionAnswering,
        TFAutoModelForSequenceClassification,
        TFAutoModelForTokenClassification,
    )
