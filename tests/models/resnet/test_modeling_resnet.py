"""ResNet (PyTorch, wrapping timm): equal to timm's own models, the common tests, losses."""

from __future__ import annotations

import pytest
import timm
import torch

from pretrained.models.resnet import ResnetConfig, ResnetModel, ResnetModelForImageClassification
from pretrained.testing.torch_mixin import TorchModelTesterMixin

TIMM_EQUIVALENTS = {
    "resnet18": dict(block_type="basic", layers=[2, 2, 2, 2]),
    "resnet26t": dict(block_type="bottleneck", layers=[2, 2, 2, 2], stem_width=32, stem_type="deep-tiered",
                      avg_down=True),
    "resnet50d": dict(block_type="bottleneck", layers=[3, 4, 6, 3], stem_width=32, stem_type="deep", avg_down=True),
    "resnext50_32x4d": dict(block_type="bottleneck", layers=[3, 4, 6, 3], cardinality=32, base_width=4),
}


def small_config(**kwargs) -> ResnetConfig:
    return ResnetConfig(**{"block_type": "basic", "layers": [1, 1, 1, 1], "num_classes": 5, **kwargs})


class TestResnetCommon(TorchModelTesterMixin):
    model_classes = (ResnetModel, ResnetModelForImageClassification)
    base_model_class = ResnetModel
    test_twins = False  # the three backends are compared in tests/test_conversion.py (_Resnet)
    has_attentions = False
    expected_num_hidden_layers = 5  # the stem and the four stages
    shard_size = "200KB"

    def prepare_config_and_inputs(self):
        torch.manual_seed(0)
        return small_config(), {"pixel_values": torch.randn(2, 3, 32, 32)}


@pytest.mark.parametrize("name", sorted(TIMM_EQUIVALENTS))
def test_logits_equal_timm(name, tmp_path):
    torch.manual_seed(0)
    reference = timm.create_model(name, pretrained=False).eval()
    ours = ResnetModelForImageClassification(ResnetConfig(**TIMM_EQUIVALENTS[name])).eval()
    missing = ours.model.load_state_dict(reference.state_dict())
    assert not missing.missing_keys and not missing.unexpected_keys
    pixels = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        expected = reference(pixels)
        assert torch.equal(ours(pixels).logits, expected)
    if name == "resnet50d":  # one full-size save / load round trip: weights bit-exact
        ours.save_pretrained(tmp_path)
        loaded = ResnetModelForImageClassification.from_pretrained(tmp_path)
        for key, value in ours.state_dict().items():
            assert torch.equal(loaded.state_dict()[key], value), key
        with torch.no_grad():  # memory-mapped weights are 8-byte aligned: SIMD paths may differ in the last bit
            torch.testing.assert_close(loaded(pixels).logits, expected, atol=1e-6, rtol=0)


def test_base_model_returns_feature_map():
    model = ResnetModel(small_config()).eval()
    with torch.no_grad():
        features = model(torch.randn(1, 3, 64, 64)).last_hidden_state
    assert features.shape == (1, 512, 2, 2)


def test_classifier_loss_is_cross_entropy():
    model = ResnetModelForImageClassification(small_config()).eval()
    labels = torch.tensor([1, 4])
    with torch.no_grad():
        out = model(torch.randn(2, 3, 32, 32), labels=labels)
    torch.testing.assert_close(out.loss, torch.nn.functional.cross_entropy(out.logits, labels))
    assert list(out) == ["loss", "logits"]


def test_init_weights_match_timm_rules():
    model = ResnetModel(small_config(block_type="bottleneck"))
    block = model.model.layer1[0]
    assert torch.all(block.bn3.weight == 0)  # zero_init_last, as timm
    assert torch.all(block.bn1.weight == 1)
    std = float(model.model.conv1.weight.std())
    assert abs(std - (2 / (64 * 49)) ** 0.5) < 0.01  # kaiming normal, fan_out


def test_num_classes_mismatch_needs_ignore_mismatched_sizes(tmp_path):
    from pretrained.errors import ShapeMismatchError

    ResnetModelForImageClassification(small_config()).save_pretrained(tmp_path)
    with pytest.raises(ShapeMismatchError, match=r"model\.fc\.weight: checkpoint \[5, 512\] vs model \[7, 512\]"):
        ResnetModelForImageClassification.from_pretrained(tmp_path, num_classes=7)
    model, info = ResnetModelForImageClassification.from_pretrained(
        tmp_path, num_classes=7, ignore_mismatched_sizes=True, output_loading_info=True
    )
    assert {k for k, _, _ in info["mismatched_keys"]} == {"model.fc.weight", "model.fc.bias"}
    assert model.model.fc.weight.shape == (7, 512) and torch.isfinite(model.model.fc.weight).all()


def test_gradient_checkpointing_uses_timm_hook():
    model = ResnetModel(small_config())
    model.gradient_checkpointing_enable()
    assert model.model.grad_checkpointing and model.is_gradient_checkpointing
