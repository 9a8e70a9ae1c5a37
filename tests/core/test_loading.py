"""The shared half of from_pretrained: kwargs, key plans, mismatches, reports, dtype resolution."""

from __future__ import annotations

import logging

import ml_dtypes
import numpy as np
import pytest

from pretrained.checkpoint import CheckpointReader, HostTensor, find_weights, write_checkpoint
from pretrained.errors import ConfigError, CorruptCheckpointError, IncompleteLoadError, ShapeMismatchError
from pretrained.loading import (
    LoadingReport,
    drop_mismatched,
    find_mismatched,
    plan_keys,
    resolve_dtype,
)
from pretrained.modeling_base import canonical_architecture, parse_load_options


def test_parse_load_options_pops_common_options():
    kwargs = {"revision": "v1", "torch_dtype": "float16", "from_pt": True, "strict": True, "hidden_size": 8}
    options = parse_load_options(kwargs)
    assert options.hub == {"revision": "v1"} and options.dtype == "float16" and options.strict
    assert kwargs == {"hidden_size": 8}


def test_plan_identity_and_reports():
    plan = plan_keys(["a.weight", "b.weight", "bn.num_batches_tracked"], ["a.weight", "c.weight"])
    assert plan.to_load == {"a.weight": "a.weight"}
    assert plan.missing == ["b.weight"] and plan.unexpected == ["c.weight"]


def test_plan_adds_prefix_for_head_checkpoint_into_base_model():
    plan = plan_keys(["embeddings.weight"], ["bert.embeddings.weight", "cls.bias"], base_model_prefix="bert")
    assert plan.prefix_action == "add"
    assert plan.to_load == {"embeddings.weight": "bert.embeddings.weight"} and plan.unexpected == ["cls.bias"]


def test_plan_tied_and_ignored_keys():
    plan = plan_keys(
        ["emb.weight", "decoder.weight", "pos_ids"],
        ["emb.weight"],
        tied_groups=[["emb.weight", "decoder.weight"]],
        ignore_missing=[r"pos_ids$"],
    )
    assert plan.missing == []


def test_num_batches_tracked_never_reported():
    plan = plan_keys(["bn.running_mean"], ["bn.running_mean", "bn.num_batches_tracked"])
    assert plan.unexpected == [] and plan.missing == []


def _reader(tmp_path, arrays):
    write_checkpoint(tmp_path, {k: HostTensor.from_numpy(v) for k, v in arrays.items()})
    return CheckpointReader(find_weights(tmp_path))


def test_mismatch_raises_naming_key_and_shapes(tmp_path):
    reader = _reader(tmp_path, {"w": np.zeros((3, 4), np.float32)})
    plan = plan_keys(["w"], reader.keys())
    mismatched = find_mismatched(plan, {"w": (5, 4)}, reader)
    assert mismatched == [("w", (3, 4), (5, 4))]
    with pytest.raises(ShapeMismatchError, match=r"w: checkpoint \[3, 4\] vs model \[5, 4\]"):
        drop_mismatched(plan, mismatched, ignore_mismatched_sizes=False, source="x", model_class="M")
    drop_mismatched(plan, mismatched, ignore_mismatched_sizes=True, source="x", model_class="M")
    assert plan.to_load == {}


def test_report_strict_and_warning(caplog):
    report = LoadingReport(missing_keys=["a"], unexpected_keys=["b"])
    with pytest.raises(IncompleteLoadError, match="newly initialized"):
        report.finish(model_class="M", source="here", strict=True)
    with caplog.at_level(logging.WARNING, logger="pretrained"):
        report.finish(model_class="M", source="here", strict=False)
    assert "were not used" in caplog.text and report["missing_keys"] == ["a"]


def test_dtype_auto(tmp_path):
    reader = _reader(tmp_path / "a", {"w": np.zeros(2, np.float16), "i": np.zeros(2, np.int64)})
    assert resolve_dtype("auto", reader) == "float16"
    assert resolve_dtype(None, reader) is None and resolve_dtype(np.float32, reader) == "float32"


def test_dtype_auto_on_mixed_checkpoint_is_an_error(tmp_path):
    reader = _reader(tmp_path, {"w": np.zeros(2, np.float16), "v": np.zeros(2, ml_dtypes.bfloat16)})
    with pytest.raises(ConfigError, match="several floating dtypes"):
        resolve_dtype("auto", reader)


def test_canonical_architecture():
    class TFBertModel: ...

    class FlaxResnetModel: ...

    assert canonical_architecture(TFBertModel) == "BertModel"
    assert canonical_architecture(FlaxResnetModel) == "ResnetModel"


# ------------------------------------------------------------------------------------------- v4 loading semantics
def test_legacy_names_load_into_their_current_keys():
    plan = plan_keys(["ln.weight", "ln.bias", "conv.parametrizations.weight.original0", "old.weight_v"],
                     ["ln.gamma", "ln.beta", "conv.weight_g", "old.parametrizations.weight.original1"])
    assert plan.to_load == {"ln.weight": "ln.gamma", "ln.bias": "ln.beta",
                            "conv.parametrizations.weight.original0": "conv.weight_g",
                            "old.weight_v": "old.parametrizations.weight.original1"}
    assert plan.renamed["ln.gamma"] == "ln.weight" and not plan.missing and not plan.unexpected


def test_a_real_gamma_parameter_keeps_its_name():
    plan = plan_keys(["scale.gamma", "scale.weight"], ["scale.gamma", "scale.weight"])
    assert plan.to_load == {"scale.gamma": "scale.gamma", "scale.weight": "scale.weight"} and not plan.renamed
    assert plan_keys(["mygamma.weight"], ["mygamma.weight"]).renamed == {}  # whole components only


def test_base_keys_without_prefix_beside_head_keys_are_refused():
    with pytest.raises(CorruptCheckpointError, match=r"ckpt: the checkpoint is corrupted: its base-model keys have "
                                                     r"no 'bert\.' prefix, yet it also holds head keys of the model: "
                                                     r"\['cls\.bias'\]"):
        plan_keys(["bert.w", "cls.bias"], ["w", "cls.bias"], base_model_prefix="bert", source="ckpt")
    assert isinstance(CorruptCheckpointError("x"), ValueError)  # v4 raised ValueError
    assert plan_keys(["bert.w", "cls.bias"], ["w"], base_model_prefix="bert").missing == ["cls.bias"]


def test_report_wording_and_levels_follow_v4(caplog):
    report = LoadingReport(missing_keys=["cls.bias"], unexpected_keys=["extra"], mismatched_keys=[("w", (3,), (4,))])
    text = report.message(model_class="M", source="ckpt")
    assert "Some weights of M were not initialized from the model checkpoint at ckpt and are newly initialized: " \
           "['cls.bias']\nYou should probably TRAIN this model on a down-stream task" in text
    assert "Some weights of the model checkpoint at ckpt were not used when initializing M: ['extra']\n" \
           "- This IS expected if" in text and "- This IS NOT expected if" in text
    assert "the shapes did not match:\n- w: found shape (3,) in the checkpoint and (4,) in the model instantiated" \
           in text
    for warn_unexpected, level in ((False, "INFO"), (True, "WARNING")):
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="pretrained"):
            report.finish(model_class="M", source="ckpt", strict=False, warn_unexpected=warn_unexpected)
        levels = {r.getMessage().split(" were ")[0]: r.levelname for r in caplog.records}
        assert levels["Some weights of the model checkpoint at ckpt"] == level
        assert levels["Some weights of M"] == "WARNING"
