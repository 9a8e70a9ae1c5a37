"""The processors and criteria are written once: the same numbers in PyTorch, TensorFlow and JAX, on the exact
sequence (v4's PyTorch call) and on a fixed-size buffer with `cur_len` (v4's TF / Flax call), and v4's rules."""

from __future__ import annotations

import numpy as np
import pytest

from pretrained.generation import logits_process as lp
from pretrained.generation.stopping_criteria import EosTokenCriteria, MaxLengthCriteria, StoppingCriteriaList
from pretrained.generation.streamers import TokenStreamer

torch = pytest.importorskip("torch")
tf = pytest.importorskip("tensorflow")
jnp = pytest.importorskip("jax.numpy")

VOCAB = 12
IDS = np.array([[3, 4, 5, 3, 4], [7, 7, 8, 9, 1]])  # sequences of 5 tokens
BUFFER = np.concatenate([IDS, np.full((2, 3), 11)], axis=1)  # the same in an 8-column buffer (filler 11)
SCORES = np.random.default_rng(0).normal(size=(2, VOCAB)).astype(np.float32)
SCORES[0, 4] = -2.0  # a negative score on a repeated token

PROCESSORS = {
    "temperature": lp.TemperatureLogitsWarper(0.5),
    "top_k": lp.TopKLogitsWarper(3),
    "top_p": lp.TopPLogitsWarper(0.7),
    "min_p": lp.MinPLogitsWarper(0.2, min_tokens_to_keep=2),
    "repetition": lp.RepetitionPenaltyLogitsProcessor(1.5),
    "no_repeat_2gram": lp.NoRepeatNGramLogitsProcessor(2),
    "no_repeat_1gram": lp.NoRepeatNGramLogitsProcessor(1),
    "bad_words": lp.NoBadWordsLogitsProcessor([[2], [4, 6], [9, 1, 10], [0]], eos_token_id=0),
    "min_length": lp.MinLengthLogitsProcessor(6, [0, 1]),
    "min_new_tokens": lp.MinNewTokensLengthLogitsProcessor(3, 3, 1),
    "forced_eos": lp.ForcedEOSTokenLogitsProcessor(6, 1),
    "suppress": lp.SuppressTokensLogitsProcessor([2, 3]),
    "suppress_at_begin": lp.SuppressTokensAtBeginLogitsProcessor([4], 5),
    "renormalize": lp.LogitNormalization(),
}


def _v4_banned_ngrams(ids: list[int], n: int) -> list[int]:
    """transformers v4's Python rule, for reference."""
    prefix = tuple(ids[len(ids) - n + 1:])
    return [ids[i + n - 1] for i in range(len(ids) - n + 1) if tuple(ids[i:i + n - 1]) == prefix]


@pytest.mark.parametrize("name", sorted(PROCESSORS))
def test_same_result_in_every_backend(name):
    processor = PROCESSORS[name]
    reference = processor(torch.tensor(IDS), torch.tensor(SCORES)).numpy()  # v4's PyTorch call
    with_tf = processor(tf.constant(BUFFER), tf.constant(SCORES), tf.constant(5)).numpy()
    with_jax = np.asarray(processor(jnp.asarray(BUFFER), jnp.asarray(SCORES), jnp.asarray(5)))
    np.testing.assert_allclose(with_tf, reference, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(with_jax, reference, rtol=1e-6, atol=1e-6)


def test_rules_are_v4s():
    out = {name: p(torch.tensor(IDS), torch.tensor(SCORES)).numpy() for name, p in PROCESSORS.items()}
    assert out["repetition"][0, 4] == pytest.approx(-3.0) and out["repetition"][0, 3] == pytest.approx(SCORES[0, 3] / 1.5)
    for row in range(2):
        banned = set(_v4_banned_ngrams(IDS[row].tolist(), 2))
        assert set(np.flatnonzero(np.isinf(out["no_repeat_2gram"][row]))) == banned
    assert set(np.flatnonzero(np.isinf(out["no_repeat_1gram"][1]))) == {7, 8, 9, 1}
    assert np.isinf(out["bad_words"][:, 2]).all() and not np.isinf(out["bad_words"][:, 0]).any()
    assert np.isinf(out["bad_words"][0, 6]) and not np.isinf(out["bad_words"][1, 6])  # [4, 6] after a 4
    assert np.isinf(out["bad_words"][1, 10]) and not np.isinf(out["bad_words"][0, 10])  # [9, 1, 10] after 9, 1
    assert np.isinf(out["min_length"][:, [0, 1]]).all()
    assert np.isinf(out["min_new_tokens"][:, 1]).all()  # 5 - 3 = 2 new tokens < 3: no eos yet
    assert (np.isinf(out["forced_eos"]).sum(axis=-1) == VOCAB - 1).all() and (out["forced_eos"][:, 1] == 0).all()
    assert (np.isfinite(out["top_k"]).sum(axis=-1) == 3).all()
    np.testing.assert_allclose(np.exp(out["renormalize"]).sum(-1), 1.0, rtol=1e-5)


def test_length_processors_switch_off():
    later = lp.MinNewTokensLengthLogitsProcessor(prompt_length_to_skip=2, min_new_tokens=3, eos_token_id=1)
    assert not np.isinf(later(torch.tensor(IDS), torch.tensor(SCORES)).numpy()).any()  # 3 new tokens already
    early = lp.ForcedEOSTokenLogitsProcessor(max_length=9, eos_token_id=1)
    assert not np.isinf(early(torch.tensor(IDS), torch.tensor(SCORES)).numpy()).any()


def test_processor_arguments_are_checked():
    with pytest.raises(ValueError, match="temperature"):
        lp.TemperatureLogitsWarper(0.0)
    with pytest.raises(ValueError, match="top_p"):
        lp.TopPLogitsWarper(1.5)
    with pytest.raises(ValueError, match="list of lists"):
        lp.NoBadWordsLogitsProcessor([1, 2])
    with pytest.raises(NotImplementedError, match="__call__"):
        lp.LogitsProcessor()(torch.tensor(IDS), torch.tensor(SCORES))
    with pytest.raises(TypeError, match="PyTorch, TensorFlow or JAX"):
        lp.TopKLogitsWarper(2)(IDS, SCORES)


def test_stopping_criteria_on_every_backend():
    criteria = StoppingCriteriaList([MaxLengthCriteria(6), EosTokenCriteria([4, 1])])
    assert criteria(torch.tensor(IDS), None).tolist() == [True, True]
    assert criteria(tf.constant(BUFFER), None, tf.constant(4)).numpy().tolist() == [False, False]
    assert np.asarray(criteria(jnp.asarray(BUFFER), None, 6)).tolist() == [True, True]  # max length
    assert criteria.max_length == 6


def test_token_streamer_collects_steps():
    seen = []
    streamer = TokenStreamer(on_token=seen.append, skip_prompt=False)
    streamer.put(torch.tensor([[1, 2]]))
    streamer.put(torch.tensor([3]))
    streamer.end()
    assert seen[0].tolist() == [[1, 2]] and seen[1].tolist() == [3] and streamer.generated_tokens().tolist() == [[3]]
