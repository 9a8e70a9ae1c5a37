"""The parity matrix: every option and bad input of the shared pipeline, on torch, TensorFlow and Flax.

Each scenario runs once per backend on the shipped BERT (tiny config) in its own directory and returns an outcome
(files written, keys reported, dtypes, or the exception class and message). Outcomes are normalised (temporary paths
and the `TF` / `Flax` class-name prefixes removed) and must be identical in the three backends — and equal to the
scenario's expectation. A scenario added here runs for all three (`_parity_matrix.py` holds the machinery;
`test_parity_migration.py` holds the rows of transformers v4's files and TF-only options,
`test_parity_contract.py` those of the transformers v4 model contract).
"""

from __future__ import annotations

import json
import os
import re
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("tensorflow")
pytest.importorskip("flax")

from _parity_matrix import (  # noqa: E402
    BACKENDS,
    Backend,
    check_scenario,
    files,
    normalise,
    report,
    same_state,
    scenario,
    scenarios_of,
    tiny_config,
)

from pretrained.checkpoint import read_safetensors_header, to_numpy  # noqa: E402


# ============================================================================================== saving
@scenario(expected=["config.json", "model.safetensors"])
def save_default(b: Backend, d: Path) -> Any:
    model = b.new()
    model.save_pretrained(d)
    assert same_state(model, b.load("BertModel", d))
    return files(d)


@scenario(expected={"files": 2, "index": "model.safetensors.index.json", "complete": True})
def save_sharded(b: Backend, d: Path) -> Any:
    model = b.new()
    model.save_pretrained(d, max_shard_size="8kB")
    shards = [n for n in files(d) if n.startswith("model-")]
    assert len(shards) > 1
    loaded, info = b.load("BertModel", d, output_loading_info=True)
    assert same_state(model, loaded)
    index = [n for n in files(d) if n.endswith(".json") and n != "config.json"]
    return {"files": len(files(d)) - len(shards), "index": index[0], "complete": report(info)["missing"] == []}


@scenario(expected=["config.json", "model.v2.safetensors"])
def save_variant(b: Backend, d: Path) -> Any:
    model = b.new()
    model.save_pretrained(d, variant="v2")
    assert same_state(model, b.load("BertModel", d, variant="v2"))
    return files(d)


@scenario(expected={"index": "model.safetensors.index.v2.json", "shard_prefix": True})
def save_variant_sharded(b: Backend, d: Path) -> Any:
    model = b.new()
    model.save_pretrained(d, variant="v2", max_shard_size="8kB")
    assert same_state(model, b.load("BertModel", d, variant="v2"))
    names = files(d)
    shards = [n for n in names if n.endswith(".safetensors")]
    return {"index": next(n for n in names if "index" in n),
            "shard_prefix": all(re.fullmatch(r"model\.v2-\d{5}-of-\d{5}\.safetensors", n) for n in shards)}


@scenario(expected={"raises": "CheckpointError", "message": "<dir>: no weights found (looked for model.safetensors, "
                    "model.safetensors.index.json, pytorch_model.bin, pytorch_model.bin.index.json, tf_model.h5, "
                    "tf_model.h5.index.json, flax_model.msgpack, flax_model.msgpack.index.json; the directory "
                    "holds ['config.json', 'model.v2.safetensors']). It holds weights for the variant(s) ['v2']: pass "
                    "variant=... to load one."})
def load_without_variant(b: Backend, d: Path) -> Any:
    b.new().save_pretrained(d, variant="v2")
    return b.load("BertModel", d)


@scenario(expected={"raises": "CheckpointError", "message": "<dir>: no weights found (looked for model.v3.safetensors, "
                    "model.safetensors.index.v3.json, pytorch_model.v3.bin, pytorch_model.bin.index.v3.json, "
                    "tf_model.v3.h5, tf_model.h5.index.v3.json, flax_model.v3.msgpack, "
                    "flax_model.msgpack.index.v3.json; the directory holds ['config.json', 'model.safetensors']). "
                    "There are weights without a variant: use variant=None to load them."})
def load_missing_variant(b: Backend, d: Path) -> Any:
    b.new().save_pretrained(d)
    return b.load("BertModel", d, variant="v3")


