"""GenerationConfig: v4 defaults and names, validation before any compute, JSON round trips (v4 files too)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pretrained import PretrainedConfig
from pretrained.errors import ConfigError
from pretrained.generation import GenerationConfig, GenerationMode

FIXTURE = Path(__file__).parents[1] / "models" / "gpt2" / "fixtures" / "transformers_gpt2_tiny"


def test_v4_defaults_and_modes():
    config = GenerationConfig()
    assert (config.max_length, config.num_beams, config.top_k, config.top_p, config.temperature) == (20, 1, 50, 1.0, 1.0)
    assert config.early_stopping is False and config.do_sample is False
    assert config.get_generation_mode() is GenerationMode.GREEDY_SEARCH
    assert GenerationConfig(do_sample=True).get_generation_mode() is GenerationMode.SAMPLE
    assert GenerationConfig(num_beams=2).get_generation_mode() is GenerationMode.BEAM_SEARCH
    assert GenerationConfig(num_beams=2, do_sample=True).get_generation_mode() is GenerationMode.BEAM_SAMPLE


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"do_sample": True, "temperature": -0.5}, "temperature"),
    ({"temperature": -1.0}, "temperature"),
    ({"do_sample": True, "temperature": 0.0}, "strictly positive"),
    ({"top_p": 0.0}, r"top_p` has to be a float in \(0, 1\]"),
    ({"top_p": 1.01}, "top_p"),
    ({"num_beams": 0}, "num_beams"),
    ({"max_new_tokens": -1}, "max_new_tokens"),
    ({"max_new_tokens": 0}, "greater than 0"),
    ({"num_beams": 2, "num_return_sequences": 3}, "smaller or equal to `num_beams`"),
    ({"num_return_sequences": 2}, "Greedy methods"),
    ({"early_stopping": "sometimes"}, "early_stopping"),
    ({"repetition_penalty": 0.0}, "repetition_penalty"),
    ({"min_p": 2.0}, "min_p"),
    ({"top_k": -3}, "top_k"),
    ({"no_repeat_ngram_size": 1.5}, "no_repeat_ngram_size"),
    ({"bad_words_ids": [1, 2]}, "bad_words_ids"),
    ({"bad_words_ids": [[1], []]}, "bad_words_ids"),
    ({"eos_token_id": "2"}, "eos_token_id"),
    ({"streamer": object()}, "passed to `generate"),
])
def test_bad_values_fail_at_construction(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        GenerationConfig(**kwargs)


def test_sampling_with_many_return_sequences_is_allowed():
    assert GenerationConfig(do_sample=True, num_return_sequences=3).num_return_sequences == 3


def test_update_validates_and_returns_the_rest():
    config = GenerationConfig()
    assert config.update(max_new_tokens=5, attention_mask="x") == {"attention_mask": "x"}
    with pytest.raises(ConfigError, match="num_beams"):
        config.update(num_beams=-1)


def test_save_load_round_trip_and_diff(tmp_path):
    config = GenerationConfig(do_sample=True, top_k=7, eos_token_id=[2, 3], my_custom_field=1)
    config.save_pretrained(tmp_path)
    written = json.loads((tmp_path / "generation_config.json").read_text())
    assert written["top_k"] == 7 and written["my_custom_field"] == 1 and "num_beams" not in written
    loaded = GenerationConfig.from_pretrained(tmp_path)
    assert loaded == config and loaded.eos_token_id == [2, 3]
    assert GenerationConfig.from_pretrained(tmp_path, top_k=3).top_k == 3
    with pytest.raises(OSError):
        GenerationConfig.from_pretrained(tmp_path / "missing")


def test_loads_the_file_transformers_wrote():
    config = GenerationConfig.from_pretrained(FIXTURE)
    assert (config.bos_token_id, config.eos_token_id, config.pad_token_id) == (1, 2, 0)


def test_invalid_file_names_it(tmp_path):
    (tmp_path / "generation_config.json").write_text(json.dumps({"num_beams": 0}))
    with pytest.raises(ConfigError, match="generation_config.json"):
        GenerationConfig.from_pretrained(tmp_path)


def test_from_model_config_takes_tokens_and_legacy_values():
    config = GenerationConfig.from_model_config(PretrainedConfig(eos_token_id=5, pad_token_id=0, num_beams=3))
    assert (config.eos_token_id, config.pad_token_id, config.num_beams) == (5, 0, 3)
    assert config._from_model_config is True


def test_ignored_flags_warn_and_strict_raises(caplog):
    with caplog.at_level("WARNING"):
        GenerationConfig(temperature=0.7, top_p=0.8)
    assert "only used in sample-based generation modes" in caplog.text or "may be ignored" in caplog.text
    with pytest.raises(ConfigError, match="invalid"):
        GenerationConfig(num_beams=1, length_penalty=2.0).validate(strict=True)
