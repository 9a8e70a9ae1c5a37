"""ResNet (timm layout) for PyTorch, TensorFlow and Flax, sharing `ResnetConfig` and one checkpoint.

Names resolve lazily: importing `ResnetModel` imports torch only, `TFResnetModel` TensorFlow only.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_LAZY = {
    "ResnetConfig": ".configuration_resnet",
    "ResnetModel": ".modeling_resnet",
    "ResnetModelForImageClassification": ".modeling_resnet",
    "TFResnetModel": ".modeling_tf_resnet",
    "TFResnetModelForImageClassification": ".modeling_tf_resnet",
    "FlaxResnetModel": ".modeling_flax_resnet",
    "FlaxResnetModelForImageClassification": ".modeling_flax_resnet",
}
__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name], __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


if TYPE_CHECKING:
    from .configuration_resnet import ResnetConfig
    from .modeling_flax_resnet import FlaxResnetModel, FlaxResnetModelForImageClassification
    from .modeling_resnet import ResnetModel, ResnetModelForImageClassification
    from .modeling_tf_resnet import TFResnetModel, TFResnetModelForImageClassification