@scenario(expected=["config.json", "pytorch_model.bin"])
def save_bin(b: Backend, d: Path) -> Any:
    import torch

    model = b.new()
    model.save_pretrained(d, safe_serialization=False)
    state = torch.load(d / "pytorch_model.bin", weights_only=True)
    assert set(state) == set(Backend.state(model))
    assert same_state(model, b.load("BertModel", d))
    return files(d)


@scenario(expected={"index": "pytorch_model.bin.index.json", "several": True, "safetensors": False})
def save_bin_sharded(b: Backend, d: Path) -> Any:
    model = b.new()
    model.save_pretrained(d, safe_serialization=False, max_shard_size="8kB")
    assert same_state(model, b.load("BertModel", d))
    names = files(d)
    return {"index": next(n for n in names if "index" in n),
            "several": sum(n.startswith("pytorch_model-") for n in names) > 1,
            "safetensors": any(n.endswith(".safetensors") for n in names)}


@scenario(expected=["config.json", "model.safetensors"])
def resave_replaces_other_format(b: Backend, d: Path) -> Any:
    model = b.new()
    model.save_pretrained(d, safe_serialization=False, max_shard_size="8kB")
    model.save_pretrained(d)
    return files(d)


@scenario(expected={"raises": "CheckpointError", "message": "<dir>: no weights found (looked for pytorch_model.bin, "
                    "pytorch_model.bin.index.json, tf_model.h5, tf_model.h5.index.json, flax_model.msgpack, "
                    "flax_model.msgpack.index.json; the directory holds ['config.json', 'model.safetensors']). It holds "
                    "model.safetensors, which use_safetensors=False excludes: pass use_safetensors=True or None."})
def use_safetensors_false_on_safetensors(b: Backend, d: Path) -> Any:
    b.new().save_pretrained(d)
    return b.load("BertModel", d, use_safetensors=False)


@scenario(expected={"raises": "CheckpointError", "message": "<dir>: no weights found (looked for model.safetensors, "
                    "model.safetensors.index.json; the directory holds ['config.json', 'pytorch_model.bin']). It holds "
                    "pytorch_model.bin, which use_safetensors=True excludes: pass use_safetensors=False or None."})
def use_safetensors_true_on_bin(b: Backend, d: Path) -> Any:
    b.new().save_pretrained(d, safe_serialization=False)
    return b.load("BertModel", d, use_safetensors=True)


@scenario(expected=True)
def use_safetensors_false_on_bin(b: Backend, d: Path) -> Any:
    model = b.new()
    model.save_pretrained(d, safe_serialization=False)
    return same_state(model, b.load("BertModel", d, use_safetensors=False))


@scenario(expected={"raises": "TypeError", "message": "BertModel.save_pretrained() got an unexpected keyword argument "
                    "'max_shard_sise'; did you mean 'max_shard_size'?", })
def save_option_typo(b: Backend, d: Path) -> Any:
    try:
        b.new().save_pretrained(d, max_shard_sise="10KB")
    finally:
        assert files(d) == []  # nothing written
    return None


@scenario(expected={"raises": "TypeError", "message": "BertModel.from_pretrained() got an unexpected keyword argument "
                    "'ignore_mismatched_size'; did you mean 'ignore_mismatched_sizes'?"})
def load_option_typo(b: Backend, d: Path) -> Any:
    b.new().save_pretrained(d)
    return b.load("BertModel", d, ignore_mismatched_size=True)


@scenario(expected={"raises": "TypeError", "message": "push_to_hub() got an unexpected keyword argument 'privat'; did "
                    "you mean 'private'?"})
def push_option_typo(b: Backend, d: Path) -> Any:
    return b.new().push_to_hub("me/repo", privat=True)


@scenario(expected=[])
def not_main_process_writes_nothing(b: Backend, d: Path) -> Any:
    b.new().save_pretrained(d, is_main_process=False)
    return files(d)


@scenario(expected=["bert.pooler.dense.bias", "bert.pooler.dense.weight", "classifier.bias", "classifier.weight"])
def save_given_state_dict(b: Backend, d: Path) -> Any:
    model = b.new("BertForSequenceClassification")
    state = {k: v for k, v in Backend.state(model).items() if "pooler" in k or "classifier" in k}
    model.save_pretrained(d, state_dict=state)
    return sorted(read_safetensors_header(d / "model.safetensors")[0])


