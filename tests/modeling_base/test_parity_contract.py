"""The parity matrix, continued: the transformers v4 model contract (outputs, attention implementations, loading
semantics, configs, the API around the model) on torch, TensorFlow and Flax. Same machinery as `test_parity.py`
(`_parity_matrix.py`): each scenario runs on the three backends and must give the same outcome.
"""

from __future__ import annotations

import json
import logging
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("tensorflow")
pytest.importorskip("flax")

from _parity_matrix import (  # noqa: E402
    PREFIXES,
    Backend,
    check_scenario,
    report,
    same_state,
    scenario,
    scenarios_of,
    tiny_config,
)

from pretrained.checkpoint import to_numpy  # noqa: E402
from pretrained.outputs import ModelOutput  # noqa: E402
from pretrained.utils import logging as pretrained_logging  # noqa: E402

IDS = np.array([[5, 6, 7, 8, 0], [9, 10, 11, 0, 0]], np.int32)
MASK = (IDS > 0).astype(np.int32)


def arrays(output: Any) -> list[np.ndarray]:
    values = output.values() if isinstance(output, dict) else output
    return [np.asarray(to_numpy(v), np.float32) for v in values if not isinstance(v, tuple)]


def close(a: Any, b: Any) -> bool:
    left, right = arrays(a), arrays(b)
    return len(left) == len(right) and all(np.allclose(x, y, atol=1e-5) for x, y in zip(left, right))


