"""The extras smoke test's model check (tools/smoke_check.py, which `make smoke` runs in fresh venvs holding one
extra each) run here, in the dev environment, for every backend: the smoke test follows the library's API, so
`make test` catches it drifting (as it did when models started returning ModelOutputs) before CI's `make smoke`."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

TOOLS = Path(__file__).resolve().parents[2] / "tools"


def _smoke_check():
    spec = importlib.util.spec_from_file_location("smoke_check", TOOLS / "smoke_check.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("extra, framework", [("torch", "torch"), ("tf", "tensorflow"), ("flax", "flax")])
def test_round_trip_of_the_smoke_check(extra: str, framework: str, tmp_path: Path) -> None:
    pytest.importorskip(framework)
    if not Path(sys.executable).with_name("pretrained").exists():
        pytest.skip("the `pretrained` console script is not installed beside this interpreter")
    _smoke_check().round_trip(extra, tmp_path)