@scenario(expected={"file": ["encoder.layer.0.attention.self.key.bias"], "loaded_missing": True})
def keys_to_ignore_on_save_are_regexes(b: Backend, d: Path) -> Any:
    base = b.cls("BertModel")
    subclass = type(base.__name__, (base,), {"_keys_to_ignore_on_save": [r"(?<!layer\.0\.)attention\.self\.key\.",
                                                                         r"attention\.self\.key\.weight$",
                                                                         r"^(?!encoder).*"]})
    model = subclass(tiny_config())
    model.save_pretrained(d)
    stored = sorted(k for k in read_safetensors_header(d / "model.safetensors")[0] if ".key." in k)
    _, info = b.load("BertModel", d, output_loading_info=True)
    return {"file": stored, "loaded_missing": "encoder.layer.0.attention.self.key.weight" in info["missing_keys"]}


# ============================================================================================== loading
@scenario(expected={"missing": [], "unexpected": [], "mismatched": [], "errors": 0})
def output_loading_info(b: Backend, d: Path) -> Any:
    b.new().save_pretrained(d)
    model, info = b.load("BertModel", d, output_loading_info=True)
    assert set(info) == {"missing_keys", "unexpected_keys", "mismatched_keys", "error_msgs"}
    return report(info)


@scenario(expected={"missing": ["classifier.bias", "classifier.weight"], "unexpected": [], "mismatched": [],
                    "errors": 0})
def base_into_head(b: Backend, d: Path) -> Any:
    base = b.new()
    base.save_pretrained(d)
    head, info = b.load("BertForSequenceClassification", d, output_loading_info=True)
    assert np.array_equal(Backend.state(head)["bert.pooler.dense.weight"], Backend.state(base)["pooler.dense.weight"])
    return report(info)


@scenario(expected={"missing": [], "unexpected": ["classifier.bias", "classifier.weight"], "mismatched": [],
                    "errors": 0})
def head_into_base(b: Backend, d: Path) -> Any:
    b.new("BertForSequenceClassification").save_pretrained(d)
    _, info = b.load("BertModel", d, output_loading_info=True)
    return report(info)


@scenario(expected={"raises": "ShapeMismatchError", "message": "Error(s) in loading weights for "
                    "BertForSequenceClassification from <dir>: shapes do not match:"})
def mismatched_sizes_refused(b: Backend, d: Path) -> Any:
    b.new("BertForSequenceClassification", num_labels=5).save_pretrained(d)
    return b.load("BertForSequenceClassification", d, num_labels=3)


@scenario(expected={"missing": [], "unexpected": [], "mismatched": ["classifier.bias", "classifier.weight"],
                    "errors": 0})
def ignore_mismatched_sizes(b: Backend, d: Path) -> Any:
    b.new("BertForSequenceClassification", num_labels=5).save_pretrained(d)
    model, info = b.load("BertForSequenceClassification", d, num_labels=3, ignore_mismatched_sizes=True,
                         output_loading_info=True)
    assert Backend.state(model)["classifier.weight"].shape == (3, 16)
    return report(info)


@scenario(expected={"raises": "IncompleteLoadError", "message": "strict=True: Some weights of "
                    "BertForSequenceClassification were not initialized from the model checkpoint at <dir> and are "
                    "newly initialized: ['classifier.weight', 'classifier.bias']"})
def strict_refuses_incomplete(b: Backend, d: Path) -> Any:
    b.new().save_pretrained(d)
    return b.load("BertForSequenceClassification", d, strict=True)


@scenario(expected={"value": 0.25, "model_kwarg": True})
def config_overrides_and_init_kwargs(b: Backend, d: Path) -> Any:
    b.new().save_pretrained(d)
    model = b.load("BertModel", d, hidden_dropout_prob=0.25, add_pooling_layer=False)
    return {"value": model.config.hidden_dropout_prob,
            "model_kwarg": not any("pooler" in k for k in Backend.state(model))}


