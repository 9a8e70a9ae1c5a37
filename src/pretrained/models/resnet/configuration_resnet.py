"""`ResnetConfig`, exactly as in the custom-models guide (timm's ResNet hyper-parameters)."""

from __future__ import annotations

from typing import Any

from pretrained.configuration import PretrainedConfig

BLOCK_TYPES = ("basic", "bottleneck")
STEM_TYPES = ("", "deep", "deep-tiered")


class ResnetConfig(PretrainedConfig):
    """Configuration of a timm-style ResNet (ResNet, ResNet-D, ResNeXt, wide ResNets).

    Example:
        >>> from pretrained.models.resnet import ResnetConfig
        >>> resnet50d = ResnetConfig(block_type="bottleneck", stem_width=32, stem_type="deep", avg_down=True)
        >>> resnet50d.layers
        [3, 4, 6, 3]
    """

    model_type = "resnet"

    def __init__(
        self,
        block_type: str = "bottleneck",
        layers: list[int] = [3, 4, 6, 3],  # noqa: B006 - the guide's signature; copied below
        num_classes: int = 1000,
        input_channels: int = 3,
        cardinality: int = 1,
        base_width: int = 64,
        stem_width: int = 64,
        stem_type: str = "",
        avg_down: bool = False,
        **kwargs: Any,
    ) -> None:
        if block_type not in BLOCK_TYPES:
            raise ValueError(f"`block_type` must be 'basic' or bottleneck', got {block_type}.")
        if stem_type not in STEM_TYPES:
            raise ValueError(f"`stem_type` must be '', 'deep' or 'deep-tiered', got {stem_type}.")

        self.block_type = block_type
        self.layers = list(layers)
        self.num_classes = num_classes
        self.input_channels = input_channels
        self.cardinality = cardinality
        self.base_width = base_width
        self.stem_width = stem_width
        self.stem_type = stem_type
        self.avg_down = avg_down
        super().__init__(**kwargs)
