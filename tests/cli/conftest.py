"""Fixtures of the `pretrained` command's tests: the console script, run for real in a subprocess, and small BERT
checkpoints to run it on."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

SCRIPT = shutil.which("pretrained", path=str(Path(sys.executable).parent)) or shutil.which("pretrained")

RunCli = Callable[..., subprocess.CompletedProcess]


@pytest.fixture(scope="session")
def run_cli() -> RunCli:
    """`run_cli(*args, check_rc=0)`: run the console script (the environment, LocalHub endpoint included, is
    inherited) and assert its exit code unless `check_rc=None`."""

    def run(*args: str, check_rc: int | None = 0) -> subprocess.CompletedProcess:
        assert SCRIPT, "the `pretrained` console script is not installed (pip install -e .)"
        env = {**os.environ, "PRETRAINED_DISABLE_PROGRESS_BARS": "1", "TF_CPP_MIN_LOG_LEVEL": "3"}
        done = subprocess.run([SCRIPT, *args], capture_output=True, text=True, timeout=300, env=env)
        if check_rc is not None:
            assert done.returncode == check_rc, f"rc={done.returncode}\n{done.stdout}\n{done.stderr}"
        return done

    return run


@pytest.fixture(scope="session")
def checkpoints(tmp_path_factory) -> dict[str, Path]:
    """A tiny BERT MLM saved as safetensors and as sharded legacy .bin; and a second, different model."""
    torch = pytest.importorskip("torch")
    from pretrained.models.bert import BertConfig, BertForMaskedLM

    root = tmp_path_factory.mktemp("cli")
    config = BertConfig(vocab_size=40, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=24, max_position_embeddings=16)
    torch.manual_seed(0)
    model = BertForMaskedLM(config).eval()
    model.save_pretrained(root / "safe")
    model.save_pretrained(root / "bin", safe_serialization=False, max_shard_size="10KB")
    torch.manual_seed(1)
    BertForMaskedLM(config).save_pretrained(root / "other")
    return {"safe": root / "safe", "bin": root / "bin", "other": root / "other", "root": root}
