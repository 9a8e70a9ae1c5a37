"""BERT's further heads (PyTorch): the common tests, transformers-written checkpoints, v4's losses, bad input."""

from __future__ import annotations

import pytest
import torch
from _bert_support import FIXTURES, HEAD_FIXTURES, check_head_fixture, heads_config_kwargs

from pretrained.errors import ConfigError
from pretrained.models.bert import (
    BertConfig,
    BertForMultipleChoice,
    BertForNextSentencePrediction,
    BertForPreTraining,
    BertForQuestionAnswering,
    BertForTokenClassification,
    BertModel,
)
from pretrained.testing.torch_mixin import TorchModelTesterMixin


def tiny_config(**overrides) -> BertConfig:
    return BertConfig(**heads_config_kwargs(**overrides))


def tiny_inputs() -> dict[str, torch.Tensor]:
    ids = torch.tensor([[5, 6, 7, 8, 9, 10, 11], [12, 13, 14, 15, 16, 0, 0]])
    return {"input_ids": ids, "attention_mask": (ids != 0).long(), "token_type_ids": torch.zeros_like(ids)}


class TestBertHeadsCommon(TorchModelTesterMixin):
    all_model_classes = (BertForPreTraining, BertForNextSentencePrediction, BertForTokenClassification,
                         BertForQuestionAnswering)
    base_model_class = BertModel

    def get_config(self) -> BertConfig:
        return tiny_config()

    def get_inputs(self, config: BertConfig) -> dict[str, torch.Tensor]:
        return tiny_inputs()


def _run(model, inputs):
    with torch.no_grad():
        return model(**{k: torch.from_numpy(v) for k, v in inputs.items()})


@pytest.mark.parametrize("directory", sorted(HEAD_FIXTURES))
def test_transformers_checkpoint_gives_transformers_outputs(directory: str) -> None:
    check_head_fixture("", directory, _run)


def test_pretraining_checkpoint_keeps_transformers_layout(tmp_path) -> None:
    from safetensors import safe_open

    source = FIXTURES / "transformers_bert_heads_pretraining"
    BertForPreTraining.from_pretrained(source).save_pretrained(tmp_path)
    with safe_open(tmp_path / "model.safetensors", "pt") as ours, safe_open(source / "model.safetensors", "pt") as theirs:
        assert sorted(ours.keys()) == sorted(theirs.keys())


def _ce(logits: torch.Tensor, labels: torch.Tensor, **kwargs) -> torch.Tensor:
    return torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1), **kwargs)


def test_losses_are_v4s() -> None:
    torch.manual_seed(0)
    inputs = tiny_inputs()
    with torch.no_grad():
        labels = torch.full((2, 7), -100)
        labels[0, 1], labels[1, 3] = 4, 9
        out = BertForPreTraining(tiny_config()).eval()(**inputs, labels=labels, next_sentence_label=torch.tensor([0, 1]))
        expected = _ce(out.prediction_logits, labels) + _ce(out.seq_relationship_logits, torch.tensor([0, 1]))
        torch.testing.assert_close(out.loss, expected)
        nsp = BertForNextSentencePrediction(tiny_config()).eval()
        torch.testing.assert_close(nsp(**inputs, next_sentence_label=torch.tensor([1, 0])).loss,
                                   nsp(**inputs, labels=torch.tensor([1, 0])).loss)
        qa = BertForQuestionAnswering(tiny_config()).eval()
        out = qa(**inputs, start_positions=torch.tensor([2, 40]), end_positions=torch.tensor([[3], [1]]))
        start = _ce(out.start_logits[:1], torch.tensor([2]))  # 40 is clamped to 7 = ignored
        end = _ce(out.end_logits, torch.tensor([3, 1]))
        torch.testing.assert_close(out.loss, (start + end) / 2)
        choice = BertForMultipleChoice(tiny_config()).eval()
        out = choice(**{k: v[None] for k, v in inputs.items()}, labels=torch.tensor([1]), output_hidden_states=True)
        assert out.logits.shape == (1, 2) and out.hidden_states[0].shape == (2, 7, 16)
        torch.testing.assert_close(out.loss, _ce(out.logits, torch.tensor([1])))
        assert isinstance(choice(**{k: v[None] for k, v in inputs.items()}, return_dict=False), tuple)


def test_bad_input_is_refused() -> None:
    with pytest.raises(ConfigError, match="num_labels == 2"):
        BertForQuestionAnswering(tiny_config(num_labels=3))
    with pytest.raises(ValueError, match=r"input_ids must be \(batch, num_choices, seq\), got shape \(2, 7\)"):
        BertForMultipleChoice(tiny_config())(**tiny_inputs())


def test_token_classification_loss_ignores_minus_100() -> None:
    model = BertForTokenClassification(tiny_config(num_labels=3)).eval()
    labels = torch.full((2, 7), -100)
    labels[1, 2] = 2
    with torch.no_grad():
        out = model(**tiny_inputs(), labels=labels)
    torch.testing.assert_close(out.loss, _ce(out.logits[1, 2][None], torch.tensor([2])))
