"""TF BERT: the common TF model tests, transformers' own checkpoints, masks, and pruning / resizing numerics."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

pytest.importorskip("tensorflow")

from pretrained.models.bert import (  # noqa: E402
    BertConfig,
    TFBertForMaskedLM,
    TFBertForSequenceClassification,
    TFBertModel,
)
from pretrained.testing.tf_mixin import TFModelTesterMixin, assert_outputs_close  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"


def tiny_config(**overrides) -> BertConfig:
    values = dict(vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
                  max_position_embeddings=32, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    return BertConfig(**{**values, **overrides})


def tiny_inputs(config: BertConfig) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    ids = rng.integers(1, config.vocab_size, size=(2, 7)).astype(np.int32)
    mask = np.ones_like(ids)
    mask[1, 4:] = 0
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": (np.arange(7) >= 4).astype(np.int32)[None]
            .repeat(2, 0)}


class TestTFBert(TFModelTesterMixin):
    all_model_classes = (TFBertModel, TFBertForSequenceClassification, TFBertForMaskedLM)
    base_model_class = TFBertModel

    def get_config(self) -> BertConfig:
        return tiny_config()


    def get_inputs(self, config: BertConfig) -> dict[str, np.ndarray]:
        return tiny_inputs(config)


@pytest.mark.parametrize(
    ("directory", "model_class", "outputs"),
    [
        ("transformers_bert_tiny", TFBertModel, ("last_hidden_state", "pooler_output")),
        ("transformers_bert_tiny_mlm", TFBertForMaskedLM, ("logits",)),
    ],
)
def test_loads_transformers_checkpoint(directory, model_class, outputs):
    expected = np.load(FIXTURES / directory / "outputs.npz")
    model, info = model_class.from_pretrained(FIXTURES / directory, output_loading_info=True)
    assert info["missing_keys"] == [] and info["unexpected_keys"] == []
    inputs = {k: expected[k] for k in ("input_ids", "attention_mask", "token_type_ids")}
    result = model(**inputs)
    for name in outputs:
        np.testing.assert_allclose(np.asarray(result[name]), expected[name], atol=1e-4, rtol=0)


def test_attention_mask_hides_padding():
    model = TFBertModel(tiny_config())
    inputs = tiny_inputs(model.config)
    full = model(**inputs).last_hidden_state.numpy()
    changed = {**inputs, "input_ids": inputs["input_ids"].copy()}
    changed["input_ids"][1, 5] = 3  # a masked position: the others must not move
    out = model(**changed).last_hidden_state.numpy()
    np.testing.assert_allclose(out[1, :4], full[1, :4], atol=1e-6)
    np.testing.assert_allclose(out[0], full[0], atol=1e-6)
    # a 3-D mask [batch, from, to] equals the 2-D one broadcast
    mask3 = np.broadcast_to(inputs["attention_mask"][:, None, :], (2, 7, 7))
    np.testing.assert_allclose(model(**{**inputs, "attention_mask": mask3}).last_hidden_state.numpy(), full,
                               atol=1e-6)


def test_head_mask_equals_pruning():
    """Masking a head and pruning it give the same outputs; a head mask of ones changes nothing."""
    model = TFBertModel(tiny_config())
    inputs = tiny_inputs(model.config)
    base = model(**inputs)
    assert_outputs_close(base, model(**inputs, head_mask=np.ones(4, np.float32)), atol=1e-6)
    head_mask = np.ones((2, 4), np.float32)
    head_mask[0, 1] = head_mask[1, 2] = head_mask[1, 3] = 0
    masked = model(**inputs, head_mask=head_mask, output_attentions=True)
    assert np.all(masked.attentions[0].numpy()[:, 1] == 0)
    model.prune_heads({0: [1], 1: [2, 3]})
    assert model.encoder.layer[1].attention.self_attention.num_attention_heads == 2
    assert model.encoder.layer[1].attention.self_attention.query.kernel.shape == (32, 16)
    assert model.encoder.layer[1].attention.dense_output.dense.kernel.shape == (16, 32)
    pruned = model(**inputs)
    np.testing.assert_allclose(pruned.last_hidden_state.numpy(), masked.last_hidden_state.numpy(), atol=1e-5)


def test_prune_twice_and_reload(tmp_path):
    model = TFBertModel(tiny_config())
    inputs = tiny_inputs(model.config)
    model.prune_heads({0: [0]})
    model.prune_heads({0: [0, 2]})  # 0 already gone: only 2 is pruned now
    assert model.config.pruned_heads == {0: [0, 2]}
    assert model.encoder.layer[0].attention.self_attention.num_attention_heads == 2
    model.save_pretrained(tmp_path)
    loaded = TFBertModel.from_pretrained(tmp_path)
    assert loaded.encoder.layer[0].attention.pruned_heads == {0, 2}
    assert_outputs_close(model(**inputs), loaded(**inputs))
    with pytest.raises(ValueError, match="cannot prune all"):
        model.prune_heads({0: [1, 3]})


def test_resize_keeps_outputs_and_pads(tmp_path):
    model = TFBertForMaskedLM(tiny_config())
    inputs = tiny_inputs(model.config)
    before = model(**inputs).logits.numpy()
    bias = model.get_bias()["bias"].numpy()
    embeddings = model.resize_token_embeddings(101, pad_to_multiple_of=8)
    assert embeddings.input_dim == 104 and model.config.vocab_size == 104
    assert model.get_output_embeddings() is model.get_input_embeddings()
    new_bias = model.get_bias()["bias"].numpy()
    assert new_bias.shape == (104,)
    np.testing.assert_array_equal(new_bias[:99], bias)
    after = model(**inputs).logits.numpy()
    assert after.shape == (2, 7, 104)
    np.testing.assert_allclose(after[..., :99], before, atol=1e-5)
    model.save_pretrained(tmp_path)
    assert_outputs_close(model(**inputs), TFBertForMaskedLM.from_pretrained(tmp_path)(**inputs))


def test_mean_resizing_samples_near_the_mean():
    model = TFBertModel(tiny_config())
    model.build_model()
    old = model.get_input_embeddings().embeddings.numpy()
    new = model.resize_token_embeddings(109).embeddings.numpy()
    np.testing.assert_allclose(new[99:], np.broadcast_to(old.mean(0), (10, 32)), atol=1e-3)


def test_untied_decoder_is_saved(tmp_path):
    model = TFBertForMaskedLM(tiny_config(tie_word_embeddings=False))
    state = model.canonical_state_dict()
    assert "cls.predictions.decoder.weight" in state and state["cls.predictions.decoder.weight"].shape == (99, 32)
    model.save_pretrained(tmp_path)
    inputs = tiny_inputs(model.config)
    assert_outputs_close(model(**inputs), TFBertForMaskedLM.from_pretrained(tmp_path)(**inputs))


def test_losses():
    config = tiny_config(num_labels=3)
    model = TFBertForSequenceClassification(config)
    inputs = tiny_inputs(config)
    out = model(**inputs, labels=np.array([0, 2]))
    logits = out.logits.numpy()
    log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    np.testing.assert_allclose(float(out.loss), -(log_probs[0, 0] + log_probs[1, 2]) / 2, rtol=1e-5)
    mlm = TFBertForMaskedLM(tiny_config())
    labels = np.full((2, 7), -100)
    labels[0, 1] = 5
    out = mlm(**inputs, labels=labels)
    logits = out.logits.numpy()[0, 1]
    np.testing.assert_allclose(float(out.loss), np.log(np.exp(logits).sum()) - logits[5], rtol=1e-5)

