"""The transformers-written fixtures of BERT's further heads, shared by the torch, TF and Flax test files: which
checkpoint holds which head, and the outputs transformers 4.57.6 gave on its inputs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from pretrained.checkpoint import to_numpy

FIXTURES = Path(__file__).parent / "fixtures"

# directory -> (class name without the backend prefix, the output fields transformers saved)
HEAD_FIXTURES = {
    "transformers_bert_heads_pretraining": ("BertForPreTraining", ("prediction_logits", "seq_relationship_logits")),
    "transformers_bert_heads_nsp": ("BertForNextSentencePrediction", ("logits",)),
    "transformers_bert_heads_token_cls": ("BertForTokenClassification", ("logits",)),
    "transformers_bert_heads_qa": ("BertForQuestionAnswering", ("start_logits", "end_logits")),
    "transformers_bert_heads_multiple_choice": ("BertForMultipleChoice", ("logits",)),
    "transformers_tf_bert_heads_pretraining": ("BertForPreTraining", ("prediction_logits", "seq_relationship_logits")),
    "transformers_flax_bert_heads_multiple_choice": ("BertForMultipleChoice", ("logits",)),
}


def fixture_inputs(directory: str) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """`(model inputs, expected outputs)` stored in a fixture's `outputs.npz`."""
    stored = np.load(FIXTURES / directory / "outputs.npz")
    fields = HEAD_FIXTURES[directory][1]
    inputs = {k: stored[k] for k in stored.files if k not in fields}
    return inputs, {k: stored[k] for k in fields}


def heads_config_kwargs(**overrides: object) -> dict[str, object]:
    """The small config the heads' common tests run on."""
    values = dict(vocab_size=99, hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=20,
                  max_position_embeddings=32, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    return {**values, **overrides}


def causal_lm_fixture(name: str) -> tuple[Path, dict[str, np.ndarray], np.ndarray]:
    """`(directory, inputs, transformers' logits)` of a `BertLMHeadModel` fixture (`causal_lm`, `causal_lm_cross`);
    integer inputs as int32, which every backend takes."""
    directory = FIXTURES / f"transformers_bert_heads_{name}"
    stored = np.load(directory / "outputs.npz")
    inputs = {k: stored[k].astype(np.int32) if stored[k].dtype == np.int64 else stored[k]
              for k in stored.files if k != "logits"}
    return directory, inputs, stored["logits"]


def generate_fixture() -> dict:
    """transformers 4.57.6's `generate()` on the `causal_lm` fixture: `prompt` (input ids and attention mask) and
    `cases` (each: `name`, the `kwargs`, the `sequences`, and beam search's `sequences_scores`)."""
    import json

    return json.loads((FIXTURES / "generate_cases.json").read_text())


def check_head_fixture(prefix: str, directory: str, run: Callable[[Any, dict[str, np.ndarray]], Any]) -> None:
    """The `prefix` backend's twin of a fixture's head loads it with nothing missing or unexpected and `run(model,
    int32 inputs)` gives transformers' outputs."""
    import pytest

    from pretrained.models import bert

    if (FIXTURES / directory / "flax_model.msgpack").exists():
        pytest.importorskip("msgpack", reason="v4 Flax checkpoints need msgpack (installed with pretrained[flax])")
    model_class = getattr(bert, prefix + HEAD_FIXTURES[directory][0])
    model, info = model_class.from_pretrained(FIXTURES / directory, output_loading_info=True)
    assert info["missing_keys"] == [] and info["unexpected_keys"] == [] and info["mismatched_keys"] == []
    inputs, expected = fixture_inputs(directory)
    result = run(model, {k: v.astype(np.int32) for k, v in inputs.items()})
    for name, value in expected.items():
        np.testing.assert_allclose(to_numpy(result[name]), value, atol=5e-5, rtol=0, err_msg=f"{directory} {name}")


def check_causal_lm_fixture(auto_class: type, name: str, run: Callable[[Any, dict[str, np.ndarray]], Any]) -> None:
    """`auto_class` (a backend's `AutoModelForCausalLM`) builds the backend's `BertLMHeadModel` from the fixture
    `name`, and it gives transformers' logits (cross-attentions only with cross-attention)."""
    directory, inputs, expected = causal_lm_fixture(name)
    model, info = auto_class.from_pretrained(directory, output_loading_info=True)
    assert type(model).__name__.endswith("BertLMHeadModel")
    assert info["missing_keys"] == [] and info["unexpected_keys"] == [] and info["mismatched_keys"] == []
    out = run(model, {**inputs, "output_attentions": True})
    np.testing.assert_allclose(to_numpy(out.logits), expected, atol=5e-5, rtol=0)
    assert (out.cross_attentions is not None) == (name == "causal_lm_cross")


def check_generate_case(model_class: type, case: dict) -> None:
    """`model_class` (a backend's `BertLMHeadModel`) on the `causal_lm` fixture generates transformers' tokens (and
    beam scores) for `case` of `generate_fixture()`."""
    model = model_class.from_pretrained(FIXTURES / "transformers_bert_heads_causal_lm")
    prompt = {k: np.array(v, np.int32) for k, v in generate_fixture()["prompt"].items()}
    out = model.generate(**prompt, **case["kwargs"], return_dict_in_generate=True, output_scores=True)
    assert to_numpy(out.sequences).tolist() == case["sequences"]
    if "sequences_scores" in case:
        np.testing.assert_allclose(to_numpy(out.sequences_scores), case["sequences_scores"], atol=1e-4)
