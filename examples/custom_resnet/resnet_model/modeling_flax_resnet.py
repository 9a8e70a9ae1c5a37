from pretrained.models.resnet import FlaxResnetModelForImageClassification as FlaxResnetPort

from .configuration_resnet import ResnetConfig


class FlaxResnetModelForImageClassification(FlaxResnetPort):
    """The library's NNX port of timm's ResNet (same variable names, so it reads the PyTorch checkpoint)."""

    config_class = ResnetConfig
