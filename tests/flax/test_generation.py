"""Flax `FlaxGenerationMixin`: the compiled loop is built once per setting, `trace=False` gives the same tokens,
PRNG keys, v4's Flax processor signature, streamers from inside the compiled loop."""

from __future__ import annotations

import numpy as np
import pytest

jax = pytest.importorskip("jax")
import jax.numpy as jnp  # noqa: E402

from pretrained import FlaxGenerationMixin  # noqa: E402
from pretrained.flax.generation import _COMPILED, FlaxLogitsProcessor  # noqa: E402
from pretrained.generation import TokenStreamer  # noqa: E402
from pretrained.models.gpt2 import FlaxGPT2LMHeadModel, GPT2Config  # noqa: E402

PROMPT = jnp.array([[0, 0, 5, 6, 7], [8, 9, 10, 11, 12]])
MASK = (PROMPT != 0).astype(jnp.int32)


@pytest.fixture(scope="module")
def model() -> FlaxGPT2LMHeadModel:
    config = GPT2Config(vocab_size=40, n_positions=24, n_embd=16, n_layer=2, n_head=2, initializer_range=0.5,
                        bos_token_id=1, eos_token_id=2, pad_token_id=0)
    return FlaxGPT2LMHeadModel(config, rngs=0)


def test_compiled_once_per_setting_and_eager_agrees(model):
    assert isinstance(model, FlaxGenerationMixin)
    first = model.generate(PROMPT, attention_mask=MASK, max_new_tokens=4).sequences
    compiled = len(_COMPILED[model])
    again = model.generate(PROMPT, attention_mask=MASK, max_new_tokens=4).sequences
    assert len(_COMPILED[model]) == compiled  # reused
    eager = model.generate(PROMPT, attention_mask=MASK, max_new_tokens=4, trace=False).sequences
    np.testing.assert_array_equal(np.asarray(first), np.asarray(again))
    np.testing.assert_array_equal(np.asarray(first), np.asarray(eager))


def test_prng_key_and_streamer(model):
    streamer = TokenStreamer()
    key = jax.random.PRNGKey(3)
    out = model.generate(PROMPT, attention_mask=MASK, do_sample=True, max_new_tokens=4, prng_key=key,
                         streamer=streamer, eos_token_id=None).sequences
    again = model.generate(PROMPT, attention_mask=MASK, do_sample=True, max_new_tokens=4, prng_key=key,
                           eos_token_id=None).sequences
    np.testing.assert_array_equal(np.asarray(out), np.asarray(again))
    assert streamer.finished and streamer.generated_tokens().tolist() == np.asarray(out)[:, 5:].tolist()


def test_v4_flax_processor_signature(model):
    class BanSeven(FlaxLogitsProcessor):
        def __call__(self, input_ids, scores, cur_len):
            assert input_ids.shape == (2, 9)  # the fixed-size buffer; `cur_len` is traced
            return jnp.where(jnp.arange(scores.shape[-1]) == 7, -jnp.inf, scores)

    out = model.generate(PROMPT, attention_mask=MASK, max_new_tokens=4, logits_processor=[BanSeven()],
                         eos_token_id=None, trace=False)
    assert 7 not in np.asarray(out.sequences)[:, 5:]


def test_params_argument_is_refused(model):
    with pytest.raises(NotImplementedError, match="params"):
        model.generate(PROMPT, params={})
