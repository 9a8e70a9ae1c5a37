"""FlaxBertLMHeadModel: the common tests on a decoder config, transformers-written checkpoints (with and without
cross-attention), the static cache, and generate() (compiled) equal to transformers 4.57.6's PyTorch tokens; v4's name
`FlaxBertForCausalLM`."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("flax")

from _bert_support import check_causal_lm_fixture, check_generate_case, generate_fixture, heads_config_kwargs

from pretrained.flax.auto import FlaxAutoModelForCausalLM
from pretrained.models.bert import BertConfig, FlaxBertLMHeadModel, FlaxBertModel
from pretrained.testing.flax_mixin import FlaxModelTesterMixin


def decoder_config(**overrides) -> BertConfig:
    return BertConfig(**heads_config_kwargs(is_decoder=True, **overrides))


def tiny_inputs() -> dict[str, np.ndarray]:
    ids = np.array([[5, 6, 7, 8, 9, 10, 11], [0, 0, 14, 15, 16, 17, 18]], np.int32)
    return {"input_ids": ids, "attention_mask": (ids != 0).astype(np.int32), "token_type_ids": np.zeros_like(ids)}


class TestFlaxBertLMHeadCommon(FlaxModelTesterMixin):
    all_model_classes = (FlaxBertLMHeadModel,)
    base_model_class = FlaxBertModel

    def get_config(self) -> BertConfig:
        return decoder_config()

    def get_inputs(self, config: BertConfig) -> dict[str, np.ndarray]:
        return tiny_inputs()


@pytest.mark.parametrize("name", ["causal_lm", "causal_lm_cross"])
def test_transformers_checkpoint_gives_transformers_logits(name: str) -> None:
    check_causal_lm_fixture(FlaxAutoModelForCausalLM, name, lambda model, inputs: model(**inputs))


@pytest.mark.parametrize("case", generate_fixture()["cases"], ids=lambda case: case["name"])
def test_generate_gives_transformers_tokens(case: dict) -> None:
    check_generate_case(FlaxBertLMHeadModel, case)


def test_cache_gives_the_full_pass_logits() -> None:
    model = FlaxBertLMHeadModel(decoder_config(add_cross_attention=True))
    inputs = tiny_inputs()
    encoder = {"encoder_hidden_states": np.random.default_rng(0).standard_normal((2, 3, 16)).astype(np.float32),
               "encoder_attention_mask": np.array([[1, 1, 0]] * 2, np.int32)}
    full = model(**inputs, **encoder).logits
    cache = model.init_cache(2, 7)
    first = model(inputs["input_ids"][:, :5], token_type_ids=inputs["token_type_ids"][:, :5], **encoder,
                  past_key_values=cache, attention_mask=inputs["attention_mask"])
    rest = model(inputs["input_ids"][:, 5:], attention_mask=inputs["attention_mask"],
                 past_key_values=first.past_key_values, **encoder)
    assert int(first.past_key_values.index) == 5 and first.past_key_values.layers[0][0].shape == (2, 2, 7, 8)
    np.testing.assert_allclose(np.asarray(rest.logits), np.asarray(full)[:, 5:], atol=1e-5, rtol=0)
