"""The `pretrained` command on checkpoints that ship their code (a custom `model_type`): `--trust-remote-code`
lets `convert` / `convert --check` import it (in two backends); without it the refusal names the flag. And `diff` /
`convert` on bfloat16 and float16 tensors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.xdist_group("cli")

CONFIGURATION = '''
from pretrained import PretrainedConfig


class ShipConfig(PretrainedConfig):
    model_type = "{model_type}"

    def __init__(self, width=4, **kwargs):
        self.width = width
        super().__init__(**kwargs)
'''

MODELING = '''
from torch import nn
from pretrained.torch import PreTrainedModel
from .configuration_ship import ShipConfig


class ShipModel(PreTrainedModel):
    config_class = ShipConfig
    main_input_name = "pixel_values"

    def __init__(self, config):
        super().__init__(config)
        self.proj = nn.Linear(3, config.width)
        self.post_init()

    def forward(self, pixel_values):
        return self.proj(pixel_values.mean(dim=(2, 3)))
'''

MODELING_FLAX = '''
from flax import nnx
from pretrained.flax import FlaxPreTrainedModel, layer_defaults
from .configuration_ship import ShipConfig


class FlaxShipModel(FlaxPreTrainedModel):
    config_class = ShipConfig
    main_input_name = "pixel_values"

    def __init__(self, config, **kwargs):
        super().__init__(config, **kwargs)
        self.proj = nnx.Linear(3, config.width, **layer_defaults())
        self.post_init()

    def __call__(self, pixel_values):
        return self.proj(pixel_values.mean(axis=(2, 3)))
'''


def _shipped_checkpoint(root: Path) -> Path:
    """Saved by a user package that is *not* importable afterwards: only the shipped code can build it."""
    torch = pytest.importorskip("torch")
    package = f"ship_{uuid.uuid4().hex[:8]}"
    source = root / "src" / package
    source.mkdir(parents=True)
    (source / "__init__.py").write_text("")
    (source / "configuration_ship.py").write_text(CONFIGURATION.format(model_type=f"ship-{package}"))
    (source / "modeling_ship.py").write_text(MODELING)
    (source / "modeling_flax_ship.py").write_text(MODELING_FLAX)
    code = f"""
import torch
from {package}.configuration_ship import ShipConfig
from {package}.modeling_ship import ShipModel
ShipConfig.register_for_auto_class()
ShipModel.register_for_auto_class("AutoModel")
torch.manual_seed(0)
ShipModel(ShipConfig(architectures=["ShipModel"])).save_pretrained({str(root / "ckpt")!r})
"""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root / "src"), os.environ.get("PYTHONPATH", "")])}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, timeout=300)
    checkpoint = root / "ckpt"
    (checkpoint / "modeling_flax_ship.py").write_text(MODELING_FLAX)  # the Flax twin ships beside it
    config = json.loads((checkpoint / "config.json").read_text())
    config["auto_map"]["FlaxAutoModel"] = "modeling_flax_ship.FlaxShipModel"
    (checkpoint / "config.json").write_text(json.dumps(config))
    del torch
    return checkpoint


def test_convert_check_runs_shipped_code_only_with_the_flag(run_cli, tmp_path: Path, monkeypatch) -> None:
    pytest.importorskip("flax")
    monkeypatch.setenv("PRETRAINED_MODULES_CACHE", str(tmp_path / "modules"))
    checkpoint = _shipped_checkpoint(tmp_path)
    refused = run_cli("convert", str(checkpoint), str(tmp_path / "out"), "--to-backend", "flax", check_rc=None)
    assert refused.returncode != 0 and "--trust-remote-code" in refused.stderr
    assert "Traceback" not in refused.stderr
    done = run_cli("convert", str(checkpoint), str(tmp_path / "out"), "--to-backend", "flax", "--check",
                   "--check-backends", "torch,flax", "--trust-remote-code")
    assert "ShipModel (torch" in done.stdout and "FlaxShipModel (flax" in done.stdout and "- ok" in done.stdout
    assert run_cli("diff", str(checkpoint), str(tmp_path / "out")).stdout.strip() == "no differences"


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_diff_and_convert_read_half_precision(run_cli, tmp_path: Path, dtype: str) -> None:
    import ml_dtypes
    from safetensors.numpy import save_file

    numpy_dtype = np.dtype(ml_dtypes.bfloat16) if dtype == "bfloat16" else np.dtype(np.float16)
    base = np.arange(6, dtype=np.float32).reshape(2, 3)
    for name, values in (("a", base), ("b", base + 1)):
        (tmp_path / name).mkdir()
        save_file({"w": values.astype(numpy_dtype)}, str(tmp_path / name / "model.safetensors"),
                  metadata={"format": "pt"})
    differs = run_cli("diff", str(tmp_path / "a"), str(tmp_path / "b"), check_rc=1)
    assert "w: 1" in differs.stdout
    run_cli("convert", str(tmp_path / "a"), str(tmp_path / "c"))
    assert run_cli("diff", str(tmp_path / "a"), str(tmp_path / "c")).stdout.strip() == "no differences"
    torch = pytest.importorskip("torch")
    (tmp_path / "bin").mkdir()
    torch.save({"w": torch.tensor(base).to(getattr(torch, dtype))}, tmp_path / "bin" / "pytorch_model.bin")
    assert run_cli("diff", str(tmp_path / "a"), str(tmp_path / "bin")).stdout.strip() == "no differences"
