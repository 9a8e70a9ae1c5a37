"""The v4 model API around loading (`modeling_base/_model_api.py`): `config_class` from an annotation,
`can_generate`, model tags, feed-forward chunk counts, the padding warning."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from pretrained import PretrainedConfig
from pretrained.modeling_base import ModelApiMixin, chunk_count, padding_warning
from pretrained.modeling_base._model_api import config_class_from_annotation
from pretrained.utils import logging as pretrained_logging


class NoteConfig(PretrainedConfig):
    model_type = "note"


class SubNoteConfig(NoteConfig):
    model_type = "sub-note"


class Annotated(ModelApiMixin):
    config: NoteConfig


class StringAnnotated(ModelApiMixin):
    __annotations__ = {"config": "SubNoteConfig"}  # as `from __future__ import annotations` stores it


def test_config_class_comes_from_the_annotation_unless_set():
    assert Annotated.config_class is NoteConfig and StringAnnotated.config_class is SubNoteConfig
    explicit = type("Explicit", (Annotated,), {"config_class": SubNoteConfig})
    assert explicit.config_class is SubNoteConfig
    inherited = type("Inherited", (Annotated,), {})
    assert inherited.config_class is NoteConfig
    assert config_class_from_annotation(type("Plain", (), {"__annotations__": {"config": "Missing"}})) is None


def test_can_generate_needs_a_generation_method_outside_the_library():
    assert not Annotated.can_generate()
    assert type("G", (Annotated,), {"generate": lambda self: None}).can_generate()
    mixin = type("GenerationMixin", (), {"prepare_inputs_for_generation": lambda self: None})
    assert type("H", (mixin, Annotated), {}).can_generate()


def test_model_tags_are_kept_once_in_order():
    model = Annotated()
    assert model.model_tags is None
    model.add_model_tags("a")
    model.add_model_tags(["b", "a", "c"])
    assert model.model_tags == ["a", "b", "c"] and Annotated.model_tags is None


def test_chunk_count_needs_a_divisor():
    assert (chunk_count(6, 0), chunk_count(6, 3), chunk_count(6, 6)) == (1, 2, 1)
    with pytest.raises(ValueError, match=r"The dimension to be chunked \(7\) has to be a multiple of the chunk size "
                                         r"\(chunk_size_feed_forward=2\)"):
        chunk_count(7, 2)


def test_padding_warning_only_for_padded_ids(caplog):
    pretrained_logging._SEEN.clear()
    config = PretrainedConfig(pad_token_id=0, eos_token_id=0)
    with caplog.at_level(logging.WARNING, logger="pretrained"):
        padding_warning(np.array([[5, 9]]), config)  # no pad token at either end
        padding_warning(None, config)  # not concrete (tracing)
        padding_warning(np.array([[0, 9]]), PretrainedConfig())  # no pad token id
        assert not caplog.records
        padding_warning(np.array([[0, 9]]), config)
    assert "pad token (id 0)" in caplog.text and "also the eos_token_id" in caplog.text
