from pretrained.models.resnet import TFResnetModelForImageClassification as TFResnetPort

from .configuration_resnet import ResnetConfig


class TFResnetModelForImageClassification(TFResnetPort):
    """The library's Keras port of timm's ResNet (same variable names, so it reads the PyTorch checkpoint)."""

    config_class = ResnetConfig
