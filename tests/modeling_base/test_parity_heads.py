"""The parity matrix, continued: BERT's further task heads (the causal LM head, pretraining, next sentence, token
classification, question answering, multiple choice) give the same outputs, losses, tuples, generated tokens and
errors on torch, TensorFlow and Flax.
Same machinery as `test_parity.py` (`_parity_matrix.py`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("tensorflow")
pytest.importorskip("flax")

from _parity_matrix import Backend, check_scenario, scenario, scenarios_of, tiny_config  # noqa: E402

from pretrained.checkpoint import to_numpy  # noqa: E402

IDS = np.array([[5, 6, 7, 8, 0], [9, 10, 11, 0, 0]], np.int32)
MASK = (IDS > 0).astype(np.int32)
TOKEN_LABELS = np.where(MASK > 0, IDS % 2, -100)
HEADS = {
    "BertForPreTraining": ({}, {"labels": np.where(IDS == 6, 6, -100), "next_sentence_label": np.array([0, 1])}),
    "BertForNextSentencePrediction": ({}, {"labels": np.array([1, 0])}),
    "BertForTokenClassification": ({}, {"labels": TOKEN_LABELS}),
    "BertForQuestionAnswering": ({"num_labels": 2}, {"start_positions": np.array([1, 9]),
                                                     "end_positions": np.array([3, 2])}),
    "BertForMultipleChoice": ({}, {"labels": np.array([1])}),
}


def _inputs(architecture: str) -> dict[str, np.ndarray]:
    inputs = {"input_ids": IDS, "attention_mask": MASK}
    return {k: v[None] for k, v in inputs.items()} if architecture == "BertForMultipleChoice" else inputs


def _rounded(value: Any) -> Any:
    return np.round(np.asarray(to_numpy(value), np.float64), 3).tolist()


@scenario()
def heads_outputs_and_losses_from_one_checkpoint(b: Backend, d: Path) -> Any:
    """Each head, saved once by torch (same seed in every backend's run), loaded here: fields, values, loss, the
    `return_dict=False` tuple."""
    import torch

    from pretrained.models import bert

    outcome = {}
    for architecture, (overrides, labels) in HEADS.items():
        torch.manual_seed(0)
        getattr(bert, architecture)(tiny_config(**overrides)).save_pretrained(d / architecture)
        model = b.load(architecture, d / architecture)
        inputs = {**_inputs(architecture), **labels}
        out = b.run(model, **inputs)
        outcome[architecture] = {
            "fields": list(out.keys()),
            "values": {k: _rounded(v) for k, v in out.items()},
            "tuple": len(b.run(model, **inputs, return_dict=False)),
        }
    return outcome


@scenario(expected={"raises": "ConfigError", "message": "BertForQuestionAnswering needs config.num_labels == 2 "
                                                        "(start and end logits), got 3"})
def question_answering_needs_two_labels(b: Backend, d: Path) -> Any:
    return b.new("BertForQuestionAnswering")


@scenario(expected={"raises": "ValueError", "explains": True})
def multiple_choice_needs_choices(b: Backend, d: Path) -> Any:
    """Keras puts "Exception encountered when calling ..." before the message: look for it in the whole text."""
    try:
        b.run(b.new("BertForMultipleChoice"), input_ids=IDS, attention_mask=MASK)
    except ValueError as exc:
        return {"raises": "ValueError", "explains": "multiple-choice input_ids must be (batch, num_choices, seq), got "
                                                    "shape (2, 5)" in str(exc)}
    return "no error"


def _saved_decoder(d: Path) -> Path:
    """A decoder `BertLMHeadModel` saved by torch with a fixed seed: the same weights in every backend's run."""
    import torch

    from pretrained.models.bert import BertLMHeadModel

    torch.manual_seed(0)
    BertLMHeadModel(tiny_config(is_decoder=True, initializer_range=0.5)).save_pretrained(d / "decoder")
    return d / "decoder"


@scenario()
def lm_head_generates_the_same_tokens(b: Backend, d: Path) -> Any:
    model = b.load("BertLMHeadModel", _saved_decoder(d))
    outcome = {}
    # greedy and beam search here; without the cache: the v4 fixtures of tests/models/bert
    for name, options in (("greedy", {}), ("beam", {"num_beams": 3, "num_return_sequences": 2})):
        out = model.generate(IDS[:, ::-1].copy(), attention_mask=MASK[:, ::-1].copy(), max_new_tokens=4,
                             return_dict_in_generate=True, **options)
        outcome[name] = np.asarray(to_numpy(out.sequences)).tolist()
    return outcome


@scenario()
def lm_head_generates_over_encoder_states(b: Backend, d: Path) -> Any:
    """Cross-attention in generate(): the encoder states follow the rows (and the beams)."""
    import torch

    from pretrained.models.bert import BertLMHeadModel

    torch.manual_seed(0)
    config = tiny_config(is_decoder=True, add_cross_attention=True, initializer_range=0.5)
    BertLMHeadModel(config).save_pretrained(d / "cross")
    model = b.load("BertLMHeadModel", d / "cross")
    states = np.random.default_rng(0).standard_normal((2, 3, 16)).astype(np.float32)
    states = torch.from_numpy(states) if b.name == "torch" else states
    return {beams: np.asarray(to_numpy(model.generate(IDS[:, :3], encoder_hidden_states=states, max_new_tokens=3,
                                                       num_beams=beams, return_dict_in_generate=True).sequences)
                              ).tolist() for beams in (1, 2)}


@scenario(per_backend={
    "torch": {"uncached": ["logits", "past_key_values"], "cached": ["logits", "past_key_values"], "labels": True},
    "tf": {"uncached": ["logits"], "cached": ["logits", "past_key_values"], "labels": True},
    "flax": {"uncached": ["logits"], "cached": ["logits", "past_key_values"], "labels": True},
})
def lm_head_output_fields(b: Backend, d: Path) -> Any:
    """v4's torch decoder returns its (dynamic) cache on every call; TF and Flax keep a static one, returned when
    given (`init_cache`), as v4's Flax."""
    model = b.load("BertLMHeadModel", _saved_decoder(d))
    cache = {} if b.name == "torch" else {"past_key_values": model.init_cache(2, 5)}
    with_labels = b.run(model, input_ids=IDS, attention_mask=MASK, labels=IDS)
    return {"uncached": list(b.run(model, input_ids=IDS, attention_mask=MASK).keys()),
            "cached": list(b.run(model, input_ids=IDS, attention_mask=MASK, **cache).keys()),
            "labels": list(with_labels.keys())[0] == "loss"}


@scenario(expected={"raises": "ValueError", "message": "add_cross_attention=True needs is_decoder=True"})
def cross_attention_needs_a_decoder(b: Backend, d: Path) -> Any:
    return b.new("BertLMHeadModel", add_cross_attention=True)


@scenario(expected={"raises": "ValueError", "explains": True})
def encoder_states_need_cross_attention(b: Backend, d: Path) -> Any:
    try:
        b.run(b.new("BertLMHeadModel", is_decoder=True), input_ids=IDS, encoder_hidden_states=np.zeros((2, 3, 16),
                                                                                                      np.float32))
    except ValueError as exc:
        return {"raises": "ValueError", "explains": "build the model with config.add_cross_attention=True" in str(exc)}
    return "no error"


@pytest.mark.parametrize("name", scenarios_of(__name__))
def test_same_outcome_in_every_backend(name: str, tmp_path: Path) -> None:
    check_scenario(name, tmp_path)
