"""Runs inside a fresh venv that holds the built wheel with ONE extra (`tools/smoke_extras.py` drives it).

Usage: python smoke_check.py {torch|tf|flax} WORKDIR

Checks, as a user who ran `pip install "pretrained[EXTRA]"` would see it:
- `import pretrained` comes from the installed wheel and imports no framework;
- the backend's ResNet builds, runs, saves (canonical safetensors) and loads back to the same outputs;
- the `pretrained` command works on the saved checkpoint;
- the two absent backends raise `MissingBackendError` naming their extra, through every public door
  (the top-level name, the backend package, the model class).
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

FRAMEWORKS = ("torch", "tensorflow", "keras", "jax", "flax")
DOORS = {  # extra -> (top-level name, backend package, model class in pretrained.models.resnet)
    "torch": ("PreTrainedModel", "pretrained.torch", "ResnetModel"),
    "tf": ("TFPreTrainedModel", "pretrained.tf", "TFResnetModel"),
    "flax": ("FlaxPreTrainedModel", "pretrained.flax", "FlaxResnetModel"),
}


def check_core() -> None:
    import pretrained

    assert pretrained.__file__.startswith(sys.prefix), f"pretrained imported from {pretrained.__file__}, not the venv"
    loaded = [name for name in FRAMEWORKS if name in sys.modules]
    assert not loaded, f"`import pretrained` imported {loaded}"


def round_trip(extra: str, workdir: Path) -> None:
    from pretrained.models.resnet import ResnetConfig

    config = ResnetConfig(block_type="basic", layers=[1, 1, 1, 1], stem_width=8, num_classes=3)
    pixels = np.random.default_rng(0).normal(size=(2, 3, 32, 32)).astype(np.float32)
    path = workdir / f"resnet-{extra}"
    if extra == "torch":
        import torch

        from pretrained.models.resnet import ResnetModel

        model = ResnetModel(config).eval()
        model.save_pretrained(path)
        loaded = ResnetModel.from_pretrained(path).eval()
        with torch.no_grad():
            before, after = (m(torch.from_numpy(pixels)).last_hidden_state.numpy() for m in (model, loaded))
        # bfloat16 weights are written and read back as bfloat16
        model.to(torch.bfloat16).save_pretrained(workdir / "resnet-bf16")
        half = ResnetModel.from_pretrained(workdir / "resnet-bf16", dtype="auto")
        assert next(half.parameters()).dtype == torch.bfloat16, next(half.parameters()).dtype
    elif extra == "tf":
        from pretrained.models.resnet import TFResnetModel

        model = TFResnetModel(config)
        before = np.asarray(model(pixels).last_hidden_state)
        model.save_pretrained(path)
        after = np.asarray(TFResnetModel.from_pretrained(path)(pixels).last_hidden_state)
    else:
        from pretrained.models.resnet import FlaxResnetModel

        model = FlaxResnetModel(config, rngs=0)
        model.eval()
        before = np.asarray(model(pixels).last_hidden_state)
        model.save_pretrained(path)
        loaded = FlaxResnetModel.from_pretrained(path)
        loaded.eval()
        after = np.asarray(loaded(pixels).last_hidden_state)
    assert before.shape == after.shape and before.shape[0] == 2, (before.shape, after.shape)
    np.testing.assert_allclose(after, before, rtol=1e-5, atol=1e-5)
    assert (path / "model.safetensors").is_file() and json.loads((path / "config.json").read_text())["model_type"]
    # the console script is installed and reads the checkpoint
    cli = Path(sys.executable).with_name("pretrained")
    out = subprocess.run([str(cli), "inspect", "--json", str(path)], capture_output=True, text=True, check=True)
    report = json.loads(out.stdout)
    assert report["num_tensors"] > 0 and report["config"]["model_type"] == "resnet", out.stdout[:2000]


def check_absent(extra: str) -> None:
    import pretrained
    import pretrained.models.resnet as resnet
    from pretrained.errors import MissingBackendError

    for other, (top_name, package, model_name) in DOORS.items():
        if other == extra:
            continue
        hint = f"pretrained[{other}]"
        doors = {
            f"pretrained.{top_name}": lambda n=top_name: getattr(pretrained, n),
            f"import {package}": lambda p=package: importlib.import_module(p),
            f"pretrained.models.resnet.{model_name}": lambda n=model_name: getattr(resnet, n),
        }
        for door, open_door in doors.items():
            try:
                open_door()
            except MissingBackendError as exc:
                assert hint in str(exc), f"{door}: the error does not name {hint}: {exc}"
            except Exception as exc:  # noqa: BLE001 - any other type is the failure being checked for
                raise AssertionError(f"{door}: expected MissingBackendError naming {hint}, got {exc!r}") from exc
            else:
                raise AssertionError(f"{door}: no error without the [{other}] extra")


def main() -> None:
    extra, workdir = sys.argv[1], Path(sys.argv[2])
    check_core()
    check_absent(extra)  # before the round trip, so nothing has been imported yet that could mask a failure
    round_trip(extra, workdir)
    print(f"[{extra}] ok")


if __name__ == "__main__":
    main()
