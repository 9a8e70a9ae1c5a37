"""`make demo` (the main job) keeps working: run examples/custom_resnet/demo.py end to end in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

DEMO = Path(__file__).resolve().parents[1] / "examples" / "custom_resnet" / "demo.py"


@pytest.mark.xdist_group("demo")
def test_demo_runs_end_to_end(tmp_path):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PRETRAINED_DISABLE_PROGRESS_BARS": "1",
           "HF_HUB_DISABLE_PROGRESS_BARS": "1", "TMPDIR": str(tmp_path)}
    result = subprocess.run([sys.executable, str(DEMO)], env=env, cwd=tmp_path, capture_output=True, text=True,
                            timeout=900, check=False)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    out = result.stdout
    assert "trust_remote_code=True, in a fresh process" in out and out.rstrip().endswith("demo ok")
    for backend in ("torch", "tf", "flax"):
        assert f"  {backend:5s} -> pretrained_modules." in out  # the class came from the Hub, not the library