@scenario(expected={"float16": True, "config": "float16", "file": "F16"})
def dtype_float16(b: Backend, d: Path) -> Any:
    b.new().save_pretrained(d / "fp32")
    half = b.load("BertModel", d / "fp32", dtype="float16")
    dtypes = {v.dtype for v in Backend.state(half).values() if v.dtype.kind == "f"}
    half.save_pretrained(d / "fp16")
    header, _ = read_safetensors_header(d / "fp16" / "model.safetensors")
    codes = {info.dtype for info in header.values()}
    return {"float16": dtypes == {np.dtype("float16")},
            "config": json.loads((d / "fp16" / "config.json").read_text())["dtype"],
            "file": "F16" if codes <= {"float16", "int64"} else sorted(codes)}


@scenario(expected=["bfloat16"])
def dtype_auto_and_torch_dtype(b: Backend, d: Path) -> Any:
    b.new().save_pretrained(d / "fp32")
    b.load("BertModel", d / "fp32", torch_dtype="bfloat16").save_pretrained(d / "bf16")
    auto = b.load("BertModel", d / "bf16", dtype="auto")
    return sorted({str(v.dtype) for v in Backend.state(auto).values() if v.dtype.kind == "V" or "float" in str(v.dtype)})


@scenario(expected={"raises": "ConfigError", "message": "dtype='auto' is ambiguous: <dir>/model.safetensors stores "
                    "several floating dtypes: bfloat16 (e.g. 'a'), float16 (e.g. 'b'), float32 (e.g. "})
def dtype_auto_ambiguous(b: Backend, d: Path) -> Any:
    import ml_dtypes

    model = b.new()
    state = Backend.state(model)
    state["a"] = np.zeros(2, ml_dtypes.bfloat16)
    state["b"] = np.zeros(2, np.float16)
    model.save_pretrained(d, state_dict=state)
    config = json.loads((d / "config.json").read_text())
    del config["dtype"]  # no recorded dtype: "auto" must look at the tensors
    (d / "config.json").write_text(json.dumps(config))
    return b.load("BertModel", d, dtype="auto")


@scenario(expected={"config": "bfloat16", "weights": ["bfloat16"]})
def dtype_auto_follows_the_config(b: Backend, d: Path) -> Any:
    b.new().save_pretrained(d / "fp32")
    model = b.load("BertModel", d / "fp32", dtype="bfloat16")
    state = {k: to_numpy(v) for k, v in model.canonical_state_dict().items()}
    state["zz.extra"] = np.zeros(2, np.float32)  # a float32 tensor after the bfloat16 ones
    model.save_pretrained(d / "mixed", state_dict=state)
    loaded = b.load("BertModel", d / "mixed", dtype="auto")
    return {"config": json.loads((d / "mixed" / "config.json").read_text())["dtype"],
            "weights": sorted({str(v.dtype) for v in Backend.state(loaded).values() if v.dtype.kind != "i"})}


@scenario(expected=True)
def from_state_dict_in_memory(b: Backend, d: Path) -> Any:
    model = b.new()
    return same_state(model, b.cls("BertModel").from_pretrained(None, config=model.config,
                                                                 state_dict=model.canonical_state_dict()))


@scenario(expected={"raises": "ConfigError", "message": "from_pretrained(None, ...) needs state_dict= (and config=)"})
def from_none_without_state_dict(b: Backend, d: Path) -> Any:
    return b.cls("BertModel").from_pretrained(None, config=tiny_config())


@scenario(expected=True)
def subfolder(b: Backend, d: Path) -> Any:
    model = b.new()
    model.save_pretrained(d / "inner")
    return same_state(model, b.load("BertModel", d, subfolder="inner"))


@scenario(expected={"missing": [], "unexpected": [], "mismatched": [], "errors": 0})
def ignore_patterns_filter_the_report(b: Backend, d: Path) -> Any:
    b.new("BertForSequenceClassification").save_pretrained(d)
    base = b.cls("BertModel")
    subclass = type(base.__name__, (base,), {"_keys_to_ignore_on_load_unexpected": [r"^classifier\."],
                                              "_keys_to_ignore_on_load_missing": [r"pooler"]})
    state = Backend.state(b.new("BertForSequenceClassification"))
    for key in [k for k in state if "pooler" in k]:
        del state[key]
    b.new("BertForSequenceClassification").save_pretrained(d, state_dict=state)
    _, info = subclass.from_pretrained(d, output_loading_info=True)
    return report(info)


