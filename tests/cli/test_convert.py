"""`pretrained convert`: transformers v4's .bin / tf_model.h5 / msgpack -> canonical safetensors, resharding,
--to-backend, --check; a damaged h5 is an input error that writes nothing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.xdist_group("cli")


def test_convert_legacy_bin_reshards_and_checks(run_cli, checkpoints) -> None:
    out = checkpoints["root"] / "converted"
    done = run_cli("convert", str(checkpoints["bin"]), str(out), "--max-shard-size", "12KB", "--check",
                   "--check-backends", "torch,torch")
    assert "max abs difference" in done.stdout and "ok" in done.stdout
    assert (out / "model.safetensors.index.json").is_file() and (out / "config.json").is_file()
    assert run_cli("diff", str(checkpoints["bin"]), str(out)).stdout.strip() == "no differences"


def test_convert_to_backend_with_check(run_cli, checkpoints) -> None:
    out = checkpoints["root"] / "via-flax"
    done = run_cli("convert", str(checkpoints["safe"]), str(out), "--to-backend", "flax", "--check")
    assert "BertForMaskedLM (torch" in done.stdout and "FlaxBertForMaskedLM (flax" in done.stdout
    assert json.loads((out / "config.json").read_text())["architectures"] == ["BertForMaskedLM"]
    run_cli("diff", str(checkpoints["safe"]), str(out))


def test_convert_flax_msgpack(run_cli, checkpoints, tmp_path: Path) -> None:
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
    assert json.loads(run_cli("inspect", str(legacy), "--json").stdout)["format"] == "msgpack"
    run_cli("convert", str(legacy), str(tmp_path / "out"))
    assert run_cli("diff", str(checkpoints["safe"]), str(tmp_path / "out")).stdout.strip() == "no differences"
    assert run_cli("diff", str(legacy), str(checkpoints["safe"])).stdout.strip() == "no differences"


FIXTURES = Path(__file__).resolve().parents[1] / "models" / "bert" / "fixtures"


def test_convert_v4_tf_h5_matches_transformers_own_safetensors(run_cli, tmp_path: Path) -> None:
    pytest.importorskip("h5py")
    source = FIXTURES / "transformers_tf_bert_tiny_mlm"  # sharded tf_model.h5, as transformers v4 wrote it
    assert json.loads(run_cli("inspect", str(source), "--json").stdout)["format"] == "h5"
    done = run_cli("convert", str(source), str(tmp_path / "out"), "--check", "--check-backends", "torch,flax")
    assert "from h5" in done.stdout and "ok" in done.stdout
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["config.json", "model.safetensors"]
    assert run_cli("diff", str(source), str(tmp_path / "out")).stdout.strip() == "no differences"


def test_damaged_h5_is_an_input_error_and_writes_nothing(run_cli, tmp_path: Path) -> None:
    (tmp_path / "tf_model.h5").write_bytes(b"\x89HDF\r\n\x1a\n")
    done = run_cli("convert", str(tmp_path), str(tmp_path / "out"), check_rc=2)
    assert "tf_model.h5" in done.stderr and "HDF5" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "out").exists()
