"""TensorFlow `TFGenerationMixin`: seeds, v4's TF processor signature, streamers (eager only), the cache-less
path, generation_config files."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

tf = pytest.importorskip("tensorflow")

from pretrained import TFGenerationMixin  # noqa: E402
from pretrained.generation import TokenStreamer  # noqa: E402
from pretrained.models.gpt2 import GPT2Config, TFGPT2LMHeadModel, TFGPT2Model  # noqa: E402
from pretrained.tf.generation import TFLogitsProcessor  # noqa: E402

PROMPT = np.array([[0, 0, 5, 6, 7], [8, 9, 10, 11, 12]], np.int32)
MASK = (PROMPT != 0).astype(np.int32)


@pytest.fixture(scope="module")
def model() -> TFGPT2LMHeadModel:
    config = GPT2Config(vocab_size=40, n_positions=24, n_embd=16, n_layer=2, n_head=2, initializer_range=0.5,
                        bos_token_id=1, eos_token_id=2, pad_token_id=0)
    tf.keras.utils.set_random_seed(0)
    return TFGPT2LMHeadModel(config)


def test_mixin_and_config_file(model, tmp_path):
    assert isinstance(model, TFGenerationMixin) and not TFGPT2Model.can_generate()
    model.save_pretrained(tmp_path)
    assert (tmp_path / "generation_config.json").exists()
    assert TFGPT2LMHeadModel.from_pretrained(tmp_path).generation_config.eos_token_id == 2


def test_seeded_sampling_is_reproducible(model):
    first = model.generate(PROMPT, attention_mask=MASK, do_sample=True, max_new_tokens=6, seed=[1, 2])
    again = model.generate(PROMPT, attention_mask=MASK, do_sample=True, max_new_tokens=6, seed=[1, 2])
    other = model.generate(PROMPT, attention_mask=MASK, do_sample=True, max_new_tokens=6, seed=[3, 4],
                           num_return_sequences=2)
    np.testing.assert_array_equal(first.numpy(), again.numpy())
    assert other.shape[0] == 4


def test_v4_tf_processor_signature_and_streamer(model):
    calls = []

    class BanSeven(TFLogitsProcessor):
        def __call__(self, input_ids, scores, cur_len):
            calls.append((tuple(input_ids.shape), int(cur_len)))  # the fixed buffer and the filled length
            return tf.where(tf.range(scores.shape[-1]) == 7, -float("inf"), scores)

    streamer = TokenStreamer()
    out = model.generate(PROMPT, attention_mask=MASK, max_new_tokens=4, logits_processor=[BanSeven()],
                         streamer=streamer, eos_token_id=None)
    assert calls[0] == ((2, 9), 5) and calls[-1] == ((2, 9), 8)
    assert 7 not in out.numpy()[:, 5:] and streamer.generated_tokens().tolist() == out.numpy()[:, 5:].tolist()
    with pytest.raises(ValueError, match="eager"):
        tf.function(lambda ids: model.generate(ids, max_new_tokens=2, streamer=TokenStreamer()))(PROMPT)


def test_cache_less_path_agrees(model):
    cached = model.generate(PROMPT, attention_mask=MASK, max_new_tokens=5, num_beams=2)
    full = model.generate(PROMPT, attention_mask=MASK, max_new_tokens=5, num_beams=2, use_cache=False)
    np.testing.assert_array_equal(cached.numpy(), full.numpy())


def test_pytorch_only_outputs_are_refused(model):
    with pytest.raises(NotImplementedError, match="PyTorch-only"):
        model.generate(PROMPT, max_new_tokens=2, return_dict_in_generate=True, output_attentions=True)