@scenario(expected={"missing": 39, "unexpected": ["other.weight"], "errors": 1})
def nothing_matches(b: Backend, d: Path) -> Any:
    model = b.new()
    model.save_pretrained(d, state_dict={"other.weight": np.ones((2, 2), np.float32)})
    _, info = b.load("BertModel", d, output_loading_info=True)
    return {"missing": len(info["missing_keys"]), "unexpected": info["unexpected_keys"],
            "errors": len(info["error_msgs"])}


@scenario(expected={"raises": "HubError", "message": "'<dir>/nowhere' is neither a local directory or file nor a "
                    "valid Hub repo id"})
def missing_path(b: Backend, d: Path) -> Any:
    return b.load("BertModel", d / "nowhere")


@scenario(expected={"raises": "CheckpointError", "message": "<dir>/model.safetensors: truncated or corrupt safetensors "
                    "file: header length 7523094288207667809 exceeds the file size 20"})
def corrupt_file(b: Backend, d: Path) -> Any:
    b.new().save_pretrained(d)
    (d / "model.safetensors").write_bytes(b"abcdefghijklmnopqrst")
    return b.load("BertModel", d)


@scenario(expected={"raises": "CheckpointError", "message": "<dir>/model.safetensors.index.json: shard "
                    "'model-00002-of-"})
def missing_shard(b: Backend, d: Path) -> Any:
    b.new().save_pretrained(d, max_shard_size="8kB")
    index = json.loads((d / "model.safetensors.index.json").read_text())
    os.remove(d / sorted(set(index["weight_map"].values()))[1])
    return b.load("BertModel", d)


@scenario(expected={"raises": "ConfigError", "message": "BertModel expects a BertConfig (model_type 'bert'), got "
                    "ResnetConfig (model_type 'resnet')"})
def wrong_config_class(b: Backend, d: Path) -> Any:
    from pretrained.models.resnet import ResnetConfig

    return b.cls("BertModel")(ResnetConfig())


@scenario(expected={"token": "hf_x", "warned": True})
def use_auth_token_is_token(b: Backend, d: Path) -> Any:
    from pretrained.modeling_base import parse_load_options

    b.new().save_pretrained(d)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        b.load("BertModel", d, use_auth_token="hf_x")
        options = parse_load_options({"use_auth_token": "hf_x"})
    return {"token": options.hub["token"], "warned": any(issubclass(w.category, FutureWarning) for w in caught)}


@scenario(expected=True)
def v4_flags_accepted(b: Backend, d: Path) -> Any:
    model = b.new()
    model.save_pretrained(d)
    loaded = b.load("BertModel", d, from_pt=True, from_tf=True, from_flax=True, low_cpu_mem_usage=True,
                    _fast_init=False, trust_remote_code=False)
    return same_state(model, loaded)


@scenario(expected={"rows": 40, "vocab": 40, "reloaded": 40})
def resize_then_save(b: Backend, d: Path) -> Any:
    model = b.new("BertForMaskedLM")
    model.resize_token_embeddings(33, pad_to_multiple_of=8)
    model.save_pretrained(d)
    reloaded = b.load("BertForMaskedLM", d)
    return {"rows": Backend.state(model)["bert.embeddings.word_embeddings.weight"].shape[0],
            "vocab": model.config.vocab_size,
            "reloaded": Backend.state(reloaded)["bert.embeddings.word_embeddings.weight"].shape[0]}


@scenario(expected={"pruned": {"0": [1, 2]}, "query": [8, 16], "same": True})
def prune_then_save(b: Backend, d: Path) -> Any:
    model = b.new()
    model.prune_heads({0: [1, 2]})
    model.save_pretrained(d)
    reloaded = b.load("BertModel", d)
    return {"pruned": json.loads((d / "config.json").read_text())["pruned_heads"],
            "query": list(Backend.state(reloaded)["encoder.layer.0.attention.self.query.weight"].shape),
            "same": same_state(model, reloaded)}


@scenario(expected={"missing": [], "unexpected": [], "mismatched": [], "errors": 0})
def load_canonical_state_from_another_model(b: Backend, d: Path) -> Any:
    source, target = b.new(), b.new()
    report_ = target.load_canonical_state(source.canonical_state_dict(), strict=True)
    assert same_state(source, target)
    return report(report_.as_dict())


