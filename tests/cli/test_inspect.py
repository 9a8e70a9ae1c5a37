"""`pretrained inspect`: a summary read from the headers, as JSON and as text (directory, legacy .bin, repo id in
test_push.py)."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.xdist_group("cli")


def test_inspect_json_reads_headers(run_cli, checkpoints) -> None:
    report = json.loads(run_cli("inspect", str(checkpoints["safe"]), "--json").stdout)
    assert report["format"] == "safetensors" and report["metadata_format"] == "pt"
    assert report["config"]["model_type"] == "bert" and report["config"]["hidden_size"] == 16
    assert report["parameters_by_module"].keys() == {"bert", "cls"}
    assert report["num_parameters"] == sum(report["parameters_by_module"].values())
    assert report["dtypes"]["float32"]["parameters"] == report["num_parameters"]
    legacy = json.loads(run_cli("inspect", str(checkpoints["bin"]), "--json").stdout)
    assert legacy["format"] == "bin" and legacy["sharded"] and len(legacy["files"]) > 1
    assert legacy["num_parameters"] >= report["num_parameters"]  # v4 .bin may store tied copies
    text = run_cli("inspect", str(checkpoints["safe"])).stdout
    assert "model_type:  bert" in text and "parameters:" in text
