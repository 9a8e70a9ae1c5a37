"""BERT's further heads (Flax NNX): the common tests, transformers-written checkpoints (PyTorch, v4 TF's
`tf_model.h5`, v4 Flax's `flax_model.msgpack`), bad input (the losses: the parity matrix,
tests/modeling_base/test_parity_heads.py)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("flax")

from _bert_support import HEAD_FIXTURES, check_head_fixture, heads_config_kwargs

from pretrained.errors import ConfigError
from pretrained.models.bert import (
    BertConfig,
    FlaxBertForMultipleChoice,
    FlaxBertForPreTraining,
    FlaxBertForQuestionAnswering,
    FlaxBertModel,
)
from pretrained.testing.flax_mixin import FlaxModelTesterMixin


def tiny_config(**overrides) -> BertConfig:
    return BertConfig(**heads_config_kwargs(**overrides))


def tiny_inputs() -> dict[str, np.ndarray]:
    ids = np.array([[5, 6, 7, 8, 9, 10, 11], [12, 13, 14, 15, 16, 0, 0]], np.int32)
    return {"input_ids": ids, "attention_mask": (ids != 0).astype(np.int32),
            "token_type_ids": np.zeros_like(ids)}


class TestFlaxBertHeadsCommon(FlaxModelTesterMixin):
    """The common tests on the pretraining heads (tied masked LM + next sentence); the other heads are checked
    through their fixtures and the parity matrix (the Flax common tests are slow, and the heads share the layers)."""

    all_model_classes = (FlaxBertForPreTraining,)
    base_model_class = FlaxBertModel

    def get_config(self) -> BertConfig:
        return tiny_config()

    def get_inputs(self, config: BertConfig) -> dict[str, np.ndarray]:
        return tiny_inputs()


@pytest.mark.parametrize("directory", sorted(HEAD_FIXTURES))
def test_transformers_checkpoint_gives_transformers_outputs(directory: str) -> None:
    check_head_fixture("Flax", directory, lambda model, inputs: model(**inputs))


def test_bad_input_is_refused() -> None:
    with pytest.raises(ConfigError, match="num_labels == 2"):
        FlaxBertForQuestionAnswering(tiny_config(num_labels=3))
    with pytest.raises(ValueError, match=r"input_ids must be \(batch, num_choices, seq\), got shape \(2, 7\)"):
        FlaxBertForMultipleChoice(tiny_config())(**tiny_inputs())
