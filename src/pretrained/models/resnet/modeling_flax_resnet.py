"""timm's ResNet ported to Flax NNX: the same module names (so the canonical keys are timm's `state_dict` keys under
the `model.` prefix of the torch wrapper), NHWC inside, NCHW `pixel_values` in.

Every stem (`""`, `"deep"`, `"deep-tiered"`), basic and bottleneck blocks, `avg_down` (average pool with
`count_include_pad=False`, ceil mode), cardinality / base width (grouped convolutions) are supported. Convolutions
use explicit symmetric padding (PyTorch's), never `"SAME"`, so even input sizes give the same numbers as torch.

Example:
    >>> import jax.numpy as jnp
    >>> from pretrained.models.resnet import ResnetConfig, FlaxResnetModelForImageClassification
    >>> config = ResnetConfig(block_type="basic", layers=[1, 1, 1, 1], num_classes=3)
    >>> model = FlaxResnetModelForImageClassification(config).eval()
    >>> model(jnp.zeros((1, 3, 32, 32))).logits.shape
    (1, 3)
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx

from pretrained.flax.modeling import FlaxPreTrainedModel
from pretrained.outputs import (
    BaseModelOutputWithPoolingAndNoAttention,
    ImageClassifierOutputWithNoAttention,
    output_flags,
    returned,
)

from .configuration_resnet import ResnetConfig

_CONV_INIT = nnx.initializers.variance_scaling(2.0, "fan_out", "normal")  # kaiming_normal_(fan_out, relu)
_FC_INIT = nnx.initializers.variance_scaling(1.0 / 3.0, "fan_in", "uniform")  # torch's default Linear init


class _Factory:
    """Builds convolutions / batch norms with the model's dtypes, rngs and timm's hyper-parameters."""

    def __init__(self, rngs: nnx.Rngs, dtype: Any, param_dtype: Any) -> None:
        self.rngs, self.dtype, self.param_dtype = rngs, dtype, param_dtype

    def conv(self, cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1) -> nnx.Conv:
        pad = ((stride - 1) + (kernel - 1)) // 2  # timm's get_padding(kernel, stride, dilation=1)
        return nnx.Conv(cin, cout, (kernel, kernel), (stride, stride), padding=((pad, pad), (pad, pad)),
                        feature_group_count=groups, use_bias=False, kernel_init=_CONV_INIT, dtype=self.dtype,
                        param_dtype=self.param_dtype, rngs=self.rngs)

    def bn(self, channels: int, *, zero_init: bool = False) -> nnx.BatchNorm:
        kwargs = {"scale_init": nnx.initializers.zeros} if zero_init else {}
        return nnx.BatchNorm(channels, momentum=0.9, epsilon=1e-5, use_fast_variance=False, dtype=self.dtype,
                             param_dtype=self.param_dtype, rngs=self.rngs, **kwargs)


def _downsample(make: _Factory, cin: int, cout: int, stride: int, avg_down: bool) -> nnx.List:
    """timm's `downsample_conv` (`[conv, bn]`) or `downsample_avg` (`[pool, conv, bn]`, pool has no weights)."""
    if avg_down:
        return nnx.List([None, make.conv(cin, cout, 1), make.bn(cout)])
    return nnx.List([make.conv(cin, cout, 1, stride), make.bn(cout)])


def _shortcut(downsample: nnx.List | None, x: jax.Array, stride: int) -> jax.Array:
    if downsample is None:
        return x
    if len(downsample) == 3:  # avg_down: AvgPool2d(2, stride, ceil_mode=True, count_include_pad=False)
        if stride != 1:
            x = nnx.avg_pool(x, (2, 2), (stride, stride), padding="SAME", count_include_pad=False)
        return downsample[2](downsample[1](x))
    return downsample[1](downsample[0](x))


class FlaxBasicBlock(nnx.Module):
    expansion = 1

    def __init__(self, make: _Factory, cin: int, planes: int, stride: int, downsample: nnx.List | None,
                 cardinality: int = 1, base_width: int = 64) -> None:
        if cardinality != 1 or base_width != 64:
            raise ValueError("BasicBlock only supports cardinality=1 and base_width=64")
        self.stride = stride
        self.conv1 = make.conv(cin, planes, 3, stride)
        self.bn1 = make.bn(planes)
        self.conv2 = make.conv(planes, planes, 3)
        self.bn2 = make.bn(planes, zero_init=True)
        self.downsample = downsample

    def __call__(self, x: jax.Array) -> jax.Array:
        out = jax.nn.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return jax.nn.relu(out + _shortcut(self.downsample, x, self.stride))


