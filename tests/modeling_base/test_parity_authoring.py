"""The parity matrix, continued: authors' mistakes (tensors stored transposed, renamed weights, option typos of every
backend). Same machinery as `test_parity.py` (`_parity_matrix.py`): each scenario runs on torch, TF and Flax and must
give the same normalised outcome."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("torch")
pytest.importorskip("tensorflow")
pytest.importorskip("flax")

from _parity_matrix import BACKENDS, check_scenario, scenario, scenarios_of  # noqa: E402


def _rewrite(directory: Path, change: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
    from safetensors.numpy import load_file, save_file

    path = directory / "model.safetensors"
    save_file(change(load_file(path)), path, metadata={"format": "pt"})


INTERMEDIATE = "encoder.layer.0.intermediate.dense.weight"


@scenario(expected={"raises": "ShapeMismatchError", "message": "Error(s) in loading weights for BertModel from "
                    "<dir>: tensors stored transposed (a layout mismatch, not a size change: ignore_mismatched_sizes "
                    "would give a wrong model):"})
def transposed_tensor_is_a_layout_mismatch(b: Any, d: Path) -> Any:
    b.new().save_pretrained(d)
    _rewrite(d, lambda tensors: {**tensors, INTERMEDIATE: tensors[INTERMEDIATE].T.copy()})
    return b.load("BertModel", d)


@scenario(expected={"error": "ShapeMismatchError", "declares": True, "no_ignore_advice": True})
def transposed_tensor_refused_even_with_ignore_mismatched_sizes(b: Any, d: Path) -> Any:
    b.new().save_pretrained(d)
    _rewrite(d, lambda tensors: {**tensors, INTERMEDIATE: tensors[INTERMEDIATE].T.copy()})
    try:
        b.load("BertModel", d, ignore_mismatched_sizes=True)
    except Exception as exc:  # noqa: BLE001 - the outcome is the error
        text = str(exc)
        return {"error": type(exc).__name__, "declares": f"layout mismatch for {INTERMEDIATE}" in text
                and "canonical_layout = " in text, "no_ignore_advice": "Pass ignore_mismatched_sizes" not in text}
    return "loaded"


@scenario(expected={"missing": ["pooler.dense.weight"], "unexpected": ["pooler.proj.weight"],
                    "hint": "Same shapes, different names: probably renamed: pooler.dense.weight <-> "
                            "pooler.proj.weight (model <-> checkpoint). Rename the attribute (or the layer's name=), "
                            "or declare the key with a LayoutOverride."})
def renamed_weight_is_named(b: Any, d: Path) -> Any:
    b.new().save_pretrained(d)
    _rewrite(d, lambda t: {("pooler.proj.weight" if k == "pooler.dense.weight" else k): v for k, v in t.items()})
    _, info = b.load("BertModel", d, output_loading_info=True)
    try:
        b.load("BertModel", d, strict=True)
    except Exception as exc:  # noqa: BLE001
        hint = [line for line in str(exc).splitlines() if "probably renamed" in line]
    return {"missing": info["missing_keys"], "unexpected": info["unexpected_keys"], "hint": hint[0]}


@scenario(expected={"raises": "TypeError", "message": "BertModel.from_pretrained() got an unexpected keyword "
                    "argument 'output_loading_infos'; did you mean 'output_loading_info'?"})
def load_option_typo_names_the_option(b: Any, d: Path) -> Any:
    b.new().save_pretrained(d)
    return b.load("BertModel", d, output_loading_infos=True)


@pytest.mark.parametrize("name", scenarios_of(__name__))
def test_same_outcome_in_every_backend(name: str, tmp_path: Path) -> None:
    check_scenario(name, tmp_path)


@pytest.mark.parametrize(("backend", "typo", "suggestion"), [
    ("flax", "param_dtpye", "param_dtype"), ("flax", "_do_inti", "_do_init"), ("torch", "device_mapp", "device_map"),
])
def test_backend_only_option_typos_name_the_backend_option(backend: str, typo: str, suggestion: str,
                                                           tmp_path: Path) -> None:
    b = next(b for b in BACKENDS if b.name == backend)
    b.new().save_pretrained(tmp_path)
    with pytest.raises(TypeError, match=f"'{typo}'; did you mean '{suggestion}'"):
        b.load("BertModel", tmp_path, **{typo: None})
