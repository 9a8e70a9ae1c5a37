"""PyTorch `GenerationMixin`: generation_config files, can_generate, inputs, processors / criteria / streamers,
outputs, and errors before any compute."""

from __future__ import annotations

import json

import pytest
import torch

from pretrained import AutoModelForCausalLM, GenerationConfig, GenerationMixin
from pretrained.errors import ConfigError
from pretrained.generation import LogitsProcessor, StoppingCriteria, TokenStreamer
from pretrained.models.gpt2 import GPT2Config, GPT2LMHeadModel, GPT2Model

PROMPT = torch.tensor([[0, 0, 5, 6, 7], [8, 9, 10, 11, 12]])
MASK = torch.tensor([[0, 0, 1, 1, 1], [1, 1, 1, 1, 1]])


@pytest.fixture(scope="module")
def model() -> GPT2LMHeadModel:
    torch.manual_seed(0)
    config = GPT2Config(vocab_size=40, n_positions=24, n_embd=16, n_layer=2, n_head=2, initializer_range=0.5,
                        bos_token_id=1, eos_token_id=2, pad_token_id=0)
    return GPT2LMHeadModel(config).eval()


def test_generation_config_files(model, tmp_path):
    model.generation_config = GenerationConfig(eos_token_id=2, pad_token_id=0, top_k=7)
    model.save_pretrained(tmp_path / "lm")
    assert json.loads((tmp_path / "lm" / "generation_config.json").read_text())["top_k"] == 7
    assert GPT2LMHeadModel.from_pretrained(tmp_path / "lm").generation_config.top_k == 7
    overridden = GPT2LMHeadModel.from_pretrained(tmp_path / "lm", generation_config=GenerationConfig(top_k=3))
    assert overridden.generation_config.top_k == 3
    (tmp_path / "lm" / "generation_config.json").unlink()  # absent: derived from the model config (v4)
    derived = GPT2LMHeadModel.from_pretrained(tmp_path / "lm").generation_config
    assert (derived.top_k, derived.eos_token_id, derived.bos_token_id) == (50, 2, 1)
    GPT2Model(model.config).save_pretrained(tmp_path / "base")
    assert not (tmp_path / "base" / "generation_config.json").exists()
    model.generation_config = None


def test_push_to_hub_uploads_the_generation_config(model, local_hub):
    model.push_to_hub("me/tiny-gpt2")
    loaded = AutoModelForCausalLM.from_pretrained("me/tiny-gpt2")
    assert loaded.generation_config.eos_token_id == 2


def test_can_generate_and_refusal():
    assert GPT2LMHeadModel.can_generate() and not GPT2Model.can_generate()

    class Custom(GPT2Model):  # defines its own hook: can generate (v4's rule)
        def prepare_inputs_for_generation(self, input_ids, **kwargs):
            return {"input_ids": input_ids}

    class Listed(GPT2Model, GenerationMixin):
        pass

    assert Custom.can_generate() and Listed.can_generate()
    with pytest.raises(TypeError, match="not compatible with `.generate\\(\\)`"):
        GPT2Model(GPT2Config(vocab_size=10, n_embd=8, n_layer=1, n_head=2)).generate(torch.tensor([[1]]))


@pytest.mark.parametrize(("kwargs", "error", "message"), [
    ({"temperature": -1.0, "do_sample": True}, ConfigError, "temperature"),
    ({"top_p": 1.5, "do_sample": True}, ConfigError, "top_p"),
    ({"num_beams": 0}, ConfigError, "num_beams"),
    ({"max_new_tokens": -2}, ConfigError, "max_new_tokens"),
    ({"num_beams": 2, "num_return_sequences": 3}, ConfigError, "num_return_sequences"),
    ({"max_new_tokens": 30}, ValueError, "position table"),
    ({"typical_p": 0.3, "do_sample": True}, NotImplementedError, "typical_p"),
])
def test_bad_requests_fail_before_any_compute(model, monkeypatch, kwargs, error, message):
    def forward(*args, **kwargs):
        raise AssertionError("the model ran")

    monkeypatch.setattr(model, "forward", forward)
    with pytest.raises(error, match=message):
        model.generate(PROMPT, attention_mask=MASK, **kwargs)


def test_cache_and_no_cache_agree(model):
    cached = model.generate(PROMPT, attention_mask=MASK, max_new_tokens=6)
    uncached = model.generate(PROMPT, attention_mask=MASK, max_new_tokens=6, use_cache=False)
    assert torch.equal(cached, uncached)


def test_attention_mask_is_inferred_from_padding(model):
    explicit = model.generate(PROMPT, attention_mask=MASK, max_new_tokens=4, eos_token_id=None)
    inferred = model.generate(PROMPT, max_new_tokens=4, eos_token_id=None)  # pad 0 in the prompt, not an eos
    assert torch.equal(explicit, inferred)


def test_user_processor_criteria_and_streamer(model):
    class BanFive(LogitsProcessor):
        def __call__(self, input_ids, scores):
            assert input_ids.shape[1] >= PROMPT.shape[1]  # v4: the exact sequence so far
            return scores.index_fill(1, torch.tensor([5]), -float("inf"))

    class StopAfterThree(StoppingCriteria):
        def __call__(self, input_ids, scores):
            return torch.full((input_ids.shape[0],), input_ids.shape[1] >= PROMPT.shape[1] + 3)

    streamer = TokenStreamer()
    out = model.generate(PROMPT[1:], max_new_tokens=10, logits_processor=[BanFive()],
                         stopping_criteria=[StopAfterThree()], streamer=streamer, eos_token_id=None,
                         return_dict_in_generate=True, output_scores=True, output_logits=True)
    assert out.sequences.shape == (1, 8) and 5 not in out.sequences[0, 5:].tolist()
    assert len(out.scores) == len(out.logits) == 3 and torch.isinf(out.scores[0][:, 5]).all()
    assert streamer.finished and streamer.prompt.tolist() == PROMPT[1:].tolist()
    assert streamer.generated_tokens().tolist() == out.sequences[:, 5:].tolist()


def test_outputs_of_each_strategy(model):
    out = model.generate(PROMPT, attention_mask=MASK, max_new_tokens=3, return_dict_in_generate=True,
                         output_attentions=True, output_hidden_states=True)
    assert type(out).__name__ == "GenerateDecoderOnlyOutput" and out.scores is None
    assert len(out.attentions) == 3 and len(out.attentions[0]) == 2 and len(out.hidden_states[1]) == 3
    assert len(out.past_key_values) == 2
    torch.manual_seed(0)
    sampled = model.generate(PROMPT, attention_mask=MASK, do_sample=True, num_return_sequences=3, max_new_tokens=4)
    torch.manual_seed(0)
    again = model.generate(PROMPT, attention_mask=MASK, do_sample=True, num_return_sequences=3, max_new_tokens=4)
    assert sampled.shape == (6, 9) and torch.equal(sampled, again)
    beams = model.generate(PROMPT, attention_mask=MASK, num_beams=3, num_return_sequences=2, max_new_tokens=4,
                           do_sample=True, return_dict_in_generate=True, output_scores=True)
    assert beams.sequences.shape[0] == 4 and beams.sequences_scores.shape == (4,) and len(beams.scores) == 4


def test_streamer_is_refused_with_beams(model):
    with pytest.raises(ValueError, match="streamer"):
        model.generate(PROMPT, num_beams=2, streamer=TokenStreamer())