class FlaxBottleneck(nnx.Module):
    expansion = 4

    def __init__(self, make: _Factory, cin: int, planes: int, stride: int, downsample: nnx.List | None,
                 cardinality: int = 1, base_width: int = 64) -> None:
        width = int(math.floor(planes * (base_width / 64)) * cardinality)
        self.stride = stride
        self.conv1 = make.conv(cin, width, 1)
        self.bn1 = make.bn(width)
        self.conv2 = make.conv(width, width, 3, stride, groups=cardinality)
        self.bn2 = make.bn(width)
        self.conv3 = make.conv(width, planes * 4, 1)
        self.bn3 = make.bn(planes * 4, zero_init=True)
        self.downsample = downsample

    def __call__(self, x: jax.Array) -> jax.Array:
        out = jax.nn.relu(self.bn1(self.conv1(x)))
        out = jax.nn.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return jax.nn.relu(out + _shortcut(self.downsample, x, self.stride))


BLOCKS = {"basic": FlaxBasicBlock, "bottleneck": FlaxBottleneck}


def _classifier(make: _Factory, features: int, num_classes: int) -> nnx.Linear:
    bound = 1.0 / math.sqrt(features)

    def bias_init(key: jax.Array, shape: tuple[int, ...], dtype: Any = jnp.float32) -> jax.Array:
        return jax.random.uniform(key, shape, dtype, -bound, bound)

    return nnx.Linear(features, num_classes, kernel_init=_FC_INIT, bias_init=bias_init, dtype=make.dtype,
                      param_dtype=make.param_dtype, rngs=make.rngs)


