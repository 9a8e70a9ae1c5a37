"""pretrained: base classes for pretrained models in PyTorch, TensorFlow (Keras 3) and Flax (NNX).

One canonical checkpoint (safetensors, PyTorch names and layout) that every backend saves and loads.
Importing `pretrained` imports no framework: each public name is resolved on first touch, and a backend name
(`pretrained.PreTrainedModel`, `pretrained.TFPreTrainedModel`, `pretrained.FlaxPreTrainedModel`, ...) imports
its framework only then.

Example:
    >>> import pretrained
    >>> config = pretrained.PretrainedConfig(num_labels=3)
    >>> config.num_labels
    3
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .auto_names import backend_auto_names
from .utils.lazy import lazy_names

__version__ = "0.1.0"

# public name -> module that defines it (relative to this package)
_LAZY: dict[str, str] = {
    "PretrainedConfig": ".configuration",
    "ModelOutput": ".outputs",
    "set_seed": ".utils.seed",
    "PushToHubMixin": ".hub",
    "AutoConfig": ".auto",
    "GenerationConfig": ".generation",
    "PretrainedError": ".errors",
    "CheckpointError": ".errors",
    "CorruptCheckpointError": ".errors",
    "ConfigError": ".errors",
    "ShapeMismatchError": ".errors",
    "IncompleteLoadError": ".errors",
    "IntegrityError": ".errors",
    "RemoteCodeError": ".errors",
    "MissingBackendError": ".errors",
    "HubError": ".errors",
    "LoadingReport": ".loading",
    # PyTorch
    "PreTrainedModel": ".torch",
    "ModuleUtilsMixin": ".torch",
    "GenerationMixin": ".torch",
    **dict.fromkeys(backend_auto_names("torch"), ".torch"),
    # TensorFlow (Keras 3)
    "TFPreTrainedModel": ".tf",
    "TFModuleUtilsMixin": ".tf",
    "TFModelUtilsMixin": ".tf",
    "TFGenerationMixin": ".tf",
    **dict.fromkeys(backend_auto_names("tf"), ".tf"),
    # Flax (NNX)
    "FlaxPreTrainedModel": ".flax",
    "FlaxGenerationMixin": ".flax",
    **dict.fromkeys(backend_auto_names("flax"), ".flax"),
}

__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_names(__name__, _LAZY)


if TYPE_CHECKING:  # static view of the lazy names, for type checkers and IDEs
    from .auto import AutoConfig
    from .configuration import PretrainedConfig
    from .errors import (
        CheckpointError,
        ConfigError,
        CorruptCheckpointError,
        HubError,
        IncompleteLoadError,
        IntegrityError,
        MissingBackendError,
        PretrainedError,
        RemoteCodeError,
        ShapeMismatchError,
    )
    from .flax import (
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
        FlaxGenerationMixin,
        FlaxPreTrainedModel,
    )
    from .generation import GenerationConfig
    from .hub import PushToHubMixin
    from .loading import LoadingReport
    from .outputs import ModelOutput
    from .tf import (
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
        TFGenerationMixin,
        TFModelUtilsMixin,
        TFModuleUtilsMixin,
        TFPreTrainedModel,
    )
    from .torch import (
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
        GenerationMixin,
        ModuleUtilsMixin,
        PreTrainedModel,
    )
    from .utils.seed import set_seed
