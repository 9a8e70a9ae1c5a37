"""`ModelOutput` and the typed outputs behave as transformers v4's (framework-free: values are plain objects)."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

from pretrained import PretrainedConfig
from pretrained.outputs import (
    BaseModelOutputWithPooling,
    MaskedLMOutput,
    ModelOutput,
    QuestionAnsweringModelOutput,
    on_output_class,
    output_flags,
    returned,
)


def test_position_name_and_attribute_agree_and_none_is_skipped():
    logits, hidden = np.ones(2), (np.zeros(1),)
    out = MaskedLMOutput(logits=logits, hidden_states=hidden)
    assert out[0] is out["logits"] is out.logits is logits
    assert out[1] is out.hidden_states and out[-1] is hidden
    assert out[:2] == (logits, hidden) and out.to_tuple() == (logits, hidden)
    assert out.loss is None and "loss" not in out and len(out) == 2
    with pytest.raises(KeyError):
        _ = out["loss"]
    with pytest.raises(IndexError):
        _ = out[2]


def test_setting_a_field_later_keeps_field_order():
    out = MaskedLMOutput(logits=1)
    out.loss = 0.5
    out["attentions"] = (3,)
    assert list(out) == ["loss", "logits", "attentions"] and out.to_tuple() == (0.5, 1, (3,))
    out.loss = None
    assert list(out) == ["logits", "attentions"] and out.loss is None


def test_fields_are_fixed():
    out = BaseModelOutputWithPooling(last_hidden_state=1)
    for operation in (lambda: out.pop("last_hidden_state"), lambda: out.update(a=1),
                      lambda: out.setdefault("a", 1), lambda: out.__delitem__("last_hidden_state")):
        with pytest.raises(TypeError, match="fields are fixed"):
            operation()


def test_built_from_key_value_pairs_as_tree_libraries_do():
    out = QuestionAnsweringModelOutput([("start_logits", 1), ("end_logits", 2)])
    assert out.to_tuple() == (1, 2) and out.loss is None
    assert QuestionAnsweringModelOutput({"end_logits": 3}).end_logits == 3
    assert QuestionAnsweringModelOutput(loss=(1, 2)).loss == (1, 2)  # a tuple value is a value, not pairs


def test_untyped_output_reads_known_fields_as_none_and_refuses_others():
    out = ModelOutput(logits=1, loss=None)
    assert out.to_tuple() == (1,) and out.hidden_states is None
    with pytest.raises(AttributeError, match="has no field 'foo'"):
        _ = out.foo
    out.extra = 2
    assert out["extra"] == 2


def test_copy_and_pickle_keep_the_class_and_values():
    out = MaskedLMOutput(logits=[1.0], attentions=("a",))
    for clone in (copy.deepcopy(out), pickle.loads(pickle.dumps(out))):
        assert type(clone) is MaskedLMOutput and clone.to_tuple() == out.to_tuple() and clone.loss is None


def test_class_hooks_see_later_subclasses():
    seen = []
    on_output_class(seen.append)
    try:
        from dataclasses import dataclass

        @dataclass
        class MyOutput(ModelOutput):
            score: object = None

        assert MyOutput in seen and MaskedLMOutput in seen
        assert MyOutput(score=3)[0] == 3
    finally:
        from pretrained import outputs

        outputs._CLASS_HOOKS.remove(seen.append)


def test_output_flags_follow_the_config_unless_given():
    config = PretrainedConfig(output_hidden_states=True, return_dict=False)
    assert output_flags(config) == (False, True, False)
    assert output_flags(config, output_attentions=True, output_hidden_states=False, return_dict=True) == (
        True, False, True)
    assert output_flags(PretrainedConfig(torchscript=True)).return_dict is False  # v4's use_return_dict
    assert returned(ModelOutput(logits=1), True) == {"logits": 1} and returned(ModelOutput(logits=1), False) == (1,)