class FlaxResNet(nnx.Module):
    """The NNX twin of `timm.models.resnet.ResNet` (attribute names = timm's module names)."""

    def __init__(self, config: ResnetConfig, make: _Factory) -> None:
        block = BLOCKS[config.block_type]
        deep = "deep" in config.stem_type
        inplanes = config.stem_width * 2 if deep else 64
        if deep:
            first = 3 * (config.stem_width // 4) if "tiered" in config.stem_type else config.stem_width
            # torch's Sequential indices 2 and 5 are ReLUs: placeholders keep indices 0, 1, 3, 4, 6
            self.conv1 = nnx.List([
                make.conv(config.input_channels, first, 3, 2), make.bn(first), None,
                make.conv(first, config.stem_width, 3), make.bn(config.stem_width), None,
                make.conv(config.stem_width, inplanes, 3),
            ])
        else:
            self.conv1 = make.conv(config.input_channels, inplanes, 7, 2)
        self.bn1 = make.bn(inplanes)
        for stage, (planes, count) in enumerate(zip((64, 128, 256, 512), config.layers)):
            stride = 1 if stage == 0 else 2
            blocks = []
            for index in range(count):
                out = planes * block.expansion
                downsample = None
                if index == 0 and (stride != 1 or inplanes != out):
                    downsample = _downsample(make, inplanes, out, stride, config.avg_down)
                blocks.append(block(make, inplanes, planes, stride if index == 0 else 1, downsample,
                                    config.cardinality, config.base_width))
                inplanes = out
            setattr(self, f"layer{stage + 1}", nnx.List(blocks))
        self.num_features = inplanes
        self.fc = _classifier(make, inplanes, config.num_classes) if config.num_classes > 0 else None

    def forward_features(self, x: jax.Array, stages: list[jax.Array] | None = None) -> jax.Array:
        """NHWC image -> NHWC feature map (stem, max-pool, the four stages); `stages` receives the output of the stem
        and of each stage."""
        if isinstance(self.conv1, nnx.List):
            stem = self.conv1
            x = jax.nn.relu(stem[1](stem[0](x)))
            x = jax.nn.relu(stem[4](stem[3](x)))
            x = stem[6](x)
        else:
            x = self.conv1(x)
        x = jax.nn.relu(self.bn1(x))
        x = nnx.max_pool(x, (3, 3), (2, 2), padding=((1, 1), (1, 1)))  # pads with -inf, like torch
        if stages is not None:
            stages.append(x)
        for stage in (self.layer1, self.layer2, self.layer3, self.layer4):
            for block in stage:
                x = block(x)
            if stages is not None:
                stages.append(x)
        return x

    def forward_head(self, x: jax.Array) -> jax.Array:
        """NHWC feature map -> logits (global average pool, then `fc` when there is one)."""
        x = jnp.mean(x, axis=(1, 2))
        return x if self.fc is None else self.fc(x)


class FlaxResnetPreTrainedModel(FlaxPreTrainedModel):
    """Shared plumbing: config class, prefix, and the timm-layout core under `self.model`."""

    config_class = ResnetConfig
    base_model_prefix = "model"
    main_input_name = "pixel_values"

    def __init__(self, config: ResnetConfig, *, rngs: nnx.Rngs | int | None = None, dtype: Any = jnp.float32,
                 param_dtype: Any = jnp.float32) -> None:
        super().__init__(config, rngs=rngs, dtype=dtype, param_dtype=param_dtype)
        self.model = FlaxResNet(config, _Factory(self.rngs, self.dtype, self.param_dtype))
        self.post_init()

    def _features(self, pixel_values: jax.Array, output_hidden_states: bool) -> tuple[jax.Array, Any]:
        """The NHWC feature map, and (NCHW, like torch) the stem's and every stage's output on request."""
        x = jnp.transpose(jnp.asarray(pixel_values), (0, 2, 3, 1)).astype(self.dtype)  # NCHW -> NHWC
        stages: list[jax.Array] | None = [] if output_hidden_states else None
        features = self.model.forward_features(x, stages)
        hidden = None if stages is None else tuple(jnp.transpose(h, (0, 3, 1, 2)) for h in stages)
        return features, hidden


class FlaxResnetModel(FlaxResnetPreTrainedModel):
    """The ResNet body: `pixel_values` `(batch, channels, height, width)` -> `BaseModelOutputWithPoolingAndNoAttention`
    (`last_hidden_state`: the NCHW feature map of torch's `forward_features`; `pooler_output`: its global average
    `(batch, channels, 1, 1)`).

    Example:
        >>> import jax.numpy as jnp
        >>> from pretrained.models.resnet import ResnetConfig, FlaxResnetModel
        >>> model = FlaxResnetModel(ResnetConfig(block_type="basic", layers=[1, 1, 1, 1])).eval()
        >>> model(jnp.zeros((1, 3, 64, 64))).last_hidden_state.shape
        (1, 512, 2, 2)
    """

    def __call__(self, pixel_values: jax.Array, output_hidden_states: bool | None = None,
                 return_dict: bool | None = None) -> Any:
        flags = output_flags(self.config, False, output_hidden_states, return_dict)
        features, hidden = self._features(pixel_values, flags.output_hidden_states)
        output = BaseModelOutputWithPoolingAndNoAttention(
            last_hidden_state=jnp.transpose(features, (0, 3, 1, 2)),
            pooler_output=jnp.transpose(jnp.mean(features, axis=(1, 2), keepdims=True), (0, 3, 1, 2)),
            hidden_states=hidden)
        return returned(output, flags.return_dict)


class FlaxResnetModelForImageClassification(FlaxResnetPreTrainedModel):
    """The ResNet with its `fc` head: `ImageClassifierOutputWithNoAttention` (`logits`, plus `loss`
    (cross-entropy) with `labels`).

    Example:
        >>> import jax.numpy as jnp
        >>> from pretrained.models.resnet import ResnetConfig, FlaxResnetModelForImageClassification
        >>> model = FlaxResnetModelForImageClassification(ResnetConfig(block_type="basic", layers=[1, 1, 1, 1],
        ...                                                            num_classes=4)).eval()
        >>> model(jnp.zeros((2, 3, 32, 32)), labels=jnp.array([0, 3])).loss.shape
        ()
    """

    def __call__(self, pixel_values: jax.Array, labels: jax.Array | None = None,
                 output_hidden_states: bool | None = None, return_dict: bool | None = None) -> Any:
        flags = output_flags(self.config, False, output_hidden_states, return_dict)
        features, hidden = self._features(pixel_values, flags.output_hidden_states)
        logits = self.model.forward_head(features)
        loss = None
        if labels is not None:
            log_probs = jax.nn.log_softmax(logits.astype(jnp.float32), axis=-1)
            loss = -jnp.mean(jnp.take_along_axis(log_probs, jnp.asarray(labels).reshape(-1, 1), axis=-1))
        return returned(ImageClassifierOutputWithNoAttention(loss=loss, logits=logits, hidden_states=hidden),
                        flags.return_dict)


__all__ = ["FlaxResnetModel", "FlaxResnetModelForImageClassification", "FlaxResnetPreTrainedModel"]
