"""Flax BERT: the common Flax tests, transformers-written checkpoints, and equality with the torch BERT (masks,
head masks, resizing, pruning)."""

from __future__ import annotations

from pathlib import Path

import jax.numpy as jnp
import numpy as np
import pytest

from pretrained.models.bert import (
    BertConfig,
    FlaxBertForMaskedLM,
    FlaxBertForSequenceClassification,
    FlaxBertModel,
)
from pretrained.testing.flax_mixin import FlaxModelTesterMixin

FIXTURES = Path(__file__).parent / "fixtures"


def tiny_config(**kwargs) -> BertConfig:
    defaults = dict(vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
                    max_position_embeddings=32, num_labels=3)
    return BertConfig(**{**defaults, **kwargs})


def tiny_inputs() -> dict[str, np.ndarray]:
    ids = np.array([[5, 6, 7, 8, 9, 10, 11], [12, 13, 14, 15, 16, 0, 0]])
    mask = np.array([[1, 1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 0, 0]])
    return {"input_ids": ids, "attention_mask": mask}


class TestFlaxBertCommon(FlaxModelTesterMixin):
    all_model_classes = (FlaxBertModel, FlaxBertForMaskedLM, FlaxBertForSequenceClassification)
    base_model_class = FlaxBertModel

    def get_config(self) -> BertConfig:
        return tiny_config()


    def get_inputs(self, config: BertConfig) -> dict[str, np.ndarray]:
        return tiny_inputs()


@pytest.mark.parametrize(
    ("name", "model_class", "fields"),
    [("transformers_bert_tiny", FlaxBertModel, ("last_hidden_state", "pooler_output")),
     ("transformers_bert_tiny_mlm", FlaxBertForMaskedLM, ("logits",))],
)
def test_transformers_checkpoint(name: str, model_class: type, fields: tuple[str, ...]) -> None:
    model, info = model_class.from_pretrained(FIXTURES / name, output_loading_info=True)
    assert info["missing_keys"] == [] and info["unexpected_keys"] == []
    reference = np.load(FIXTURES / name / "outputs.npz")
    out = model(**{k: reference[k] for k in ("input_ids", "attention_mask", "token_type_ids")})
    for field in fields:
        np.testing.assert_allclose(np.asarray(out[field]), reference[field], atol=1e-5, rtol=0)


def test_untied_head_has_a_decoder(tmp_path: Path) -> None:
    config = tiny_config(tie_word_embeddings=False)
    model = FlaxBertForMaskedLM(config).eval()
    assert "cls.predictions.decoder.weight" in model.canonical_state_dict()
    model.resize_token_embeddings(104)
    assert model.cls.predictions.decoder.kernel.shape == (32, 104)
    assert model.cls.predictions.bias.shape == (104,)
    model.save_pretrained(tmp_path)
    loaded = FlaxBertForMaskedLM.from_pretrained(tmp_path)
    np.testing.assert_allclose(np.asarray(model(**tiny_inputs()).logits), np.asarray(loaded(**tiny_inputs()).logits))


def test_outputs_and_losses() -> None:
    config = tiny_config(output_hidden_states=True)
    model = FlaxBertForSequenceClassification(config).eval()
    out = model(**tiny_inputs(), labels=np.array([0, 2]), output_attentions=True)
    assert list(out) == ["loss", "logits", "hidden_states", "attentions"]
    assert len(out.hidden_states) == 3 and out.attentions[0].shape == (2, 4, 7, 7)
    assert float(out.loss) > 0
    labels = np.where(np.arange(7) < 2, 5, -100)[None].repeat(2, 0)
    masked = FlaxBertForMaskedLM(config).eval()(**tiny_inputs(), labels=labels)
    assert masked.loss.shape == ()


def test_head_mask_zeroes_heads() -> None:
    model = FlaxBertModel(tiny_config()).eval()
    head_mask = jnp.ones((2, 4)).at[0, 1].set(0.0)
    out = model(**tiny_inputs(), head_mask=head_mask, output_attentions=True)
    assert float(jnp.abs(out.attentions[0][:, 1]).max()) == 0.0
    assert float(jnp.abs(out.attentions[1][:, 1]).max()) > 0.0


def test_abstract_load(tmp_path: Path) -> None:
    FlaxBertForMaskedLM(tiny_config()).save_pretrained(tmp_path)
    model, params = FlaxBertForSequenceClassification.from_pretrained(tmp_path, _do_init=False)
    kernel = model.classifier.kernel.get_value()
    assert type(kernel).__name__ == "ShapeDtypeStruct"  # nothing allocated, nothing initialised
    assert "classifier" not in params and "cls" not in params
    with pytest.raises(ValueError, match="abstract"):
        _ = model.params
    model.params = params
    model.init_weights()
    reference = FlaxBertForSequenceClassification.from_pretrained(tmp_path)
    np.testing.assert_array_equal(np.asarray(model.bert.embeddings.word_embeddings.embedding.get_value()),
                                  np.asarray(reference.bert.embeddings.word_embeddings.embedding.get_value()))
    assert model(**tiny_inputs()).logits.shape == (2, 3)
