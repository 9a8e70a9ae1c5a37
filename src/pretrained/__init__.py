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

from .utils.lazy import lazy_names

__version__ = "0.1.0"

# public name -> module that defines it (relative to this package)
_LAZY: dict[str, str] = {
    "PretrainedConfig": ".configuration",
    "PushToHubMixin": ".hub",
    "AutoConfig": ".auto",
    "PretrainedError": ".errors",
    "CheckpointError": ".errors",
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
    "AutoModel": ".torch",
    "AutoModelForImageClassification": ".torch",
    "AutoModelForMaskedLM": ".torch",
    "AutoModelForSequenceClassification": ".torch",
    # TensorFlow (Keras 3)
    "TFPreTrainedModel": ".tf",
    "TFModuleUtilsMixin": ".tf",
    "TFModelUtilsMixin": ".tf",
    "TFAutoModel": ".tf",
    "TFAutoModelForImageClassification": ".tf",
    "TFAutoModelForMaskedLM": ".tf",
    "TFAutoModelForSequenceClassification": ".tf",
    # Flax (NNX)
    "FlaxPreTrainedModel": ".flax",
    "FlaxAutoModel": ".flax",
    "FlaxAutoModelForImageClassification": ".flax",
    "FlaxAutoModelForMaskedLM": ".flax",
    "FlaxAutoModelForSequenceClassification": ".flax",
}

__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_names(__name__, _LAZY)


if TYPE_CHECKING:  # static view of the lazy names, for type checkers and IDEs
    from .auto import AutoConfig
    from .configuration import PretrainedConfig
    from .errors import (
        CheckpointError,
        ConfigError,
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
        FlaxAutoModelForImageClassification,
        FlaxAutoModelForMaskedLM,
        FlaxAutoModelForSequenceClassification,
        FlaxPreTrainedModel,
    )
    from .hub import PushToHubMixin
    from .loading import LoadingReport
    from .tf import (
        TFAutoModel,
        TFAutoModelForImageClassification,
        TFAutoModelForMaskedLM,
        TFAutoModelForSequenceClassification,
        TFModelUtilsMixin,
        TFModuleUtilsMixin,
        TFPreTrainedModel,
    )
    from .torch import (
        AutoModel,
        AutoModelForImageClassification,
        AutoModelForMaskedLM,
        AutoModelForSequenceClassification,
        ModuleUtilsMixin,
        PreTrainedModel,
    )
