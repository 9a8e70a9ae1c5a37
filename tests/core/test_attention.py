"""Attention implementations, the framework-free rules: supported values, the default, refusals, eager fallbacks."""

from __future__ import annotations

import logging

import pytest

from pretrained import ConfigError, PretrainedConfig
from pretrained.attention import (
    attention_head_size,
    autoset_attn_implementation,
    check_attn_implementation,
    effective_implementation,
    supported_attn_implementations,
)
from pretrained.utils import logging as pretrained_logging


class Fused:
    _supports_sdpa = True


class EagerOnly:
    pass


def test_supported_values_and_default():
    assert supported_attn_implementations(Fused) == ("eager", "sdpa")
    assert supported_attn_implementations(EagerOnly) == ("eager",)
    for model_class, default in ((Fused, "sdpa"), (EagerOnly, "eager")):
        config = PretrainedConfig()
        assert config._attn_implementation == "eager"  # v4: unset reads as eager
        autoset_attn_implementation(model_class, config)
        assert config._attn_implementation == default


def test_requested_value_is_kept_or_refused_with_the_supported_list():
    config = PretrainedConfig(attn_implementation="eager")
    autoset_attn_implementation(Fused, config)
    assert config._attn_implementation == "eager"
    with pytest.raises(ConfigError, match=r"Fused does not support attn_implementation='flash_attention_2': "
                                          r"supported attn_implementation values are \['eager', 'sdpa'\]$"):
        check_attn_implementation(Fused, "flash_attention_2")
    with pytest.raises(ConfigError, match=r"\['eager'\] \(a model supports 'sdpa' when its class sets"):
        autoset_attn_implementation(EagerOnly, PretrainedConfig(attn_implementation="sdpa"))


def test_attn_implementation_is_not_saved():
    config = PretrainedConfig(attn_implementation="sdpa")
    assert "attn_implementation" not in config.to_json_string() and config._attn_implementation == "sdpa"


def test_fused_calls_fall_back_to_eager_with_one_warning(caplog):
    pretrained_logging._SEEN.clear()
    with caplog.at_level(logging.WARNING, logger="pretrained"):
        assert effective_implementation("sdpa", output_attentions=True, caller="A") == "eager"
        assert effective_implementation("sdpa", output_attentions=True, caller="A") == "eager"
        assert effective_implementation("sdpa", head_mask=True, dropout=True, caller="A") == "eager"
        assert effective_implementation("sdpa", caller="A") == "sdpa"
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2 and "output_attentions=True" in messages[0]
    assert "a head_mask or attention dropout in training" in messages[1]


def test_heads_must_divide_the_hidden_size():
    assert attention_head_size(768, 12) == 64
    with pytest.raises(ConfigError, match=r"The hidden size \(37\) is not a multiple of the number of attention "
                                          r"heads \(4\)"):
        attention_head_size(37, 4)
    for hidden, heads, bad in ((8, 0, "num_attention_heads must be a positive integer, got 0"),
                               ("big", 2, "hidden_size must be a positive integer, got 'big'")):
        with pytest.raises(ConfigError, match=bad):
            attention_head_size(hidden, heads)
