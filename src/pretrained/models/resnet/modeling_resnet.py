"""ResNet for PyTorch: timm's `ResNet` wrapped as in the custom-models guide, returning transformers v4's outputs
(`BaseModelOutputWithPoolingAndNoAttention`, `ImageClassifierOutputWithNoAttention`; tuples with
`return_dict=False`; every stage's output with `output_hidden_states=True`).

Example:
    >>> import torch
    >>> from pretrained.models.resnet import ResnetConfig, ResnetModelForImageClassification
    >>> config = ResnetConfig(block_type="basic", layers=[1, 1, 1, 1], num_classes=3)
    >>> model = ResnetModelForImageClassification(config).eval()
    >>> out = model(torch.zeros(1, 3, 32, 32), labels=torch.tensor([1]))
    >>> out.logits.shape, out.loss.dim()
    (torch.Size([1, 3]), 0)
"""

from __future__ import annotations

import torch
from timm.models.resnet import BasicBlock, Bottleneck, ResNet
from torch import nn

from pretrained.outputs import (
    BaseModelOutputWithPoolingAndNoAttention,
    ImageClassifierOutputWithNoAttention,
    output_flags,
    returned,
)
from pretrained.torch.modeling import PreTrainedModel

from .configuration_resnet import ResnetConfig

BLOCK_MAPPING = {"basic": BasicBlock, "bottleneck": Bottleneck}


class ResnetPreTrainedModel(PreTrainedModel):
    """Shared settings of the ResNet models: timm's initialisation as `_init_weights`."""

    config_class = ResnetConfig
    main_input_name = "pixel_values"
    supports_gradient_checkpointing = True

    def _build_resnet(self, config: ResnetConfig) -> ResNet:
        return ResNet(
            BLOCK_MAPPING[config.block_type],
            config.layers,
            num_classes=config.num_classes,
            in_chans=config.input_channels,
            cardinality=config.cardinality,
            base_width=config.base_width,
            stem_width=config.stem_width,
            stem_type=config.stem_type,
            avg_down=config.avg_down,
        )

    def _features(self, pixel_values: torch.Tensor, output_hidden_states: bool
                  ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...] | None]:
        """timm's `forward_features`, and with `output_hidden_states` the stem's and every stage's output."""
        resnet = self.model
        if not output_hidden_states:
            return resnet.forward_features(pixel_values), None
        x = resnet.maxpool(resnet.act1(resnet.bn1(resnet.conv1(pixel_values))))
        hidden = [x]
        for stage in (resnet.layer1, resnet.layer2, resnet.layer3, resnet.layer4):
            x = stage(x)
            hidden.append(x)
        return x, tuple(hidden)

    def _init_weights(self, module: nn.Module) -> None:
        """timm's ResNet initialisation, one module at a time (children before parents)."""
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.BatchNorm2d):
            module.reset_parameters()
        elif isinstance(module, nn.Linear):
            module.reset_parameters()
        elif isinstance(module, (BasicBlock, Bottleneck)):
            module.zero_init_last()


class ResnetModel(ResnetPreTrainedModel):
    """The ResNet body: `forward(pixel_values)` -> `BaseModelOutputWithPoolingAndNoAttention` (`last_hidden_state`:
    the last feature map `(batch, channels, h, w)`, `pooler_output`: its global average `(batch, channels, 1, 1)`).

    Example:
        >>> import torch
        >>> from pretrained.models.resnet import ResnetConfig, ResnetModel
        >>> model = ResnetModel(ResnetConfig(block_type="basic", layers=[1, 1, 1, 1])).eval()
        >>> model(torch.zeros(1, 3, 32, 32)).last_hidden_state.shape
        torch.Size([1, 512, 1, 1])
    """

    def __init__(self, config: ResnetConfig) -> None:
        super().__init__(config)
        self.model = self._build_resnet(config)
        self.post_init()

    def forward(self, pixel_values: torch.Tensor, output_hidden_states: bool | None = None,
                return_dict: bool | None = None) -> BaseModelOutputWithPoolingAndNoAttention | tuple[torch.Tensor, ...]:
        flags = output_flags(self.config, False, output_hidden_states, return_dict)
        features, hidden = self._features(pixel_values, flags.output_hidden_states)
        output = BaseModelOutputWithPoolingAndNoAttention(
            last_hidden_state=features, pooler_output=features.mean(dim=(2, 3), keepdim=True), hidden_states=hidden)
        return returned(output, flags.return_dict)


class ResnetModelForImageClassification(ResnetPreTrainedModel):
    """ResNet with its classifier: `ImageClassifierOutputWithNoAttention` (`logits`, plus `loss` (cross-entropy)
    with `labels`).

    Example:
        >>> import torch
        >>> from pretrained.models.resnet import ResnetConfig, ResnetModelForImageClassification
        >>> m = ResnetModelForImageClassification(ResnetConfig(block_type="basic", layers=[1, 1, 1, 1], num_classes=5))
        >>> m(torch.zeros(2, 3, 32, 32)).logits.shape
        torch.Size([2, 5])
    """

    def __init__(self, config: ResnetConfig) -> None:
        super().__init__(config)
        self.model = self._build_resnet(config)
        self.post_init()

    def forward(self, pixel_values: torch.Tensor, labels: torch.Tensor | None = None,
                output_hidden_states: bool | None = None, return_dict: bool | None = None
                ) -> ImageClassifierOutputWithNoAttention | tuple[torch.Tensor, ...]:
        flags = output_flags(self.config, False, output_hidden_states, return_dict)
        features, hidden = self._features(pixel_values, flags.output_hidden_states)
        logits = self.model.forward_head(features)
        loss = None if labels is None else nn.functional.cross_entropy(logits, labels)
        return returned(ImageClassifierOutputWithNoAttention(loss=loss, logits=logits, hidden_states=hidden),
                        flags.return_dict)
