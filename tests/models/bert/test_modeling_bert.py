"""BERT (PyTorch): the common tests, transformers compatibility, masks, heads, losses."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from pretrained.errors import ConfigError
from pretrained.models.bert import BertConfig, BertForMaskedLM, BertForSequenceClassification, BertModel
from pretrained.models.resnet import ResnetConfig
from pretrained.testing.torch_mixin import TorchModelTesterMixin

FIXTURES = Path(__file__).parent / "fixtures"


def tiny_config(**kwargs) -> BertConfig:
    defaults = dict(vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
                    max_position_embeddings=32, num_labels=3)
    return BertConfig(**{**defaults, **kwargs})


def tiny_inputs() -> dict[str, torch.Tensor]:
    ids = torch.tensor([[5, 6, 7, 8, 9, 10, 11], [12, 13, 14, 15, 16, 0, 0]])
    mask = torch.tensor([[1, 1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 0, 0]])
    return {"input_ids": ids, "attention_mask": mask}


class TestBertCommon(TorchModelTesterMixin):
    model_classes = (BertModel, BertForMaskedLM, BertForSequenceClassification)
    base_model_class = BertModel

    def prepare_config_and_inputs(self):
        return tiny_config(), tiny_inputs()


# ------------------------------------------------------------------------------------------- transformers
@pytest.mark.parametrize(
    ("directory", "model_class", "outputs"),
    [
        ("transformers_bert_tiny", BertModel, ("last_hidden_state", "pooler_output")),
        ("transformers_bert_tiny_mlm", BertForMaskedLM, ("logits",)),
    ],
)
def test_transformers_checkpoint_loads_with_equal_outputs(directory, model_class, outputs):
    path = FIXTURES / directory
    model, info = model_class.from_pretrained(path, output_loading_info=True)
    assert info == {"missing_keys": [], "unexpected_keys": [], "mismatched_keys": [], "error_msgs": []}
    expected = np.load(path / "outputs.npz")
    inputs = {k: torch.from_numpy(expected[k]) for k in ("input_ids", "attention_mask", "token_type_ids")}
    with torch.no_grad():
        result = model(**inputs)
    for name in outputs:
        np.testing.assert_allclose(result[name].numpy(), expected[name], atol=1e-5, rtol=0)


def test_transformers_config_extra_fields_kept(tmp_path):
    import json

    config = BertConfig.from_pretrained(FIXTURES / "transformers_bert_tiny")
    assert (config.hidden_size, config.intermediate_size, config.architectures) == (32, 37, ["BertModel"])
    raw = json.loads((FIXTURES / "transformers_bert_tiny" / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({**raw, "gradient_checkpointing_extra": 3}))
    assert BertConfig.from_pretrained(tmp_path).gradient_checkpointing_extra == 3


def test_mlm_checkpoint_matches_transformers_layout(tmp_path):
    from safetensors import safe_open

    model = BertForMaskedLM.from_pretrained(FIXTURES / "transformers_bert_tiny_mlm")
    model.save_pretrained(tmp_path)
    with safe_open(tmp_path / "model.safetensors", "pt") as ours, safe_open(
        FIXTURES / "transformers_bert_tiny_mlm" / "model.safetensors", "pt"
    ) as theirs:
        assert sorted(ours.keys()) == sorted(theirs.keys())
        for key in theirs.keys():
            assert torch.equal(ours.get_tensor(key), theirs.get_tensor(key)), key


# ------------------------------------------------------------------------------------------- behaviour
def test_position_ids_are_real_after_meta_load(tmp_path):
    BertModel(tiny_config()).save_pretrained(tmp_path)
    model = BertModel.from_pretrained(tmp_path)
    assert torch.equal(model.embeddings.position_ids, torch.arange(32)[None])
    assert "embeddings.position_ids" not in model.state_dict()


def test_attention_mask_hides_padding():
    model = BertModel(tiny_config()).eval()
    ids = torch.tensor([[5, 6, 7, 0]])
    with torch.no_grad():
        short = model(ids[:, :3]).last_hidden_state
        masked = model(ids, attention_mask=torch.tensor([[1, 1, 1, 0]])).last_hidden_state
    torch.testing.assert_close(masked[:, :3], short, atol=1e-5, rtol=0)


def test_head_mask_zeroes_attention_and_outputs_flags():
    model = BertModel(tiny_config()).eval()
    head_mask = torch.ones(2, 4)
    head_mask[0, 1] = 0
    with torch.no_grad():
        out = model(**tiny_inputs(), head_mask=head_mask, output_attentions=True, output_hidden_states=True)
    assert len(out.attentions) == 2 and len(out.hidden_states) == 3
    assert out.attentions[0][:, 1].abs().sum() == 0 and out.attentions[0][:, 0].abs().sum() > 0
    assert out.attentions[1][:, 1].abs().sum() > 0


def test_mlm_loss_ignores_minus_100():
    model = BertForMaskedLM(tiny_config()).eval()
    labels = torch.full((2, 7), -100)
    labels[0, 2] = 17
    with torch.no_grad():
        out = model(**tiny_inputs(), labels=labels)
    expected = torch.nn.functional.cross_entropy(out.logits[0, 2][None], torch.tensor([17]))
    torch.testing.assert_close(out.loss, expected)


@pytest.mark.parametrize(
    ("num_labels", "labels", "problem_type"),
    [
        (3, torch.tensor([0, 2]), "single_label_classification"),
        (1, torch.tensor([0.5, -1.0]), "regression"),
        (3, torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]]), "multi_label_classification"),
    ],
)
def test_sequence_classification_losses(num_labels, labels, problem_type):
    model = BertForSequenceClassification(tiny_config(num_labels=num_labels)).eval()
    with torch.no_grad():
        out = model(**tiny_inputs(), labels=labels)
    assert model.config.problem_type == problem_type
    logits = out.logits
    if problem_type == "regression":
        expected = torch.nn.functional.mse_loss(logits.squeeze(), labels)
    elif problem_type == "single_label_classification":
        expected = torch.nn.functional.cross_entropy(logits, labels)
    else:
        expected = torch.nn.functional.binary_cross_entropy_with_logits(logits, labels)
    torch.testing.assert_close(out.loss, expected)


def test_init_weights_follow_bert_rules():
    model = BertForMaskedLM(tiny_config(initializer_range=0.5))
    emb = model.bert.embeddings.word_embeddings.weight.detach()
    assert torch.all(emb[0] == 0)  # padding row
    assert 0.4 < float(emb[1:].std()) < 0.6
    assert torch.all(model.bert.embeddings.LayerNorm.weight == 1)
    assert torch.all(model.cls.predictions.bias == 0)
    assert torch.all(model.bert.encoder.layer[0].attention.self.query.bias == 0)


def test_untied_mlm_resizes_its_own_decoder(tmp_path):
    model = BertForMaskedLM(tiny_config(tie_word_embeddings=False)).eval()
    decoder = model.get_output_embeddings()
    assert decoder.weight is not model.get_input_embeddings().weight
    old = decoder.weight.detach().clone()
    model.resize_token_embeddings(105, mean_resizing=False)
    assert decoder.weight.shape == (105, 32) and model.cls.predictions.bias.shape == (105,)
    assert torch.equal(decoder.weight[:99], old)
    assert decoder.bias is model.cls.predictions.bias
    model.save_pretrained(tmp_path)
    loaded, info = BertForMaskedLM.from_pretrained(tmp_path, output_loading_info=True)
    assert info["missing_keys"] == [] and loaded.get_output_embeddings().weight.shape == (105, 32)


def test_mean_resizing_draws_new_rows_near_the_mean():
    model = BertModel(tiny_config())
    old = model.get_input_embeddings().weight.detach().clone()
    model.resize_token_embeddings(109)
    new = model.get_input_embeddings().weight.detach()
    assert torch.allclose(new[99:], old.mean(0).expand(10, -1), atol=1e-3)


def test_prune_all_heads_is_refused():
    model = BertModel(tiny_config())
    with pytest.raises(ValueError, match="cannot prune all"):
        model.prune_heads({0: [0, 1, 2, 3]})


def test_gradient_checkpointing_gives_same_gradients():
    config = tiny_config(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    torch.manual_seed(0)
    plain = BertModel(config).train()
    torch.manual_seed(0)
    checkpointed = BertModel(config).train()
    checkpointed.gradient_checkpointing_enable({"use_reentrant": False})
    assert checkpointed.is_gradient_checkpointing and checkpointed.encoder.gradient_checkpointing
    for model in (plain, checkpointed):
        model(**tiny_inputs()).last_hidden_state.sum().backward()
    grads = [(a.grad, b.grad) for a, b in zip(plain.parameters(), checkpointed.parameters())]
    for a, b in grads:
        torch.testing.assert_close(a, b)
    checkpointed.gradient_checkpointing_disable()
    assert not checkpointed.is_gradient_checkpointing


# ------------------------------------------------------------------------------------------- bad input
def test_wrong_config_class_is_refused():
    with pytest.raises(ConfigError, match="expects a BertConfig"):
        BertModel(ResnetConfig())


def test_sequence_longer_than_positions_is_refused():
    with pytest.raises(ValueError, match="max_position_embeddings"):
        BertModel(tiny_config())(torch.ones(1, 40, dtype=torch.long))
