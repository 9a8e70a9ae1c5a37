"""timm's ResNet in TensorFlow (Keras 3): loads the PyTorch model's weights (canonical keys = timm's `state_dict`
keys with the torch wrapper's `model.` prefix).

Every stem (`""`, `"deep"`, `"deep-tiered"`), basic and bottleneck blocks, `avg_down` and grouped convolutions
(ResNeXt: `cardinality`, `base_width`). NHWC inside; the input is NCHW `pixel_values` like the PyTorch model.
Padding is explicit and symmetric as in PyTorch (never TensorFlow's `"same"`, which pads stride-2 layers
asymmetrically on even sizes), BatchNorm uses PyTorch's epsilon (1e-5) and momentum (0.1 = Keras 0.9).

Grouped convolutions: TensorFlow has no grouped-convolution kernel for CPU; Keras 3's TensorFlow backend compiles
`Conv2D(groups > 1)` with XLA (`jit_compile=True`) on its own, so ResNeXt runs on CPU without any flag (the first
call per input shape pays the XLA compilation).

Example:
    >>> import numpy as np
    >>> from pretrained.models.resnet import ResnetConfig, TFResnetModelForImageClassification
    >>> config = ResnetConfig(block_type="basic", layers=[1, 1, 1, 1], num_classes=3)
    >>> model = TFResnetModelForImageClassification(config)
    >>> tuple(model(np.zeros((2, 3, 32, 32), np.float32)).logits.shape)
    (2, 3)
"""

from __future__ import annotations

import math
from typing import Any

import keras
import numpy as np
from keras import ops

from pretrained.outputs import (
    BaseModelOutputWithPoolingAndNoAttention,
    ImageClassifierOutputWithNoAttention,
    output_flags,
    returned,
)
from pretrained.tf.modeling import TFPreTrainedModel
from pretrained.tf.variables import ContainerLayer, LayerList, declare_input_shape

from .configuration_resnet import ResnetConfig

_CONV_INIT = keras.initializers.VarianceScaling(scale=2.0, mode="fan_out", distribution="untruncated_normal")


class TFConv2d(keras.layers.Conv2D):
    """`Conv2D` with PyTorch's symmetric integer `padding` (zeros on every side), no bias by default."""

    def __init__(self, in_channels: int, filters: int, kernel_size: int, *, strides: int = 1, padding: int = 0,
                 groups: int = 1, use_bias: bool = False, **kwargs: Any) -> None:
        super().__init__(filters, kernel_size, strides=strides, padding="valid", groups=groups, use_bias=use_bias,
                         kernel_initializer=_CONV_INIT, **kwargs)
        self.torch_padding = padding
        self.in_channels = in_channels
        declare_input_shape(self, (None, None, None, in_channels))

    def call(self, inputs: Any) -> Any:
        p = self.torch_padding
        if p:
            inputs = ops.pad(inputs, [[0, 0], [p, p], [p, p], [0, 0]])
        return super().call(inputs)

    def compute_output_shape(self, input_shape: Any) -> Any:
        p = 2 * self.torch_padding
        n, h, w, c = input_shape
        return super().compute_output_shape((n, None if h is None else h + p, None if w is None else w + p, c))

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.pop("padding", None)
        config.pop("kernel_initializer", None)
        return {**config, "padding": self.torch_padding, "in_channels": self.in_channels}


def _bn(name: str, channels: int) -> keras.layers.BatchNormalization:
    layer = keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5, name=name)
    return declare_input_shape(layer, (None, None, None, channels))


def _downsample(inplanes: int, outplanes: int, stride: int, avg_down: bool) -> LayerList:
    """timm's `downsample_conv` (`0`: 1x1 conv with stride, `1`: BN) or `downsample_avg` (`0`: 2x2 average pool
    with ceil_mode and count_include_pad=False, i.e. Keras' `"same"` pooling, or identity; `1`: conv; `2`: BN)."""
    if not avg_down:
        return LayerList([TFConv2d(inplanes, outplanes, 1, strides=stride, name="0"), _bn("1", outplanes)],
                         name="downsample")
    pool = (keras.layers.AveragePooling2D(2, 2, padding="same", name="0") if stride != 1
            else keras.layers.Identity(name="0"))
    return LayerList([pool, TFConv2d(inplanes, outplanes, 1, name="1"), _bn("2", outplanes)], name="downsample")


