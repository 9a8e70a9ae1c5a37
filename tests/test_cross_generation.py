"""Greedy and beam search give the same tokens in PyTorch, TensorFlow and Flax on one set of weights (a random
GPT-2 converted in memory; tests/models/gpt2 checks all three against transformers 4.57.6's own tokens)."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

torch = pytest.importorskip("torch")
pytest.importorskip("tensorflow")
pytest.importorskip("jax")

from pretrained.conversion import convert  # noqa: E402
from pretrained.models.gpt2 import GPT2Config, GPT2LMHeadModel  # noqa: E402

PROMPT = np.array([[0, 0, 0, 4, 9], [3, 14, 15, 9, 2]])
SETTINGS = {
    "greedy": dict(max_new_tokens=7, repetition_penalty=1.3),
    "beam": dict(max_new_tokens=6, num_beams=3, num_return_sequences=2, no_repeat_ngram_size=2,
                 length_penalty=0.8),
}


@pytest.fixture(scope="module")
def models() -> dict[str, object]:
    torch.manual_seed(1)
    config = GPT2Config(vocab_size=30, n_positions=16, n_embd=16, n_layer=2, n_head=2, initializer_range=0.6,
                        bos_token_id=1, eos_token_id=6, pad_token_id=0)
    model = GPT2LMHeadModel(config).eval()
    return {"torch": model, "tf": convert(model, "tf"), "flax": convert(model, "flax")}


@pytest.mark.parametrize("setting", sorted(SETTINGS))
def test_same_tokens_in_every_backend(models, setting):
    kwargs = {**SETTINGS[setting], "attention_mask": (PROMPT != 0).astype(np.int64)}
    expected = models["torch"].generate(torch.tensor(PROMPT), **{**kwargs, "attention_mask": torch.tensor(
        kwargs["attention_mask"])}).numpy()
    tf_tokens = models["tf"].generate(PROMPT, **kwargs).numpy()
    flax_tokens = np.asarray(models["flax"].generate(PROMPT, **kwargs).sequences)
    np.testing.assert_array_equal(tf_tokens, expected)
    np.testing.assert_array_equal(flax_tokens, expected)
    assert expected.shape[1] > PROMPT.shape[1]
