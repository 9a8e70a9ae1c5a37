"""Flax GPT-2: the common Flax model tests, transformers' checkpoint, and `generate()` (compiled) equal to
transformers 4.57.6's PyTorch `generate()` — beam search included (v4's own Flax beam search differed)."""

from __future__ import annotations

import numpy as np
import pytest

jnp = pytest.importorskip("jax.numpy")

from _gpt2_support import CHECKPOINT, case, tiny_config_kwargs, tiny_numpy_inputs  # noqa: E402

from pretrained import FlaxAutoModelForCausalLM  # noqa: E402
from pretrained.models.gpt2 import (  # noqa: E402
    FlaxGPT2ForSequenceClassification,
    FlaxGPT2LMHeadModel,
    FlaxGPT2Model,
    GPT2Config,
)
from pretrained.testing.flax_mixin import FlaxModelTesterMixin  # noqa: E402

# a few compiled loops: each distinct setting compiles once (the full list runs eagerly in the TF and torch tests)
CHECKED = ["greedy", "greedy_eos", "bad_words", "beam_eos", "beam_penalties"]


class TestFlaxGPT2(FlaxModelTesterMixin):
    all_model_classes = (FlaxGPT2Model, FlaxGPT2LMHeadModel, FlaxGPT2ForSequenceClassification)
    base_model_class = FlaxGPT2Model
    test_pruning = False  # as v4's Flax GPT-2

    def get_config(self) -> GPT2Config:
        return GPT2Config(**tiny_config_kwargs())

    def get_inputs(self, config: GPT2Config) -> dict[str, np.ndarray]:
        return tiny_numpy_inputs()


@pytest.fixture(scope="module")
def model() -> FlaxGPT2LMHeadModel:
    return FlaxAutoModelForCausalLM.from_pretrained(CHECKPOINT)


def test_transformers_checkpoint_loads_with_equal_logits():
    loaded, info = FlaxGPT2LMHeadModel.from_pretrained(CHECKPOINT, output_loading_info=True)
    assert info["missing_keys"] == [] and info["unexpected_keys"] == []
    expected = np.load(CHECKPOINT / "outputs.npz")
    logits = np.asarray(loaded(expected["input_ids"], attention_mask=expected["attention_mask"]).logits)
    real = expected["attention_mask"].astype(bool)
    np.testing.assert_allclose(logits[real], expected["logits"][real], atol=1e-4, rtol=0)


@pytest.mark.parametrize("name", CHECKED)
def test_generate_equals_transformers(model, name):
    recorded = case(name)
    inputs = {k: jnp.asarray(v) for k, v in recorded["inputs"].items()}
    out = model.generate(**inputs, **recorded["kwargs"], output_scores=True)
    assert np.asarray(out.sequences).tolist() == recorded["sequences"]
    if "sequences_scores" in recorded:
        np.testing.assert_allclose(np.asarray(out.sequences_scores), recorded["sequences_scores"], atol=1e-4, rtol=0)
        assert np.asarray(out.beam_indices).tolist() == recorded["beam_indices"]


def test_sequence_classification_pools_last_real_token():
    model = FlaxGPT2ForSequenceClassification(GPT2Config(**tiny_config_kwargs()))
    ids = jnp.array([[5, 6, 7, 0, 0]])
    np.testing.assert_allclose(np.asarray(model(ids).logits), np.asarray(model(ids[:, :3]).logits), atol=1e-6)
