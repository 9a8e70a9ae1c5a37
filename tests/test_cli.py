"""The `pretrained` console script, run for real in subprocesses: inspect, convert (legacy .bin / msgpack ->
safetensors, resharding, --to-backend, --check), diff exit codes, push --dry-run against a LocalHub."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from pretrained.models.bert import BertConfig, BertForMaskedLM  # noqa: E402

pytestmark = pytest.mark.xdist_group("cli")
SCRIPT = shutil.which("pretrained", path=str(Path(sys.executable).parent)) or shutil.which("pretrained")


def run(*args: str, check_rc: int | None = 0) -> subprocess.CompletedProcess:
    """Run the console script (the environment, LocalHub endpoint included, is inherited)."""
    assert SCRIPT, "the `pretrained` console script is not installed (pip install -e .)"
    env = {**os.environ, "PRETRAINED_DISABLE_PROGRESS_BARS": "1", "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([SCRIPT, *args], capture_output=True, text=True, timeout=300, env=env)
    if check_rc is not None:
        assert done.returncode == check_rc, f"rc={done.returncode}\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory) -> dict[str, Path]:
    """A tiny BERT MLM saved as safetensors and as sharded legacy .bin; and a second, different model."""
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


def test_inspect_json_reads_headers(checkpoints) -> None:
    report = json.loads(run("inspect", str(checkpoints["safe"]), "--json").stdout)
    assert report["format"] == "safetensors" and report["metadata_format"] == "pt"
    assert report["config"]["model_type"] == "bert" and report["config"]["hidden_size"] == 16
    assert report["parameters_by_module"].keys() == {"bert", "cls"}
    assert report["num_parameters"] == sum(report["parameters_by_module"].values())
    assert report["dtypes"]["float32"]["parameters"] == report["num_parameters"]
    legacy = json.loads(run("inspect", str(checkpoints["bin"]), "--json").stdout)
    assert legacy["format"] == "bin" and legacy["sharded"] and len(legacy["files"]) > 1
    assert legacy["num_parameters"] >= report["num_parameters"]  # v4 .bin may store tied copies
    text = run("inspect", str(checkpoints["safe"])).stdout
    assert "model_type:  bert" in text and "parameters:" in text


def test_convert_legacy_bin_reshards_and_checks(checkpoints) -> None:
    out = checkpoints["root"] / "converted"
    done = run("convert", str(checkpoints["bin"]), str(out), "--max-shard-size", "12KB", "--check",
               "--check-backends", "torch,torch")
    assert "max abs difference" in done.stdout and "ok" in done.stdout
    assert (out / "model.safetensors.index.json").is_file() and (out / "config.json").is_file()
    assert run("diff", str(checkpoints["bin"]), str(out)).stdout.strip() == "no differences"


def test_convert_to_backend_with_check(checkpoints) -> None:
    out = checkpoints["root"] / "via-flax"
    done = run("convert", str(checkpoints["safe"]), str(out), "--to-backend", "flax", "--check")
    assert "BertForMaskedLM (torch" in done.stdout and "FlaxBertForMaskedLM (flax" in done.stdout
    assert json.loads((out / "config.json").read_text())["architectures"] == ["BertForMaskedLM"]
    run("diff", str(checkpoints["safe"]), str(out))


def test_convert_flax_msgpack(checkpoints, tmp_path: Path) -> None:
    msgpack = pytest.importorskip("msgpack")
    from pretrained.models.bert import FlaxBertForMaskedLM

    model = FlaxBertForMaskedLM.from_pretrained(checkpoints["safe"])
    tree: dict = {}
    for var in model.canonical_variables():  # the Linen tree transformers v4 wrote
        node = tree
        for part in var.path[:-1]:
            node = node.setdefault(str(part), {})
        array = np.asarray(var.variable.get_value())
        node[str(var.path[-1])] = msgpack.ExtType(1, msgpack.packb((array.shape, array.dtype.name, array.tobytes()),
                                                                   use_bin_type=True))
    legacy = tmp_path / "legacy"
    legacy.mkdir()
    (legacy / "flax_model.msgpack").write_bytes(msgpack.packb(tree, use_bin_type=True))
    shutil.copy(checkpoints["safe"] / "config.json", legacy / "config.json")
    assert json.loads(run("inspect", str(legacy), "--json").stdout)["format"] == "msgpack"
    run("convert", str(legacy), str(tmp_path / "out"))
    assert run("diff", str(checkpoints["safe"]), str(tmp_path / "out")).stdout.strip() == "no differences"
    assert run("diff", str(legacy), str(checkpoints["safe"])).stdout.strip() == "no differences"


def test_diff_exit_codes(checkpoints) -> None:
    assert run("diff", str(checkpoints["safe"]), str(checkpoints["safe"])).returncode == 0
    done = run("diff", str(checkpoints["safe"]), str(checkpoints["other"]), "--json", check_rc=1)
    result = json.loads(done.stdout)
    assert result["values"] and not result["only_in_a"] and not result["shape_or_dtype"]
    missing = run("diff", str(checkpoints["safe"]), str(checkpoints["root"] / "nope"), check_rc=2)
    assert "nope" in missing.stderr and "Traceback" not in missing.stderr and len(missing.stderr.splitlines()) == 1
    assert run("convert", str(checkpoints["safe"]), check_rc=2).returncode == 2  # usage error


def test_h5_only_directory_is_an_actionable_error(tmp_path: Path) -> None:
    (tmp_path / "tf_model.h5").write_bytes(b"\x89HDF\r\n\x1a\n")
    done = run("convert", str(tmp_path), str(tmp_path / "out"), check_rc=2)
    assert "from_tf=True" in done.stderr and "tf_model.h5" in done.stderr and "Traceback" not in done.stderr


def test_push_dry_run(local_hub, checkpoints, tmp_path: Path) -> None:
    from huggingface_hub import HfApi

    work = tmp_path / "push"
    shutil.copytree(checkpoints["bin"], work)
    run("push", str(work), "me/tiny-bert")
    assert "pytorch_model.bin.index.json" in HfApi().list_repo_files("me/tiny-bert")
    assert json.loads(run("inspect", "me/tiny-bert", "--json").stdout)["format"] == "bin"  # a repo id
    fresh = run("push", str(checkpoints["safe"]), "me/new-repo", "--dry-run").stdout
    assert "add     model.safetensors" in fresh and "add     config.json" in fresh
    plan = run("push", str(checkpoints["safe"]), "me/tiny-bert", "--dry-run").stdout
    assert "add     model.safetensors" in plan and "delete  pytorch_model-00001-of-" in plan
    same = run("push", str(work), "me/tiny-bert", "--dry-run").stdout
    assert "nothing to push" in same
    (work / "config.json").write_text((work / "config.json").read_text() + "\n")
    assert "change  config.json" in run("push", str(work), "me/tiny-bert", "--dry-run", "--revision", "dev").stdout
    assert "model.safetensors" not in HfApi().list_repo_files("me/tiny-bert")  # dry runs upload nothing
