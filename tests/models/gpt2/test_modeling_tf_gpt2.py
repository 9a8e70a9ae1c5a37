"""TF GPT-2: the common TF model tests, transformers' checkpoint, and `generate()` (eager and XLA) equal to
transformers 4.57.6's PyTorch `generate()`."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

tf = pytest.importorskip("tensorflow")

from _gpt2_support import CASES, CHECKPOINT, case, tiny_config_kwargs, tiny_numpy_inputs  # noqa: E402

from pretrained import TFAutoModelForCausalLM  # noqa: E402
from pretrained.models.gpt2 import (  # noqa: E402
    GPT2Config,
    TFGPT2ForSequenceClassification,
    TFGPT2LMHeadModel,
    TFGPT2Model,
)
from pretrained.testing.tf_mixin import TFModelTesterMixin  # noqa: E402

GREEDY_AND_BEAM = [c["name"] for c in CASES["cases"] if c["seed"] is None]


class TestTFGPT2(TFModelTesterMixin):
    all_model_classes = (TFGPT2Model, TFGPT2ForSequenceClassification, TFGPT2LMHeadModel)
    base_model_class = TFGPT2Model
    test_pruning = False  # as v4's TF GPT-2

    def get_config(self) -> GPT2Config:
        return GPT2Config(**tiny_config_kwargs())

    def get_inputs(self, config: GPT2Config) -> dict[str, np.ndarray]:
        return tiny_numpy_inputs()


@pytest.fixture(scope="module")
def model() -> TFGPT2LMHeadModel:
    return TFAutoModelForCausalLM.from_pretrained(CHECKPOINT)


def test_transformers_checkpoint_loads_with_equal_logits():
    loaded, info = TFGPT2LMHeadModel.from_pretrained(CHECKPOINT, output_loading_info=True)
    assert info["missing_keys"] == [] and info["unexpected_keys"] == []
    expected = np.load(CHECKPOINT / "outputs.npz")
    logits = loaded(expected["input_ids"], attention_mask=expected["attention_mask"]).logits.numpy()
    real = expected["attention_mask"].astype(bool)
    np.testing.assert_allclose(logits[real], expected["logits"][real], atol=1e-4, rtol=0)


@pytest.mark.parametrize("name", GREEDY_AND_BEAM)
def test_generate_equals_transformers(model, name):
    recorded = case(name)
    inputs = {k: np.array(v) for k, v in recorded["inputs"].items()}
    out = model.generate(**inputs, **recorded["kwargs"], return_dict_in_generate=True, output_scores=True)
    assert out.sequences.numpy().tolist() == recorded["sequences"]
    if "sequences_scores" in recorded:
        np.testing.assert_allclose(out.sequences_scores.numpy(), recorded["sequences_scores"], atol=1e-4, rtol=0)
        assert out.beam_indices.numpy().tolist() == recorded["beam_indices"]


def test_xla_generate_equals_transformers(model):
    """`tf.function(generate, jit_compile=True)` (beam search with end-of-sequence, the most involved loop):
    fixed-shape output padded to max_length, the same tokens."""
    recorded = case("beam_eos")
    inputs = {k: tf.constant(v) for k, v in recorded["inputs"].items()}
    compiled = tf.function(lambda ids, mask: model.generate(ids, attention_mask=mask, **recorded["kwargs"]),
                           jit_compile=True)
    sequences = compiled(inputs["input_ids"], inputs["attention_mask"]).numpy()
    expected = np.array(recorded["sequences"])
    prompt, new = len(recorded["inputs"]["input_ids"][0]), recorded["kwargs"]["max_new_tokens"]
    assert sequences.shape == (expected.shape[0], prompt + new)
    np.testing.assert_array_equal(sequences[:, :expected.shape[1]], expected)