# ============================================================================================== through the Hub
HUB_SCENARIOS: dict[str, tuple[Callable[[Backend, str], Any], Any]] = {}


def hub_scenario(expected: Any = None) -> Callable:
    """Register a scenario that talks to the loopback Hub; it gets a repo id of its own instead of a directory."""

    def register(function: Callable[[Backend, str], Any]) -> Callable[[Backend, str], Any]:
        HUB_SCENARIOS[function.__name__] = (function, expected)
        return function

    return register


@hub_scenario(expected={"first": True, "latest": True})
def push_and_load_a_revision(b: Backend, repo: str) -> Any:
    first = b.new()
    commit = first.push_to_hub(repo).oid
    second = b.new()
    second.load_canonical_state({k: v * 0 + 1 for k, v in Backend.state(first).items()})
    second.save_pretrained("local-copy", push_to_hub=True, repo_id=repo, commit_message="all ones")
    return {"first": same_state(first, b.load("BertModel", repo, revision=commit)),
            "latest": same_state(second, b.load("BertModel", repo))}


@hub_scenario(expected={"files": ["config.json", "model.safetensors.index.v2.json"], "same": True})
def push_variant_sharded_and_load(b: Backend, repo: str) -> Any:
    from huggingface_hub import HfApi

    model = b.new()
    model.push_to_hub(repo, max_shard_size="8kB")
    model.save_pretrained("v2", variant="v2", max_shard_size="8kB")
    HfApi().upload_folder(repo_id=repo, folder_path="v2", allow_patterns=["*.v2*", "model.v2-*"])
    files = sorted(f for f in HfApi().list_repo_files(repo) if f.endswith(".json") and "v2" in f or f == "config.json")
    return {"files": files, "same": same_state(model, b.load("BertModel", repo, variant="v2"))}


@hub_scenario(expected={"raises": "HubError", "message": "repo '<repo>' at revision 'main' has no weights (looked for "
                        "pytorch_model.bin, pytorch_model.bin.index.json, tf_model.h5, tf_model.h5.index.json, "
                        "flax_model.msgpack, flax_model.msgpack.index.json). It holds model.safetensors, which "
                        "use_safetensors=False excludes: pass use_safetensors=True or None."})
def hub_use_safetensors_false(b: Backend, repo: str) -> Any:
    b.new().push_to_hub(repo)
    return b.load("BertModel", repo, use_safetensors=False)


# ============================================================================================== the matrix
@pytest.mark.parametrize("name", scenarios_of(__name__))
def test_same_outcome_in_every_backend(name: str, tmp_path: Path) -> None:
    check_scenario(name, tmp_path)


@pytest.mark.parametrize("name", list(HUB_SCENARIOS))
def test_same_outcome_through_the_hub(name: str, local_hub: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                      ) -> None:
    function, expected = HUB_SCENARIOS[name]
    outcomes = {}
    for b in BACKENDS:
        repo = f"{b.name}/{name.replace('_', '-')}"
        (tmp_path / b.name).mkdir()
        monkeypatch.chdir(tmp_path / b.name)  # local saves of a scenario land in its own directory
        outcomes[b.name] = normalise(json.loads(json.dumps(outcome_of(function, b, repo)).replace(repo, "<repo>")),
                                     tmp_path)
    for backend in ("tf", "flax"):
        assert outcomes[backend] == outcomes["torch"], f"{backend} differs from torch:\n{outcomes}"
    if isinstance(expected, dict) and "raises" in expected:
        assert outcomes["torch"]["raises"] == expected["raises"], outcomes["torch"]
        assert outcomes["torch"]["message"].startswith(expected["message"]), outcomes["torch"]
    elif expected is not None:
        assert outcomes["torch"] == expected


def outcome_of(function: Callable[[Backend, str], Any], backend: Backend, repo: str) -> Any:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return function(backend, repo)
    except Exception as exc:
        return {"raises": type(exc).__name__, "message": str(exc).splitlines()[0]}


def test_at_least_25_scenarios() -> None:
    assert len(scenarios_of(__name__)) >= 25
