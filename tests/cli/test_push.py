"""`pretrained push` against a LocalHub: a real push, then --dry-run plans (add, change, delete, nothing)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

pytestmark = pytest.mark.xdist_group("cli")


def test_push_dry_run(local_hub, run_cli, checkpoints, tmp_path: Path) -> None:
    from huggingface_hub import HfApi

    work = tmp_path / "push"
    shutil.copytree(checkpoints["bin"], work)
    run_cli("push", str(work), "me/tiny-bert")
    assert "pytorch_model.bin.index.json" in HfApi().list_repo_files("me/tiny-bert")
    assert json.loads(run_cli("inspect", "me/tiny-bert", "--json").stdout)["format"] == "bin"  # a repo id
    fresh = run_cli("push", str(checkpoints["safe"]), "me/new-repo", "--dry-run").stdout
    assert "add     model.safetensors" in fresh and "add     config.json" in fresh
    plan = run_cli("push", str(checkpoints["safe"]), "me/tiny-bert", "--dry-run").stdout
    assert "add     model.safetensors" in plan and "delete  pytorch_model-00001-of-" in plan
    same = run_cli("push", str(work), "me/tiny-bert", "--dry-run").stdout
    assert "nothing to push" in same
    (work / "config.json").write_text((work / "config.json").read_text() + "\n")
    assert "change  config.json" in run_cli("push", str(work), "me/tiny-bert", "--dry-run", "--revision", "dev").stdout
    assert "model.safetensors" not in HfApi().list_repo_files("me/tiny-bert")  # dry runs upload nothing
