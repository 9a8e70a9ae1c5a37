"""TF ResNet: the common TF model tests, and logits equal to timm's own model on its weights (even and odd sizes)."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

pytest.importorskip("tensorflow")

from pretrained.models.resnet import (  # noqa: E402
    ResnetConfig,
    TFResnetModel,
    TFResnetModelForImageClassification,
)
from pretrained.testing.tf_mixin import TFModelTesterMixin  # noqa: E402

# timm name -> our config (the architecture timm builds for that name)
TIMM_LAYOUTS = {
    "resnet18": dict(block_type="basic", layers=[2, 2, 2, 2]),
    "resnet50d": dict(block_type="bottleneck", layers=[3, 4, 6, 3], stem_width=32, stem_type="deep", avg_down=True),
    "resnet26t": dict(block_type="bottleneck", layers=[2, 2, 2, 2], stem_width=32, stem_type="deep-tiered",
                      avg_down=True),
    "resnext50_32x4d": dict(block_type="bottleneck", layers=[3, 4, 6, 3], cardinality=32, base_width=4),
}


class TestTFResnet(TFModelTesterMixin):
    all_model_classes = (TFResnetModel, TFResnetModelForImageClassification)
    base_model_class = TFResnetModel
    test_twins = False  # the three backends are compared in tests/test_conversion.py (_Resnet)
    has_attentions = False
    expected_num_hidden_layers = 5  # the stem and the four stages
    test_resize_embeddings = False
    test_pruning = False
    shard_size = "200KB"

    def get_config(self) -> ResnetConfig:
        return ResnetConfig(block_type="bottleneck", layers=[1, 1, 1, 1], stem_type="deep", stem_width=16,
                            avg_down=True, cardinality=2, base_width=32, num_classes=5)

    def get_inputs(self, config: ResnetConfig) -> dict[str, np.ndarray]:
        return {"pixel_values": np.random.default_rng(0).normal(size=(1, 3, 33, 33)).astype(np.float32)}


def export_timm(name: str, directory) -> object:
    """A timm model with random weights and BatchNorm statistics, saved as our canonical checkpoint."""
    timm = pytest.importorskip("timm")
    torch = pytest.importorskip("torch")
    from safetensors.torch import save_file

    torch.manual_seed(0)
    model = timm.create_model(name, pretrained=False, num_classes=10).eval()
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            with torch.no_grad():  # zero_init_last would hide the residual branch: give every BN real values
                module.weight.uniform_(0.2, 0.6)
                module.bias.normal_(0, 0.1)
                module.running_mean.normal_(0, 0.1)
                module.running_var.uniform_(0.5, 1.5)
    state = {f"model.{k}": v.contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(directory / "model.safetensors"), metadata={"format": "pt"})
    ResnetConfig(num_classes=10, **TIMM_LAYOUTS[name]).save_pretrained(directory)
    return model


@pytest.mark.parametrize(
    ("name", "sizes"),
    [("resnet18", (64, 65)), ("resnet50d", (64, 65)), ("resnet26t", (224, 65)), ("resnext50_32x4d", (64, 65))],
)
def test_logits_equal_timm(name, sizes, tmp_path):
    import torch

    reference = export_timm(name, tmp_path)
    model, info = TFResnetModelForImageClassification.from_pretrained(tmp_path, output_loading_info=True)
    assert info == {"missing_keys": [], "unexpected_keys": [], "mismatched_keys": [], "error_msgs": []}
    for size in sizes:
        pixels = torch.randn(1, 3, size, size, generator=torch.Generator().manual_seed(size))
        with torch.no_grad():
            expected = reference(pixels).numpy()
        logits = model(pixels.numpy()).logits.numpy()
        assert np.abs(expected).max() > 1e-2  # not a degenerate comparison
        np.testing.assert_allclose(logits, expected, atol=1e-4, rtol=1e-4, err_msg=f"{name} at {size}px")
        features = TFResnetModel.from_pretrained(tmp_path) if size == sizes[0] and name == "resnet18" else None
        if features is not None:  # the body returns timm's forward_features, NCHW
            with torch.no_grad():
                np.testing.assert_allclose(features(pixels.numpy())[0].numpy(), reference.forward_features(pixels).numpy(),
                                           atol=1e-4)


def test_saved_keys_equal_timm_state_dict(tmp_path):
    """Saving from TF writes timm's keys (prefixed `model.`) with the same shapes and values."""
    from safetensors.numpy import load_file

    reference = export_timm("resnet26t", tmp_path)
    model = TFResnetModelForImageClassification.from_pretrained(tmp_path)
    model.save_pretrained(tmp_path / "again")
    saved = load_file(tmp_path / "again" / "model.safetensors")
    expected = {f"model.{k}": v.numpy() for k, v in reference.state_dict().items()}
    assert saved.keys() == expected.keys()
    for key, value in expected.items():
        np.testing.assert_array_equal(saved[key], value if not key.endswith("num_batches_tracked") else 0,
                                      err_msg=key)


def test_even_input_padding_is_symmetric():
    """A 7x7/2 conv on an even size pads 3 on every side (TensorFlow's "same" would pad (2, 3))."""
    config = ResnetConfig(block_type="basic", layers=[1, 1, 1, 1], num_classes=0)
    model = TFResnetModel(config)
    model.build_model()
    conv = model.model.conv1
    kernel = np.zeros(conv.kernel.shape, np.float32)
    kernel[0, 0, 0, 0] = 1.0  # picks the top-left tap: output[0, 0] = input[-3, -3] (zero padding)
    conv.kernel.assign(kernel)
    image = np.ones((1, 8, 8, 3), np.float32)
    out = conv(image).numpy()[0, :, :, 0]
    assert out.shape == (4, 4)
    np.testing.assert_array_equal(out[0], [0, 0, 0, 0])
    np.testing.assert_array_equal(out[2], [0, 0, 1, 1])
