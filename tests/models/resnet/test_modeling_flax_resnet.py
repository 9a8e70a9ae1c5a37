"""Flax ResNet: the common Flax tests, and logits equal to timm's own ResNet for every layout."""

from __future__ import annotations

from pathlib import Path

import jax.numpy as jnp
import numpy as np
import pytest

from pretrained.models.resnet import FlaxResnetModel, FlaxResnetModelForImageClassification, ResnetConfig
from pretrained.testing.flax_mixin import FlaxModelTesterMixin

LAYOUTS = {
    "resnet18": dict(block_type="basic", layers=[2, 2, 2, 2]),
    "resnet50d": dict(block_type="bottleneck", layers=[3, 4, 6, 3], stem_width=32, stem_type="deep", avg_down=True),
    "resnet26t": dict(block_type="bottleneck", layers=[2, 2, 2, 2], stem_width=32, stem_type="deep-tiered",
                      avg_down=True),
    "resnext50_32x4d": dict(block_type="bottleneck", layers=[3, 4, 6, 3], cardinality=32, base_width=4),
}


class TestFlaxResnet(FlaxModelTesterMixin):
    all_model_classes = (FlaxResnetModel, FlaxResnetModelForImageClassification)
    base_model_class = FlaxResnetModel
    test_twins = False  # the three backends are compared in tests/test_conversion.py (_Resnet)
    has_attentions = False
    expected_num_hidden_layers = 5  # the stem and the four stages
    test_resize_embeddings = False
    test_pruning = False
    shard_size = "200KB"

    def get_config(self) -> ResnetConfig:
        return ResnetConfig(block_type="basic", layers=[1, 1, 1, 1], stem_type="deep", stem_width=8, avg_down=True,
                            num_classes=3)

    def get_inputs(self, config: ResnetConfig) -> dict[str, np.ndarray]:
        return {"pixel_values": np.random.default_rng(0).normal(size=(2, 3, 33, 33)).astype(np.float32)}


def _timm_checkpoint(name: str, directory: Path) -> object:
    torch = pytest.importorskip("torch")
    timm = pytest.importorskip("timm")
    from safetensors.torch import save_file

    torch.manual_seed(0)
    reference = timm.create_model(name, pretrained=False, num_classes=10).eval()
    with torch.no_grad():
        for module in reference.modules():
            if isinstance(module, torch.nn.BatchNorm2d):  # random running statistics and affine weights
                module.running_mean.normal_(0, 0.1)
                module.running_var.uniform_(1.0, 2.0)
                module.weight.uniform_(0.5, 1.0)
                module.bias.normal_(0, 0.1)
    tensors = {f"model.{k}": v.contiguous() for k, v in reference.state_dict().items()}
    save_file(tensors, str(directory / "model.safetensors"), metadata={"format": "pt"})
    ResnetConfig(num_classes=10, **LAYOUTS[name]).save_pretrained(directory)
    return reference


@pytest.mark.parametrize(
    ("name", "sizes"),
    [("resnet18", (64, 224)), ("resnet50d", (65,)), ("resnet26t", (64,)), ("resnext50_32x4d", (65,))],
)
def test_logits_match_timm(name: str, sizes: tuple[int, ...], tmp_path: Path) -> None:
    import torch

    reference = _timm_checkpoint(name, tmp_path)
    model, info = FlaxResnetModelForImageClassification.from_pretrained(tmp_path, output_loading_info=True)
    assert info["missing_keys"] == [] and info["unexpected_keys"] == []
    for size in sizes:
        pixels = torch.randn(1, 3, size, size, generator=torch.Generator().manual_seed(size))
        with torch.no_grad():
            expected = reference(pixels).numpy()
        logits = np.asarray(model(jnp.asarray(pixels.numpy())).logits)
        np.testing.assert_allclose(logits, expected, atol=1e-4, rtol=0, err_msg=f"{name} at {size}px")


def test_keys_are_timm_keys() -> None:
    timm = pytest.importorskip("timm")
    from flax import nnx

    from pretrained.layout import num_batches_tracked_key

    reference = timm.create_model("resnet50d", pretrained=False, num_classes=10)
    config = ResnetConfig(num_classes=10, **LAYOUTS["resnet50d"])
    abstract = nnx.eval_shape(lambda: FlaxResnetModelForImageClassification(config, rngs=nnx.Rngs(0)))
    shapes = {}
    for var in abstract.canonical_variables():  # no weights needed: the abstract model knows every key and shape
        shapes[var.key] = var.canonical_shape
        tracked = num_batches_tracked_key(var.key)
        if tracked:
            shapes[tracked] = ()
    assert shapes == {f"model.{k}": tuple(v.shape) for k, v in reference.state_dict().items()}


def test_features_are_nchw_and_eval_mode(tmp_path: Path) -> None:
    config = ResnetConfig(block_type="basic", layers=[1, 1, 1, 1], num_classes=0)
    model = FlaxResnetModel(config)
    assert model.model.fc is None and not any(k.startswith("model.fc") for k in model.canonical_state_dict())
    model.save_pretrained(tmp_path)
    loaded = FlaxResnetModel.from_pretrained(tmp_path)
    assert loaded.model.bn1.use_running_average  # from_pretrained returns eval mode
    assert loaded(jnp.zeros((1, 3, 64, 64))).last_hidden_state.shape == (1, 512, 2, 2)
    assert loaded.num_parameters() == sum(int(np.prod(t.shape)) for k, t in loaded.canonical_state_dict().items()
                                          if not k.endswith(("running_mean", "running_var", "num_batches_tracked")))