class Records(logging.Handler):
    """The `pretrained` log records of a block: `(level name, message)`."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[tuple[str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append((record.levelname, record.getMessage()))

    def __enter__(self) -> Records:
        root = logging.getLogger("pretrained")
        self.saved_level = root.level
        root.setLevel(logging.INFO)
        root.addHandler(self)
        return self

    def __exit__(self, *exc: object) -> None:
        root = logging.getLogger("pretrained")
        root.removeHandler(self)
        root.setLevel(self.saved_level)

    def levels(self, text: str) -> list[str]:
        return [level for level, message in self.records if text in message]


# ============================================================================================== outputs
@scenario(expected={"type": "BaseModelOutputWithPoolingAndCrossAttentions", "index": True, "slice": 2,
                    "tuple": 4, "same": True, "config_tuple": True})
def outputs_by_position_and_return_dict(b: Backend, d: Path) -> Any:
    model = b.new()
    out = b.run(model, input_ids=IDS, attention_mask=MASK, output_hidden_states=True, output_attentions=True)
    as_tuple = b.run(model, input_ids=IDS, attention_mask=MASK, output_hidden_states=True, output_attentions=True,
                     return_dict=False)
    model.config.return_dict = False
    return {"type": type(out).__name__, "index": out[0] is out.last_hidden_state and out[1] is out["pooler_output"],
            "slice": len(out[:2]), "tuple": len(as_tuple) if isinstance(as_tuple, tuple) else None,
            "same": close(out.to_tuple()[:2], as_tuple[:2]),
            "config_tuple": isinstance(b.run(model, input_ids=IDS, attention_mask=MASK), tuple)}


@scenario(expected={"type": "SequenceClassifierOutput", "keys": ["loss", "logits"], "attentions": None})
def head_outputs_are_typed(b: Backend, d: Path) -> Any:
    out = b.run(b.new("BertForSequenceClassification"), input_ids=IDS, attention_mask=MASK, labels=np.array([0, 2]))
    return {"type": type(out).__name__, "keys": list(out.keys()), "attentions": out.attentions}


def gpt2(b: Backend, architecture: str) -> Any:
    """A tiny GPT-2 `architecture` (name without the backend prefix) of backend `b`."""
    from pretrained.models import gpt2 as module

    config = module.GPT2Config(vocab_size=50, n_positions=16, n_embd=16, n_layer=2, n_head=2, pad_token_id=0,
                               eos_token_id=49, num_labels=3)
    return getattr(module, PREFIXES[b.name] + architecture)(config)


@scenario(expected={"types": ["BaseModelOutputWithPastAndCrossAttentions", "CausalLMOutputWithCrossAttentions",
                              "SequenceClassifierOutputWithPast"],
                    "keys": [["last_hidden_state", "hidden_states", "attentions"],
                             ["loss", "logits", "hidden_states", "attentions"],
                             ["loss", "logits", "hidden_states", "attentions"]],
                    "tuples": [3, 4, 4], "same": [True, True, True], "config_tuple": [True, True, True]})
def gpt2_outputs_follow_the_contract(b: Backend, d: Path) -> Any:
    labels = {"GPT2Model": {}, "GPT2LMHeadModel": {"labels": IDS.astype(np.int64)}, "GPT2ForSequenceClassification":
              {"labels": np.array([0, 2])}}
    found: dict[str, list[Any]] = {"types": [], "keys": [], "tuples": [], "same": [], "config_tuple": []}
    for architecture, extra in labels.items():
        model = gpt2(b, architecture)
        inputs = dict(input_ids=IDS, attention_mask=MASK, use_cache=False, output_hidden_states=True,
                      output_attentions=True, **extra)
        out, as_tuple = b.run(model, **inputs), b.run(model, **inputs, return_dict=False)
        model.config.return_dict = False
        found["types"].append(type(out).__name__)
        found["keys"].append(list(out.keys()))
        found["tuples"].append(len(as_tuple) if isinstance(as_tuple, tuple) else None)
        found["same"].append(close(out.to_tuple()[:2], as_tuple[:2]))
        found["config_tuple"].append(isinstance(b.run(model, input_ids=IDS, attention_mask=MASK), tuple))
    return found


@scenario(expected={"same_tokens": True, "new_tokens": 3})
def generate_ignores_config_return_dict(b: Backend, d: Path) -> Any:
    model = gpt2(b, "GPT2LMHeadModel")

    def tokens() -> np.ndarray:
        if b.name == "torch":
            import torch

            with torch.no_grad():
                return model.eval().generate(torch.as_tensor(IDS), attention_mask=torch.as_tensor(MASK),
                                             max_new_tokens=3, do_sample=False).numpy()
        out = model.generate(IDS, attention_mask=MASK, max_new_tokens=3, do_sample=False)
        return np.asarray(to_numpy(getattr(out, "sequences", out)))

    expected = tokens()
    model.config.return_dict = False
    generated = tokens()
    return {"same_tokens": np.array_equal(expected, generated), "new_tokens": generated.shape[1] - IDS.shape[1]}


# ============================================================================================== attention
@scenario(expected={"default": "sdpa", "loaded": ["eager", "sdpa"], "equal": True})
def attn_implementation_at_load(b: Backend, d: Path) -> Any:
    model = b.new()
    model.save_pretrained(d)
    eager = b.load("BertModel", d, attn_implementation="eager")
    fused = b.load("BertModel", d, attn_implementation="sdpa")
    return {"default": model.config._attn_implementation,
            "loaded": [eager.config._attn_implementation, fused.config._attn_implementation],
            "equal": close(b.run(eager, input_ids=IDS, attention_mask=MASK),
                           b.run(fused, input_ids=IDS, attention_mask=MASK))}


@scenario(expected={"raises": "ConfigError", "message": "BertModel does not support "
                    "attn_implementation='flash_attention_2': supported attn_implementation values are ['eager', "
                    "'sdpa']"})
def attn_implementation_refused(b: Backend, d: Path) -> Any:
    b.new().save_pretrained(d)
    return b.load("BertModel", d, attn_implementation="flash_attention_2")


@scenario(expected={"raises": "ConfigError", "message": "BertModel does not support attn_implementation='sdpa': "
                    "supported attn_implementation values are ['eager'] (a model supports 'sdpa' when its class "
                    "sets _supports_sdpa = True)"})
def sdpa_refused_without_support(b: Backend, d: Path) -> Any:
    base = b.cls("BertModel")
    eager_only = type(base.__name__, (base,), {"_supports_sdpa": False})
    assert eager_only(tiny_config()).config._attn_implementation == "eager"
    return eager_only._from_config(tiny_config(), attn_implementation="sdpa")


@scenario(expected={"after": "eager", "equal": True, "refused": "ConfigError"})
def set_attn_implementation(b: Backend, d: Path) -> Any:
    model = b.new("BertForMaskedLM")
    fused = b.run(model, input_ids=IDS, attention_mask=MASK)
    model.set_attn_implementation("eager")
    try:
        model.set_attn_implementation("flex")
        refused = None
    except Exception as exc:
        refused = type(exc).__name__
    return {"after": model.config._attn_implementation, "refused": refused,
            "equal": close(fused, b.run(model, input_ids=IDS, attention_mask=MASK))}


@scenario(expected={"dtypes": ["float16"], "attn": "eager", "original": None})
def from_config_dtype_and_attn(b: Backend, d: Path) -> Any:
    config = tiny_config()
    model = b.cls("BertModel")._from_config(config, dtype="float16", attn_implementation="eager")
    return {"dtypes": sorted({str(v.dtype) for v in Backend.state(model).values() if v.dtype.kind == "f"}),
            "attn": model.config._attn_implementation, "original": config._attn_implementation_internal}


@scenario(expected={"class": "BertModel", "attn": "eager", "dtypes": ["bfloat16"]})
def auto_from_config_takes_attn_and_dtype(b: Backend, d: Path) -> Any:
    import importlib

    auto = getattr(importlib.import_module(f"pretrained.{b.name}"), f"{PREFIXES[b.name]}AutoModel")
    model = auto.from_config(tiny_config(), attn_implementation="eager", torch_dtype="bfloat16")
    return {"class": type(model).__name__, "attn": model.config._attn_implementation,
            "dtypes": sorted({str(v.dtype) for v in Backend.state(model).values() if v.dtype.kind != "i"})}


# ============================================================================================== configs
@scenario(expected={"config": True, "raises": "ConfigError", "message": "The hidden size (37) is not a multiple of "
                    "the number of attention heads (4)"})
def structure_checked_when_the_model_is_built(b: Backend, d: Path) -> Any:
    config = tiny_config(hidden_size=37, num_attention_heads=4)
    try:
        b.cls("BertModel")(config)
    except Exception as exc:
        return {"config": config.hidden_size == 37, "raises": type(exc).__name__, "message": str(exc)}
    return {"config": True, "raises": None}


@scenario(expected={"pruned": {0: [1]}, "query": [12, 16]})
def pruned_heads_with_string_keys(b: Backend, d: Path) -> Any:
    b.new().save_pretrained(d)
    model = b.load("BertModel", d, pruned_heads={"0": [1]}, ignore_mismatched_sizes=True)
    return {"pruned": model.config.pruned_heads,
            "query": list(Backend.state(model)["encoder.layer.0.attention.self.query.weight"].shape)}


@scenario(expected={"config_class": "MyBertConfig", "refused": "ConfigError"})
def config_class_from_annotation(b: Backend, d: Path) -> Any:
    from pretrained.models.bert import BertConfig

    class MyBertConfig(BertConfig):
        model_type = "my-bert"

    base = b.cls("BertModel")
    annotated = type(base.__name__, (base,), {"__annotations__": {"config": MyBertConfig}})
    annotated(MyBertConfig(**tiny_config().to_dict()))
    try:
        annotated(tiny_config())
        raised = None
    except Exception as exc:
        raised = type(exc).__name__
    return {"config_class": annotated.config_class.__name__, "refused": raised}


# ============================================================================================== loading
@scenario(expected={"raises": "CorruptCheckpointError", "message": "<dir>: the checkpoint is corrupted: its "
                    "base-model keys have no 'bert.' prefix, yet it also holds head keys of the model: "
                    "['cls.predictions.bias'"})
def base_and_head_keys_mixed(b: Backend, d: Path) -> Any:
    model = b.new("BertForMaskedLM")
    state = {k.removeprefix("bert."): v for k, v in Backend.state(model).items()}
    model.save_pretrained(d, state_dict=state)
    return b.load("BertForMaskedLM", d)


@scenario(expected={"same": True, "report": {"missing": [], "unexpected": [], "mismatched": [], "errors": 0},
                    "warned": ["WARNING"]})
def legacy_gamma_beta_renamed(b: Backend, d: Path) -> Any:
    model = b.new()
    renamed = {k.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias", "LayerNorm.beta"): v
               for k, v in Backend.state(model).items()}
    model.save_pretrained(d, state_dict=renamed)
    with Records() as records:
        loaded, info = b.load("BertModel", d, output_loading_info=True)
    return {"same": same_state(model, loaded), "report": report(info),
            "warned": records.levels("legacy names were renamed")}


@scenario(expected={"pooler": ["float32"], "rest": ["float16"]})
def keep_in_fp32_modules(b: Backend, d: Path) -> Any:
    b.new().save_pretrained(d)
    base = b.cls("BertModel")
    kept = type(base.__name__, (base,), {"_keep_in_fp32_modules": ["pooler"]})
    state = Backend.state(kept.from_pretrained(d, dtype="float16"))
    return {"pooler": sorted({str(v.dtype) for k, v in state.items() if k.startswith("pooler.")}),
            "rest": sorted({str(v.dtype) for k, v in state.items() if not k.startswith("pooler.")})}


@scenario(expected={"other_architecture": ["INFO"], "same_architecture": ["WARNING"], "missing": ["WARNING"]})
def unexpected_keys_warn_only_for_the_saved_architecture(b: Backend, d: Path) -> Any:
    b.new("BertForSequenceClassification").save_pretrained(d / "head")
    model = b.new()
    model.save_pretrained(d / "extra", state_dict={**Backend.state(model), "extra.weight": np.ones(2, np.float32)})
    text = "were not used when initializing"
    with Records() as head_into_base:
        b.load("BertModel", d / "head")
    with Records() as extra, warnings.catch_warnings():
        b.load("BertModel", d / "extra")
    with Records() as base_into_head:
        b.load("BertForSequenceClassification", d / "extra")
    return {"other_architecture": head_into_base.levels(text), "same_architecture": extra.levels(text),
            "missing": base_into_head.levels("were not initialized from the model checkpoint")}


# ============================================================================================== around the model
@scenario(expected={"base": False, "generative": True})
def can_generate(b: Backend, d: Path) -> Any:
    base = b.cls("BertModel")
    generative = type(base.__name__, (base,), {"prepare_inputs_for_generation": lambda self, ids, **kw: {}})
    return {"base": base.can_generate(), "generative": generative.can_generate()}


@scenario(expected={"unmasked": ["WARNING"], "masked": []})
def padding_warning_without_attention_mask(b: Backend, d: Path) -> Any:
    model = b.new()
    pretrained_logging._SEEN.clear()  # warning_once: once per process, and the backends share the process
    text = "contain the pad token"
    with Records() as masked:
        b.run(model, input_ids=IDS, attention_mask=MASK)
    with Records() as unmasked:
        b.run(model, input_ids=IDS)
    return {"unmasked": unmasked.levels(text), "masked": masked.levels(text)}


@scenario(expected={"same_seed": True, "other_seed": False})
def set_seed_makes_initialisation_repeat(b: Backend, d: Path) -> Any:
    from pretrained import set_seed

    def fresh(seed: int) -> Any:
        set_seed(seed)
        return b.cls("BertModel")(tiny_config())

    first, second, other = fresh(3), fresh(3), fresh(4)
    return {"same_seed": same_state(first, second), "other_seed": same_state(first, other)}


@scenario(expected={"tags": ["pretrained", "tagged", "v4"], "token_warned": True})
def model_tags_reach_the_model_card(b: Backend, d: Path) -> Any:
    from huggingface_hub import ModelCard, hf_hub_download

    from pretrained.testing import LocalHub

    model = b.new()
    model.add_model_tags(["tagged", "v4"])
    with LocalHub(root=d / "hub", hf_home=d / "home"), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.push_to_hub("me/tagged", use_auth_token="hf_local")
        card = ModelCard.load(hf_hub_download("me/tagged", "README.md"))
    return {"tags": sorted(card.data.tags),
            "token_warned": any(issubclass(w.category, FutureWarning) for w in caught)}


@scenario(expected=True)
def config_from_pretrained_accepts_use_auth_token(b: Backend, d: Path) -> Any:
    model = b.new()
    model.save_pretrained(d)
    config = type(model.config).from_pretrained(d, use_auth_token=None)
    return json.loads(config.to_json_string()) == json.loads(model.config.to_json_string())


# ============================================================================================== the matrix
@pytest.mark.parametrize("name", scenarios_of(__name__))
def test_same_outcome_in_every_backend(name: str, tmp_path: Path) -> None:
    check_scenario(name, tmp_path)


def test_outputs_are_model_outputs() -> None:
    assert issubclass(type(Backend("torch").run(Backend("torch").new(), input_ids=IDS)), ModelOutput)
