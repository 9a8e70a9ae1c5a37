"""ResNet (timm layout) for PyTorch, TensorFlow and Flax, sharing `ResnetConfig` and one checkpoint.

Names resolve lazily: importing `ResnetModel` imports torch only, `TFResnetModel` TensorFlow only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pretrained.utils.lazy import lazy_names

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


__getattr__, __dir__ = lazy_names(__name__, _LAZY)


if TYPE_CHECKING:
    from .configuration_resnet import ResnetConfig
    from .modeling_flax_resnet import FlaxResnetModel, FlaxResnetModelForImageClassification
    from .modeling_resnet import ResnetModel, ResnetModelForImageClassification
    from .modeling_tf_resnet import TFResnetModel, TFResnetModelForImageClassification