class TFBasicBlock(ContainerLayer):
    """timm `BasicBlock`: 3x3 (stride) -> BN -> ReLU -> 3x3 -> BN, + shortcut, ReLU."""

    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: LayerList | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.conv1 = TFConv2d(inplanes, planes, 3, strides=stride, padding=1, name="conv1")
        self.bn1 = _bn("bn1", planes)
        self.conv2 = TFConv2d(planes, planes, 3, padding=1, name="conv2")
        self.bn2 = _bn("bn2", planes)
        self.downsample = downsample

    def call(self, x: Any, training: bool = False) -> Any:
        shortcut = x if self.downsample is None else self.downsample(x, training=training)
        x = ops.relu(self.bn1(self.conv1(x), training=training))
        x = self.bn2(self.conv2(x), training=training)
        return ops.relu(x + shortcut)


class TFBottleneck(ContainerLayer):
    """timm `Bottleneck` (ResNet v1.5, stride on the grouped 3x3): 1x1 -> 3x3 (groups) -> 1x1 (x4), + shortcut."""

    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: LayerList | None = None, *,
                 cardinality: int = 1, base_width: int = 64, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        width = int(math.floor(planes * (base_width / 64)) * cardinality)
        out = planes * self.expansion
        self.conv1 = TFConv2d(inplanes, width, 1, name="conv1")
        self.bn1 = _bn("bn1", width)
        self.conv2 = TFConv2d(width, width, 3, strides=stride, padding=1, groups=cardinality, name="conv2")
        self.bn2 = _bn("bn2", width)
        self.conv3 = TFConv2d(width, out, 1, name="conv3")
        self.bn3 = _bn("bn3", out)
        self.downsample = downsample

    def call(self, x: Any, training: bool = False) -> Any:
        shortcut = x if self.downsample is None else self.downsample(x, training=training)
        x = ops.relu(self.bn1(self.conv1(x), training=training))
        x = ops.relu(self.bn2(self.conv2(x), training=training))
        x = self.bn3(self.conv3(x), training=training)
        return ops.relu(x + shortcut)


def _stem(config: ResnetConfig) -> tuple[keras.layers.Layer, int]:
    """`conv1`: a 7x7/2 conv (always 64 wide), or timm's deep stem `Sequential(conv, BN, ReLU, conv, BN, ReLU, conv)`."""
    channels = config.input_channels
    if "deep" not in config.stem_type:
        return TFConv2d(channels, 64, 7, strides=2, padding=3, name="conv1"), 64
    width = config.stem_width
    first = 3 * (width // 4) if "tiered" in config.stem_type else width
    layers = [
        TFConv2d(channels, first, 3, strides=2, padding=1, name="0"), _bn("1", first), keras.layers.ReLU(name="2"),
        TFConv2d(first, width, 3, padding=1, name="3"), _bn("4", width), keras.layers.ReLU(name="5"),
        TFConv2d(width, width * 2, 3, padding=1, name="6"),
    ]
    return LayerList(layers, name="conv1"), width * 2


class TFResNet(ContainerLayer):
    """timm's `ResNet` module (`conv1`, `bn1`, `layer1`..`layer4`, `fc`), NHWC in and out."""

    def __init__(self, config: ResnetConfig, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        basic = config.block_type == "basic"
        block, expansion = (TFBasicBlock, 1) if basic else (TFBottleneck, 4)
        self.conv1, inplanes = _stem(config)
        self.bn1 = _bn("bn1", inplanes)
        extra = {} if basic else {"cardinality": config.cardinality, "base_width": config.base_width}
        for stage, (planes, count) in enumerate(zip((64, 128, 256, 512), config.layers)):
            stride = 1 if stage == 0 else 2
            blocks = []
            for i in range(count):
                downsample = None
                if i == 0 and (stride != 1 or inplanes != planes * expansion):
                    downsample = _downsample(inplanes, planes * expansion, stride, config.avg_down)
                blocks.append(block(inplanes, planes, stride if i == 0 else 1, downsample, name=str(i), **extra))
                inplanes = planes * expansion
            setattr(self, f"layer{stage + 1}", LayerList(blocks, name=f"layer{stage + 1}"))
        self.num_features = inplanes
        self.fc = None
        if config.num_classes > 0:
            self.fc = declare_input_shape(keras.layers.Dense(config.num_classes, name="fc"), (None, inplanes))

    def forward_features(self, x: Any, training: bool = False, stages: list[Any] | None = None) -> Any:
        """NHWC image -> NHWC feature map (stem, max-pool, the four stages); `stages` receives the output of the stem
        and of each stage."""
        x = ops.relu(self.bn1(self.conv1(x, training=training), training=training))
        x = ops.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]], constant_values=float("-inf"))
        x = ops.max_pool(x, 3, 2, padding="valid")
        if stages is not None:
            stages.append(x)
        for stage in (self.layer1, self.layer2, self.layer3, self.layer4):
            x = stage(x, training=training)
            if stages is not None:
                stages.append(x)
        return x

    def forward_head(self, x: Any) -> Any:
        """NHWC feature map -> logits (global average pool, then `fc` when there is one)."""
        x = ops.mean(x, axis=(1, 2))
        return x if self.fc is None else self.fc(x)

    def call(self, x: Any, training: bool = False) -> Any:
        return self.forward_head(self.forward_features(x, training=training))


