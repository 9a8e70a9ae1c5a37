"""BertLMHeadModel (PyTorch): the common tests on a decoder config, transformers-written checkpoints (with and
without cross-attention), the KV cache, and generate() equal to transformers 4.57.6's tokens."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from _bert_support import check_causal_lm_fixture, check_generate_case, generate_fixture, heads_config_kwargs

from pretrained import AutoModelForCausalLM
from pretrained.models.bert import BertConfig, BertLMHeadModel, BertModel
from pretrained.testing.torch_mixin import TorchModelTesterMixin


def decoder_config(**overrides) -> BertConfig:
    return BertConfig(**heads_config_kwargs(is_decoder=True, **overrides))


def tiny_inputs() -> dict[str, torch.Tensor]:
    ids = torch.tensor([[5, 6, 7, 8, 9, 10, 11], [0, 0, 14, 15, 16, 17, 18]])
    return {"input_ids": ids, "attention_mask": (ids != 0).long(), "token_type_ids": torch.zeros_like(ids)}


class TestBertLMHeadCommon(TorchModelTesterMixin):
    all_model_classes = (BertLMHeadModel,)
    base_model_class = BertModel

    def get_config(self) -> BertConfig:
        return decoder_config()

    def get_inputs(self, config: BertConfig) -> dict[str, torch.Tensor]:
        return tiny_inputs()


def _run(model, inputs):
    with torch.no_grad():
        return model(**{k: torch.from_numpy(v) if isinstance(v, np.ndarray) else v for k, v in inputs.items()})


@pytest.mark.parametrize("name", ["causal_lm", "causal_lm_cross"])
def test_transformers_checkpoint_gives_transformers_logits(name: str) -> None:
    check_causal_lm_fixture(AutoModelForCausalLM, name, _run)


@pytest.mark.parametrize("case", generate_fixture()["cases"], ids=lambda case: case["name"])
def test_generate_gives_transformers_tokens(case: dict) -> None:
    check_generate_case(BertLMHeadModel, case)


def test_cache_gives_the_full_pass_logits() -> None:
    torch.manual_seed(0)
    model = BertLMHeadModel(decoder_config(add_cross_attention=True)).eval()
    inputs = tiny_inputs()
    encoder = {"encoder_hidden_states": torch.randn(2, 3, 16), "encoder_attention_mask": torch.tensor([[1, 1, 0]] * 2)}
    with torch.no_grad():
        full = model(**inputs, **encoder).logits
        first = model(**{k: v[:, :5] for k, v in inputs.items()}, **encoder, use_cache=True)
        rest = model(inputs["input_ids"][:, 5:], attention_mask=inputs["attention_mask"],
                     past_key_values=first.past_key_values, **encoder)
    assert len(first.past_key_values) == 2 and first.past_key_values[0][0].shape == (2, 2, 5, 8)
    torch.testing.assert_close(rest.logits, full[:, 5:], atol=1e-5, rtol=0)


def test_causal_mask_hides_the_future_and_loss_is_shifted() -> None:
    model = BertLMHeadModel(decoder_config()).eval()
    ids = torch.tensor([[5, 6, 7, 8]])
    with torch.no_grad():
        short, long = model(ids[:, :2]).logits, model(ids, labels=ids)
    torch.testing.assert_close(long.logits[:, :2], short, atol=1e-5, rtol=0)
    expected = torch.nn.functional.cross_entropy(long.logits[0, :-1], ids[0, 1:])
    torch.testing.assert_close(long.loss, expected)


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="add_cross_attention=True needs is_decoder=True"):
        BertLMHeadModel(BertConfig(**heads_config_kwargs(add_cross_attention=True)))
    with pytest.raises(ValueError, match="config.add_cross_attention=True"):
        BertLMHeadModel(decoder_config())(**tiny_inputs(), encoder_hidden_states=torch.zeros(2, 3, 16))
