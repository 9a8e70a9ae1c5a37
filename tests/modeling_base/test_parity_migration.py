"""Rows of the parity matrix for migrating from transformers v4: v4's `tf_model.h5` (single and sharded) and
`flax_model.msgpack` (single and sharded) checkpoints, as transformers 4.57.6 wrote them, load flag-free in every
backend with v4's outputs; every bad h5 gets the same outcome in every backend; the TF-only `saved_model` option is
refused the same way by torch and Flax."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("tensorflow")
pytest.importorskip("flax")
h5py = pytest.importorskip("h5py")

from _parity_matrix import Backend, check_scenario, files, report, same_state, scenario, scenarios_of  # noqa: E402

from pretrained.conversion import run_model  # noqa: E402
from pretrained.layout import LayoutOverride  # noqa: E402

FIXTURES = Path(__file__).resolve().parents[1] / "models" / "bert" / "fixtures"
CLEAN = {"missing": [], "unexpected": [], "mismatched": [], "errors": 0}
CLASSIFIER = "classifier/tf_bert_for_sequence_classification/classifier"


def agrees_with_v4(model: Any, fixture: str) -> bool:
    """The model's outputs on the fixture's inputs equal the outputs transformers v4 recorded."""
    recorded = np.load(FIXTURES / fixture / "outputs.npz")
    inputs = {name: recorded[name] for name in ("input_ids", "attention_mask", "token_type_ids")}
    names = [name for name in recorded.files if name not in inputs]
    outputs = run_model(model, inputs)
    return all(np.allclose(out, recorded[name], atol=1e-5, rtol=0) for out, name in zip(outputs, names))


def copy_fixture(fixture: str, d: Path) -> Path:
    return Path(shutil.copytree(FIXTURES / fixture, d / fixture))


def edit_h5(path: Path, change) -> None:
    with h5py.File(path, "a") as handle:
        change(handle)


def set_names(node: Any, attribute: str, rewrite) -> None:
    """Rewrite a Keras 2 list-of-names attribute (`layer_names`, `weight_names`) with `rewrite(list of str)`."""
    old = [name.decode() if isinstance(name, bytes) else str(name) for name in node.attrs[attribute]]
    node.attrs[attribute] = [name.encode() for name in rewrite(old)]


# ============================================================================================== v4 checkpoints
@scenario(expected={"report": CLEAN, "v4_outputs": True})
def load_v4_tf_h5(b: Backend, d: Path) -> Any:
    model, info = b.load("BertForSequenceClassification", FIXTURES / "transformers_tf_bert_tiny_cls",
                         output_loading_info=True)
    return {"report": report(info), "v4_outputs": agrees_with_v4(model, "transformers_tf_bert_tiny_cls")}


@scenario(expected={"report": CLEAN, "v4_outputs": True, "canonical": True})
def load_v4_sharded_tf_h5(b: Backend, d: Path) -> Any:
    model, info = b.load("BertForMaskedLM", FIXTURES / "transformers_tf_bert_tiny_mlm", output_loading_info=True)
    canonical = b.load("BertForMaskedLM", FIXTURES / "transformers_bert_tiny_mlm")  # v4's torch save of the same
    return {"report": report(info), "v4_outputs": agrees_with_v4(model, "transformers_tf_bert_tiny_mlm"),
            "canonical": set(Backend.state(model)) == set(Backend.state(canonical))}


@scenario(expected={"missing": ["pooler.dense.bias", "pooler.dense.weight"],
                    "unexpected": ["cls.predictions.bias", "cls.predictions.transform.LayerNorm.bias",
                                   "cls.predictions.transform.LayerNorm.weight",
                                   "cls.predictions.transform.dense.bias", "cls.predictions.transform.dense.weight"],
                    "mismatched": [], "errors": 0})
def load_v4_tf_h5_head_into_base(b: Backend, d: Path) -> Any:
    _, info = b.load("BertModel", FIXTURES / "transformers_tf_bert_tiny_mlm", output_loading_info=True)
    return report(info)


@scenario(expected={"report": CLEAN, "v4_outputs": True})
def load_v4_flax_msgpack(b: Backend, d: Path) -> Any:
    model, info = b.load("BertForMaskedLM", FIXTURES / "transformers_flax_bert_tiny_mlm", output_loading_info=True)
    return {"report": report(info), "v4_outputs": agrees_with_v4(model, "transformers_flax_bert_tiny_mlm")}


@scenario(expected={"report": CLEAN, "v4_outputs": True})
def load_v4_sharded_flax_msgpack(b: Backend, d: Path) -> Any:
    model, info = b.load("BertModel", FIXTURES / "transformers_flax_bert_tiny", output_loading_info=True)
    return {"report": report(info), "v4_outputs": agrees_with_v4(model, "transformers_flax_bert_tiny")}


@scenario(expected={"report": CLEAN, "v4_outputs": True})
def load_canonical_state_from_a_v4_h5(b: Backend, d: Path) -> Any:
    model = b.new("BertModel", vocab_size=99, hidden_size=32, intermediate_size=37)
    info = model.load_canonical_state(FIXTURES / "transformers_tf_bert_tiny", strict=True)
    return {"report": report(info.as_dict()), "v4_outputs": agrees_with_v4(model, "transformers_tf_bert_tiny")}


@scenario(expected={"resaved": True, "files": ["config.json", "model.safetensors"]})
def resave_a_v4_h5_as_canonical(b: Backend, d: Path) -> Any:
    model = b.load("BertForSequenceClassification", FIXTURES / "transformers_tf_bert_tiny_cls")
    model.save_pretrained(d / "canonical")
    return {"resaved": same_state(model, b.load("BertForSequenceClassification", d / "canonical")),
            "files": files(d / "canonical")}


@scenario(expected={"report": CLEAN, "v4_outputs": True})
def legacy_weight_overrides_rename(b: Backend, d: Path) -> Any:
    """A model whose v4 Keras layer was named differently from its PyTorch module declares the rename once."""
    path = copy_fixture("transformers_tf_bert_tiny_cls", d)

    def rename(handle) -> None:
        handle.move("classifier", "out_proj")
        group = handle["out_proj"]
        group.move("tf_bert_for_sequence_classification/classifier", "tf_bert_for_sequence_classification/out_proj")
        set_names(group, "weight_names", lambda names: [n.replace("/classifier/", "/out_proj/") for n in names])
        set_names(handle, "layer_names", lambda names: [n.replace("classifier", "out_proj") for n in names])

    edit_h5(path / "tf_model.h5", rename)
    base = b.cls("BertForSequenceClassification")
    renamed = type(base.__name__, (base,), {
        "_legacy_weight_overrides": [LayoutOverride(r"out_proj\.(weight|bias)", r"classifier.\1", "kernel")]})
    model, info = renamed.from_pretrained(path, output_loading_info=True)
    return {"report": report(info), "v4_outputs": agrees_with_v4(model, "transformers_tf_bert_tiny_cls")}


@scenario(expected=True)
def use_safetensors_false_reads_h5(b: Backend, d: Path) -> Any:
    directory = FIXTURES / "transformers_tf_bert_tiny"
    return same_state(b.load("BertModel", directory, use_safetensors=False), b.load("BertModel", directory))


@scenario(expected={"raises": "CheckpointError", "message": "<dir>/transformers_tf_bert_tiny: no weights found (looked "
                    "for model.safetensors, model.safetensors.index.json; the directory holds ['config.json', "
                    "'outputs.npz', 'tf_model.h5']). It holds tf_model.h5, which use_safetensors=True excludes: pass "
                    "use_safetensors=False or None."})
def use_safetensors_true_on_h5(b: Backend, d: Path) -> Any:
    return b.load("BertModel", copy_fixture("transformers_tf_bert_tiny", d), use_safetensors=True)


# ============================================================================================== bad h5 files
@scenario(expected={"raises": "CheckpointError", "message": "<dir>/tf_model.h5: not a readable HDF5 (tf_model.h5) "
                    "file:"})
def h5_garbled(b: Backend, d: Path) -> Any:
    shutil.copy(FIXTURES / "transformers_tf_bert_tiny" / "config.json", d)
    (d / "tf_model.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(range(256)) * 8)
    return b.load("BertModel", d)


@scenario(expected={"raises": "CheckpointError", "message": "<dir>/transformers_tf_bert_tiny/tf_model.h5: not a "
                    "readable HDF5 (tf_model.h5) file:"})
def h5_truncated(b: Backend, d: Path) -> Any:
    path = copy_fixture("transformers_tf_bert_tiny", d) / "tf_model.h5"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    return b.load("BertModel", path.parent)


@scenario(expected={"raises": "CheckpointError", "executed": False, "message": "<dir>/transformers_tf_bert_tiny/"
                    "tf_model.h5: a whole Keras model (it has a 'model_config'), not a weights file; pretrained never "
                    "deserializes a Keras model config"})
def h5_keras_model_with_lambda(b: Backend, d: Path) -> Any:
    path = copy_fixture("transformers_tf_bert_tiny", d) / "tf_model.h5"
    sentinel = d / "executed"
    lambda_layer = {"class_name": "Lambda", "config": {"function": [f"open({str(sentinel)!r}, 'w')", None, None]}}
    edit_h5(path, lambda h: h.attrs.__setitem__("model_config", json.dumps({"config": {"layers": [lambda_layer]}})))
    try:
        return b.load("BertModel", path.parent)
    except Exception as exc:
        return {"raises": type(exc).__name__, "executed": sentinel.exists(), "message": str(exc)}


@scenario(expected={"missing": [], "unexpected": ["extra.weight"], "mismatched": [], "errors": 0})
def h5_layer_the_model_lacks(b: Backend, d: Path) -> Any:
    path = copy_fixture("transformers_tf_bert_tiny_cls", d)

    def add_layer(handle) -> None:
        handle["extra/tf_bert_for_sequence_classification/extra/kernel:0"] = np.ones((2, 2), np.float32)
        handle["extra"].attrs["weight_names"] = [b"tf_bert_for_sequence_classification/extra/kernel:0"]
        set_names(handle, "layer_names", lambda names: [*names, "extra"])

    edit_h5(path / "tf_model.h5", add_layer)
    _, info = b.load("BertForSequenceClassification", path, output_loading_info=True)
    return report(info)


@scenario(expected={"raises": "ShapeMismatchError", "key": "  - classifier.weight: checkpoint [5, 32] vs model [3, 32]"})
def h5_shape_disagrees(b: Backend, d: Path) -> Any:
    path = copy_fixture("transformers_tf_bert_tiny_cls", d)

    def widen(handle) -> None:
        del handle[f"{CLASSIFIER}/kernel:0"]
        handle[f"{CLASSIFIER}/kernel:0"] = np.zeros((32, 5), np.float32)

    edit_h5(path / "tf_model.h5", widen)
    try:
        return b.load("BertForSequenceClassification", path)
    except Exception as exc:
        return {"raises": type(exc).__name__, "key": next(line for line in str(exc).splitlines() if "checkpoint [" in line)}


# ============================================================================================== backend-only options
NOT_A_TORCH_OR_FLAX_OPTION = {"raises": "TypeError", "message": "BertModel.save_pretrained() got an unexpected keyword "
                              "argument 'saved_model'", "written": []}


@scenario(per_backend={"tf": {"files": ["config.json", "model.safetensors", "saved_model"],
                              "signatures": ["int64_serving", "serving_default"]},
                       "torch": NOT_A_TORCH_OR_FLAX_OPTION, "flax": NOT_A_TORCH_OR_FLAX_OPTION})
def save_saved_model(b: Backend, d: Path) -> Any:
    """`saved_model=True` is TensorFlow's (a SavedModel in `saved_model/<version>` beside the canonical checkpoint,
    as transformers v4 wrote it); torch and Flax refuse it and write nothing."""
    try:
        b.new().save_pretrained(d / "out", saved_model=True)
    except TypeError as exc:
        return {"raises": "TypeError", "message": str(exc), "written": files(d)}
    import tensorflow as tf

    return {"files": files(d / "out"),
            "signatures": sorted(tf.saved_model.load(str(d / "out" / "saved_model" / "1")).signatures)}


# ============================================================================================== the matrix
@pytest.mark.parametrize("name", scenarios_of(__name__))
def test_same_outcome_in_every_backend(name: str, tmp_path: Path) -> None:
    check_scenario(name, tmp_path)
