"""What generate() decides before any compute: lengths, the position table, processors (v4 order), criteria."""

from __future__ import annotations

import pytest

from pretrained import PretrainedConfig
from pretrained.generation import GenerationConfig, TopKLogitsWarper
from pretrained.generation.logits_process import LogitsProcessor
from pretrained.generation.planning import plan_generation, prepare_generation_config
from pretrained.generation.stopping_criteria import EosTokenCriteria, MaxLengthCriteria, StoppingCriteria

MODEL = PretrainedConfig(vocab_size=50, max_position_embeddings=32)


def plan(prompt_length=4, generation=None, **kwargs):
    config, _ = prepare_generation_config(generation or GenerationConfig(eos_token_id=2), None, kwargs)
    return plan_generation(config, MODEL, batch_size=2, prompt_length=prompt_length)


def test_default_is_twenty_new_tokens_capped_by_the_table():
    assert plan(prompt_length=4).spec.max_length == 24
    assert plan(prompt_length=20).spec.max_length == 32
    assert plan(max_new_tokens=3).spec.max_length == 7
    assert plan(max_length=10).spec.max_length == 10


def test_length_errors_before_compute():
    with pytest.raises(ValueError, match="max_position_embeddings=32"):
        plan(prompt_length=33)
    with pytest.raises(ValueError, match="position table"):
        plan(max_new_tokens=40)
    with pytest.raises(ValueError, match="Input length of input_ids is 12, but `max_length` is set to 10"):
        plan(prompt_length=12, max_length=10)


def test_processors_follow_v4_order_and_warpers_only_when_sampling():
    names = [type(p).__name__ for p in plan(repetition_penalty=1.2, no_repeat_ngram_size=2, bad_words_ids=[[3]],
                                            min_new_tokens=2, do_sample=True, temperature=0.5, top_p=0.9,
                                            min_p=0.1).processors]
    assert names == ["RepetitionPenaltyLogitsProcessor", "NoRepeatNGramLogitsProcessor", "NoBadWordsLogitsProcessor",
                     "MinLengthLogitsProcessor", "MinNewTokensLengthLogitsProcessor", "TemperatureLogitsWarper",
                     "TopKLogitsWarper", "TopPLogitsWarper", "MinPLogitsWarper"]
    assert plan(temperature=0.5).processors == []  # greedy: warpers are not built (v4 warns)


def test_beam_sampling_keeps_one_more_token_than_eos():
    warpers = plan(num_beams=2, do_sample=True, top_k=1).processors
    assert warpers[0].top_k == 2


def test_custom_processors_and_criteria():
    class Mine(LogitsProcessor):
        def __call__(self, input_ids, scores):
            return scores

    class Stop(StoppingCriteria):
        def __call__(self, input_ids, scores):
            return input_ids[:, -1] == 7

    config, _ = prepare_generation_config(GenerationConfig(eos_token_id=2), None, {"do_sample": True})
    custom_top_k, mine, stop = TopKLogitsWarper(3), Mine(), Stop()
    result = plan_generation(config, MODEL, batch_size=1, prompt_length=3, logits_processor=[mine, custom_top_k],
                             stopping_criteria=[stop])
    # v4: custom processors follow the default ones; the sampling warpers come after both
    assert result.processors[:2] == [mine, custom_top_k] and result.processors[2].top_k == 50
    assert [type(c) for c in result.criteria] == [MaxLengthCriteria, EosTokenCriteria, Stop]


def test_pad_falls_back_to_eos_and_spec():
    spec = plan(num_beams=3, num_return_sequences=2, max_new_tokens=5).spec
    assert (spec.pad_token_id, spec.eos_token_ids, spec.rows, spec.new_tokens) == (2, (2,), 6, 5)


def test_unsupported_and_invalid_requests():
    with pytest.raises(NotImplementedError, match="typical_p"):
        plan(typical_p=0.5)
    with pytest.raises(ValueError, match="outside"):
        plan(bad_words_ids=[[60]])
    config, _ = prepare_generation_config(GenerationConfig(), None, {"num_beams": 2})
    with pytest.raises(ValueError, match="streamer"):
        plan_generation(config, MODEL, batch_size=1, prompt_length=3, streamer=object())


def test_passed_config_keeps_model_defaults():
    model_config = GenerationConfig(eos_token_id=9, top_k=5)
    config, extra = prepare_generation_config(model_config, GenerationConfig(num_beams=2), {"attention_mask": 1})
    assert (config.eos_token_id, config.top_k, config.num_beams, extra) == (9, 5, 2, {"attention_mask": 1})
    assert model_config.num_beams == 1  # nothing passed in is modified