class TFResnetPreTrainedModel(TFPreTrainedModel):
    """Shared plumbing: config class, prefix, dummy inputs and the timm-layout core under `self.model`."""

    config_class = ResnetConfig
    base_model_prefix = "model"
    main_input_name = "pixel_values"

    def __init__(self, config: ResnetConfig, *inputs: Any, **kwargs: Any) -> None:
        super().__init__(config, *inputs, **kwargs)
        self.model = TFResNet(config, name="model")

    @property
    def dummy_inputs(self) -> dict[str, Any]:
        return {"pixel_values": np.zeros((1, self.config.input_channels, 32, 32), np.float32)}

    def _open_axes(self, name: str, ndim: int) -> set[int]:
        return {0, 2, 3}  # batch and spatial sizes; channels are fixed by the weights

    def _features(self, pixel_values: Any, training: bool, output_hidden_states: bool) -> tuple[Any, Any]:
        """The NHWC feature map, and (NCHW, like torch) the stem's and every stage's output on request."""
        x = ops.transpose(ops.convert_to_tensor(pixel_values), (0, 2, 3, 1))  # NCHW -> NHWC
        stages: list[Any] | None = [] if output_hidden_states else None
        features = self.model.forward_features(x, training=training, stages=stages)
        hidden = None if stages is None else tuple(ops.transpose(h, (0, 3, 1, 2)) for h in stages)
        return features, hidden


class TFResnetModel(TFResnetPreTrainedModel):
    """The ResNet body: `pixel_values` `(batch, channels, height, width)` -> `BaseModelOutputWithPoolingAndNoAttention`
    (`last_hidden_state`: the NCHW feature map of timm's `forward_features`; `pooler_output`: its global average
    `(batch, channels, 1, 1)`).

    Example:
        >>> import numpy as np
        >>> from pretrained.models.resnet import ResnetConfig, TFResnetModel
        >>> model = TFResnetModel(ResnetConfig(block_type="basic", layers=[1, 1, 1, 1]))
        >>> tuple(model(np.zeros((1, 3, 64, 64), np.float32)).last_hidden_state.shape)
        (1, 512, 2, 2)
    """

    def call(self, pixel_values: Any, output_hidden_states: bool | None = None, return_dict: bool | None = None,
             training: bool = False) -> Any:
        flags = output_flags(self.config, False, output_hidden_states, return_dict)
        features, hidden = self._features(pixel_values, training, flags.output_hidden_states)
        output = BaseModelOutputWithPoolingAndNoAttention(
            last_hidden_state=ops.transpose(features, (0, 3, 1, 2)),
            pooler_output=ops.transpose(ops.mean(features, axis=(1, 2), keepdims=True), (0, 3, 1, 2)),
            hidden_states=hidden)
        return returned(output, flags.return_dict)


class TFResnetModelForImageClassification(TFResnetPreTrainedModel):
    """The ResNet with its `fc` head: `ImageClassifierOutputWithNoAttention` (`logits`, plus `loss` (mean
    cross-entropy) with `labels`).

    Example:
        >>> import numpy as np
        >>> from pretrained.models.resnet import ResnetConfig, TFResnetModelForImageClassification
        >>> model = TFResnetModelForImageClassification(ResnetConfig(block_type="basic", layers=[1, 1, 1, 1],
        ...                                                          num_classes=4))
        >>> tuple(model(np.zeros((2, 3, 32, 32), np.float32), labels=np.array([0, 3])).loss.shape)
        ()
    """

    def call(self, pixel_values: Any, labels: Any = None, output_hidden_states: bool | None = None,
             return_dict: bool | None = None, training: bool = False) -> Any:
        flags = output_flags(self.config, False, output_hidden_states, return_dict)
        features, hidden = self._features(pixel_values, training, flags.output_hidden_states)
        logits = self.model.forward_head(features)
        loss = None
        if labels is not None:
            loss = ops.mean(keras.losses.sparse_categorical_crossentropy(
                ops.reshape(ops.convert_to_tensor(labels), (-1,)), ops.cast(logits, "float32"), from_logits=True))
        return returned(ImageClassifierOutputWithNoAttention(loss=loss, logits=logits, hidden_states=hidden),
                        flags.return_dict)


__all__ = ["TFResNet", "TFResnetModel", "TFResnetModelForImageClassification", "TFResnetPreTrainedModel"]
