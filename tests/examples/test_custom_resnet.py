"""The demo's user package (examples/custom_resnet/resnet_model/) on its own: the config validates and round-trips;
each backend's model builds from it, and the TF / Flax ports load what the PyTorch model saved and agree with it."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

EXAMPLE_DIR = Path(__file__).resolve().parents[2] / "examples" / "custom_resnet"
TINY = {"block_type": "basic", "layers": [1, 1, 1, 1], "num_classes": 7, "stem_width": 16}
PORTS = {"tf": ("tensorflow", "modeling_tf_resnet", "TF"), "flax": ("flax", "modeling_flax_resnet", "Flax")}


def example_module(monkeypatch: pytest.MonkeyPatch, name: str) -> Any:
    """`resnet_model.<name>`, imported from the examples directory."""
    monkeypatch.syspath_prepend(str(EXAMPLE_DIR))
    return importlib.import_module(f"resnet_model.{name}")


@pytest.fixture(autouse=True)
def _forget_the_example_package() -> Any:
    yield
    for name in [m for m in sys.modules if m == "resnet_model" or m.startswith("resnet_model.")]:
        del sys.modules[name]


def test_config_validates_and_round_trips(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    ResnetConfig = example_module(monkeypatch, "configuration_resnet").ResnetConfig
    with pytest.raises(ValueError, match="block_type"):
        ResnetConfig(block_type="wide")
    ResnetConfig(**TINY).save_pretrained(tmp_path)
    loaded = ResnetConfig.from_pretrained(tmp_path)
    assert (loaded.model_type, loaded.layers, loaded.num_classes) == ("custom-resnet", [1, 1, 1, 1], 7)


@pytest.fixture
def torch_checkpoint(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> tuple[Path, np.ndarray, np.ndarray]:
    """The example's PyTorch model (tiny config), saved; an input and the logits it gives."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("timm")
    config_class = example_module(monkeypatch, "configuration_resnet").ResnetConfig
    model_class = example_module(monkeypatch, "modeling_resnet").ResnetModelForImageClassification
    torch.manual_seed(0)
    model = model_class(config_class(**TINY)).eval()
    pixels = np.random.default_rng(0).normal(size=(2, 3, 32, 32)).astype(np.float32)
    with torch.no_grad():
        logits = model(torch.from_numpy(pixels))["logits"].numpy()
    assert logits.shape == (2, 7)
    model.save_pretrained(tmp_path / "torch")
    return tmp_path / "torch", pixels, logits


@pytest.mark.parametrize("backend", sorted(PORTS))
def test_port_loads_the_torch_checkpoint(monkeypatch: pytest.MonkeyPatch, torch_checkpoint: Any, backend: str) -> None:
    framework, module, prefix = PORTS[backend]
    pytest.importorskip(framework)
    directory, pixels, expected = torch_checkpoint
    model_class = getattr(example_module(monkeypatch, module), f"{prefix}ResnetModelForImageClassification")
    model = model_class.from_pretrained(directory)
    assert type(model.config).__module__ == "resnet_model.configuration_resnet"
    np.testing.assert_allclose(np.asarray(model(pixels)["logits"]), expected, rtol=1e-4, atol=1e-4)
