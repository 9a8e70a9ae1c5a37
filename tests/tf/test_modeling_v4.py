"""TFPreTrainedModel's transformers v4 API, as migrating code calls it: packed inputs and `unpack_inputs`,
`build_in_name_scope`, the LM-head accessors, `compile` / `fit` on the model's own loss, `save_pretrained(saved_model=
True)` with v4's signatures, and `from_pretrained` of a v4 `tf_model.h5` with v4's flags."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from collections import UserDict  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from pretrained import PretrainedConfig  # noqa: E402
from pretrained.models.bert import (  # noqa: E402
    BertConfig,
    TFBertForMaskedLM,
    TFBertForSequenceClassification,
    TFBertModel,
)
from pretrained.tf.modeling import unpack_inputs  # noqa: E402

FIXTURES = Path(__file__).resolve().parents[1] / "models" / "bert" / "fixtures"


def tiny_config(**overrides) -> BertConfig:
    return BertConfig(**{**dict(vocab_size=20, hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
                                intermediate_size=8), **overrides})


IDS = np.array([[1, 2, 3, 4], [5, 6, 7, 0]], np.int32)
MASK = np.array([[1, 1, 1, 1], [1, 1, 1, 0]], np.int32)


class BatchEncoding(UserDict):
    """A Mapping that is not a dict, like transformers' tokenizer output."""


def test_packed_inputs_mean_what_keywords_mean() -> None:
    model = TFBertModel(tiny_config())
    expected = model(IDS, attention_mask=MASK).last_hidden_state
    for packed in ({"input_ids": IDS, "attention_mask": MASK}, BatchEncoding(input_ids=IDS, attention_mask=MASK),
                   [tf.constant(IDS), tf.constant(MASK)], (IDS, MASK)):
        np.testing.assert_array_equal(model(packed).last_hidden_state, expected)
    np.testing.assert_array_equal(model({"input_ids": IDS}, attention_mask=MASK).last_hidden_state, expected)
    with pytest.warns(FutureWarning, match="`inputs` is deprecated"):
        np.testing.assert_array_equal(model({"inputs": IDS, "attention_mask": MASK}).last_hidden_state, expected)
    with pytest.raises(ValueError, match=r"not supported by this model: \['colour'\]"):
        model({"input_ids": IDS, "colour": MASK})


def test_unpack_inputs_decorates_v4_layers() -> None:
    class Echo(keras.layers.Layer):
        config = PretrainedConfig(output_hidden_states=True)

        @unpack_inputs
        def call(self, input_ids, attention_mask=None, output_hidden_states=None, training=False):
            return {"ids": input_ids, "mask": attention_mask, "hidden": output_hidden_states}

    layer = Echo()
    out = layer({"input_ids": IDS, "attention_mask": MASK})
    assert out["hidden"] is True and out["mask"].shape == (2, 4)
    assert layer(IDS, output_hidden_states=False)["hidden"] is False
    assert layer.call.__name__ == "call" and "attention_mask" in str(Echo.call.__signature__)


def test_build_in_name_scope_and_lm_head_accessors() -> None:
    model = TFBertForMaskedLM(tiny_config())
    assert not model.weights
    model.build_in_name_scope()
    assert len(model.weights) == len(model.canonical_variables())
    head = model.get_lm_head()
    assert head is model.cls.predictions and model.get_bias()["bias"] is head.bias
    with pytest.warns(FutureWarning, match="use get_lm_head"):
        assert model.get_output_layer_with_bias() is head
    with pytest.warns(FutureWarning, match="use get_bias"):
        assert model.get_prefix_bias_name() is None
    assert model.get_output_embeddings() is model.get_input_embeddings()
    assert TFBertModel(tiny_config()).get_lm_head() is None


def test_compile_without_a_loss_trains_on_the_models_own_loss() -> None:
    keras.utils.set_random_seed(0)
    model = TFBertForSequenceClassification(tiny_config())
    labels = np.array([0, 1])
    model.compile(optimizer=keras.optimizers.Adam(1e-2), run_eagerly=True)  # eager: the same steps, no tracing
    before = float(model(IDS, attention_mask=MASK, labels=labels).loss)
    history = model.fit({"input_ids": IDS, "attention_mask": MASK}, labels, epochs=5, verbose=0)
    assert history.history["loss"][0] == pytest.approx(before, rel=1e-3)
    assert float(model(IDS, attention_mask=MASK, labels=labels).loss) < before
    model.fit({"input_ids": IDS, "labels": labels}, epochs=1, verbose=0)  # labels inside the inputs
    assert model.evaluate({"input_ids": IDS}, labels, verbose=0) > 0
    with pytest.raises(ValueError, match="returned none"):
        model.fit({"input_ids": IDS}, epochs=1, verbose=0)


def test_compile_with_a_keras_loss_sees_the_logits() -> None:
    model = TFBertForSequenceClassification(tiny_config())
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"], run_eagerly=True)
    history = model.fit({"input_ids": IDS}, np.array([0, 1]), verbose=0)
    assert set(history.history) == {"loss", "accuracy"}


def test_save_pretrained_saved_model_has_v4_signatures(tmp_path) -> None:
    model = TFBertModel(tiny_config())
    model.save_pretrained(tmp_path, saved_model=True, version=3)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json", "model.safetensors", "saved_model"]
    loaded = tf.saved_model.load(str(tmp_path / "saved_model" / "3"))
    assert sorted(loaded.signatures) == ["int64_serving", "serving_default"]
    expected = model(IDS, attention_mask=MASK).last_hidden_state
    for dtype, name in ((tf.int32, "serving_default"), (tf.int64, "int64_serving")):
        inputs = {"input_ids": tf.constant(IDS, dtype), "attention_mask": tf.constant(MASK, dtype),
                  "token_type_ids": tf.zeros(IDS.shape, dtype)}
        np.testing.assert_allclose(loaded.signatures[name](**inputs)["last_hidden_state"], expected, atol=1e-6)
    reloaded = TFBertModel.from_pretrained(tmp_path)
    np.testing.assert_allclose(reloaded(IDS, attention_mask=MASK).last_hidden_state, expected, atol=1e-6)


def test_saved_model_with_given_signatures(tmp_path) -> None:
    model = TFBertModel(tiny_config())
    model.save_pretrained(tmp_path, saved_model=True, signatures={"serve": model.serving.get_concrete_function()})
    assert list(tf.saved_model.load(str(tmp_path / "saved_model" / "1")).signatures) == ["serve"]


def test_v4_h5_loads_with_v4_flags() -> None:
    expected = np.load(FIXTURES / "transformers_tf_bert_tiny" / "outputs.npz")
    model = TFBertModel.from_pretrained(FIXTURES / "transformers_tf_bert_tiny", from_pt=True, from_tf=True)
    out = model({k: expected[k].astype(np.int32) for k in ("input_ids", "attention_mask", "token_type_ids")})
    np.testing.assert_allclose(out.last_hidden_state, expected["last_hidden_state"], atol=1e-5)


def test_a_call_taking_a_dict_gets_it_as_it_is() -> None:
    class TFDictModel(TFBertModel):  # main_input_name stays "input_ids"
        def call(self, features, training=False):
            return super().call(features["ids"], attention_mask=features["mask"], training=training)

    model = TFDictModel(tiny_config())
    np.testing.assert_array_equal(model({"ids": IDS, "mask": MASK}).last_hidden_state,
                                  TFBertModel.call(model, IDS, attention_mask=MASK).last_hidden_state)
