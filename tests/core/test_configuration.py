"""PretrainedConfig: the seed guide's usage and transformers v4 semantics."""

from __future__ import annotations

import json
import logging

import pytest

from pretrained import PretrainedConfig
from pretrained.errors import ConfigError
from pretrained.models.bert import BertConfig
from pretrained.models.resnet import ResnetConfig


class AliasConfig(PretrainedConfig):
    model_type = "alias-test"
    attribute_map = {"hidden_size": "d_model"}

    def __init__(self, d_model: int = 8, **kwargs):
        self.d_model = d_model
        super().__init__(**kwargs)


def test_seed_guide_config_round_trip(tmp_path):
    config = ResnetConfig(block_type="bottleneck", stem_width=32, stem_type="deep", avg_down=True)
    config.save_pretrained(tmp_path / "custom-resnet")
    loaded = ResnetConfig.from_pretrained(tmp_path / "custom-resnet")
    assert loaded == config and loaded.stem_type == "deep" and loaded.layers == [3, 4, 6, 3]
    saved = json.loads((tmp_path / "custom-resnet" / "config.json").read_text())
    assert saved["model_type"] == "resnet" and saved["pretrained_version"]
    text = (tmp_path / "custom-resnet" / "config.json").read_text()
    assert text == json.dumps(saved, indent=2, sort_keys=True) + "\n"


def test_subclass_validation_error_propagates_unchanged():
    with pytest.raises(ValueError, match="`block_type` must be 'basic' or bottleneck', got nope."):
        ResnetConfig(block_type="nope")


def test_unknown_kwargs_become_attributes():
    assert PretrainedConfig(foo=3, bar="x").foo == 3


def test_labels_survive_json_with_int_keys(tmp_path):
    config = PretrainedConfig(id2label={0: "cat", 1: "dog"})
    assert config.num_labels == 2 and config.label2id == {"cat": 0, "dog": 1}
    config.save_pretrained(tmp_path)
    loaded = PretrainedConfig.from_pretrained(tmp_path)
    assert loaded.id2label == {0: "cat", 1: "dog"}
    loaded.num_labels = 3
    assert loaded.id2label == {0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2"}


def test_pruned_heads_keys_restored(tmp_path):
    PretrainedConfig(pruned_heads={1: [0, 2]}).save_pretrained(tmp_path)
    assert PretrainedConfig.from_pretrained(tmp_path).pruned_heads == {1: [0, 2]}


def test_dtype_accepts_v4_torch_dtype_and_objects():
    import numpy as np

    assert PretrainedConfig(torch_dtype="float16").dtype == "float16"
    import ml_dtypes

    assert PretrainedConfig(dtype=ml_dtypes.bfloat16).dtype == "bfloat16"
    config = PretrainedConfig()
    config.torch_dtype = np.float32
    assert config.dtype == "float32" and config.torch_dtype == "float32"


def test_to_diff_dict_keeps_only_changes():
    diff = ResnetConfig(layers=[2, 2, 2, 2]).to_diff_dict()
    assert diff["layers"] == [2, 2, 2, 2]
    assert "block_type" not in diff and "return_dict" not in diff
    assert diff["model_type"] == "resnet"


def test_overrides_and_unused_kwargs(tmp_path):
    ResnetConfig().save_pretrained(tmp_path)
    config, unused = ResnetConfig.from_pretrained(tmp_path, num_classes=10, not_a_field=1, return_unused_kwargs=True)
    assert config.num_classes == 10 and unused == {"not_a_field": 1}


def test_json_file_path_and_from_dict(tmp_path):
    ResnetConfig(num_classes=7).to_json_file(tmp_path / "c.json")
    assert ResnetConfig.from_pretrained(tmp_path / "c.json").num_classes == 7
    assert ResnetConfig.from_json_file(tmp_path / "c.json").num_classes == 7
    assert ResnetConfig.from_dict({"num_classes": 5}).num_classes == 5


def test_update_and_update_from_string():
    config = BertConfig()
    config.update({"hidden_size": 64})
    config.update_from_string("num_hidden_layers=3,hidden_act=relu,layer_norm_eps=1e-6,output_attentions=true")
    assert (config.hidden_size, config.num_hidden_layers, config.hidden_act) == (64, 3, "relu")
    assert config.layer_norm_eps == 1e-6 and config.output_attentions is True
    with pytest.raises(ConfigError, match="isn't an attribute"):
        config.update_from_string("nope=1")
    with pytest.raises(ConfigError, match="can't parse"):
        config.update_from_string("num_hidden_layers=many")


def test_attribute_map_aliases(tmp_path):
    config = AliasConfig(hidden_size=16)
    assert config.d_model == 16 and config.hidden_size == 16
    config.hidden_size = 32
    assert config.d_model == 32


def test_eq_and_repr():
    assert ResnetConfig() == ResnetConfig()
    assert ResnetConfig() != ResnetConfig(num_classes=3)
    assert repr(ResnetConfig()).startswith("ResnetConfig {")


def test_not_json_serialisable_names_the_attribute(tmp_path):
    config = PretrainedConfig(callback=object())
    with pytest.raises(ConfigError, match=r"PretrainedConfig\.callback"):
        config.save_pretrained(tmp_path)


def test_other_model_type_warns(tmp_path, caplog):
    BertConfig().save_pretrained(tmp_path)
    with caplog.at_level(logging.WARNING, logger="pretrained"):
        ResnetConfig.from_pretrained(tmp_path)
    assert "model_type 'bert'" in caplog.text


def test_transformers_bert_config_loads_as_is(tmp_path):
    transformers_config = {
        "architectures": ["BertForMaskedLM"], "attention_probs_dropout_prob": 0.1, "gradient_checkpointing": False,
        "hidden_act": "gelu", "hidden_dropout_prob": 0.1, "hidden_size": 768, "initializer_range": 0.02,
        "intermediate_size": 3072, "layer_norm_eps": 1e-12, "max_position_embeddings": 512, "model_type": "bert",
        "num_attention_heads": 12, "num_hidden_layers": 12, "pad_token_id": 0, "position_embedding_type": "absolute",
        "transformers_version": "4.57.6", "type_vocab_size": 2, "use_cache": True, "vocab_size": 30522,
        "torch_dtype": "float32",
    }
    (tmp_path / "config.json").write_text(json.dumps(transformers_config))
    config = BertConfig.from_pretrained(tmp_path)
    assert config.hidden_size == 768 and config.architectures == ["BertForMaskedLM"]
    assert config.gradient_checkpointing is False and config.dtype == "float32"


# ------------------------------------------------------------------------------------------------ bad input
def test_invalid_json(tmp_path):
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(ConfigError, match=r"config\.json: not a valid JSON file"):
        PretrainedConfig.from_pretrained(tmp_path)


def test_config_not_an_object(tmp_path):
    (tmp_path / "config.json").write_text("[1, 2]")
    with pytest.raises(ConfigError, match="must hold a JSON object"):
        PretrainedConfig.from_pretrained(tmp_path)


def test_wrong_type_for_known_field():
    with pytest.raises(ConfigError, match="num_labels must be a non-negative int"):
        PretrainedConfig(num_labels="x")
    with pytest.raises(ConfigError, match="return_dict must be true or false"):
        PretrainedConfig(return_dict="yes")


def test_num_labels_inconsistent_with_id2label():
    with pytest.raises(ConfigError, match="does not match id2label"):
        PretrainedConfig(id2label={0: "a"}, num_labels=3)


def test_bad_problem_type():
    with pytest.raises(ConfigError, match="problem_type"):
        PretrainedConfig(problem_type="ranking")


def test_missing_directory_is_a_clear_error(tmp_path):
    from pretrained.errors import PretrainedError

    with pytest.raises(PretrainedError, match="config.json"):
        PretrainedConfig.from_pretrained(tmp_path)


def test_save_into_a_file_path_is_refused(tmp_path):
    path = tmp_path / "file"
    path.write_text("x")
    with pytest.raises(ConfigError, match="expects a directory"):
        PretrainedConfig().save_pretrained(path)


# ------------------------------------------------------------------------------------------- v4 attributes
class TextConfig(PretrainedConfig):
    model_type = "text-part"

    def __init__(self, width: int = 4, **kwargs):
        self.width = width
        super().__init__(**kwargs)


class PairConfig(PretrainedConfig):
    model_type = "pair"
    sub_configs = {"text_config": TextConfig}
    has_no_defaults_at_init = True

    def __init__(self, text_config=None, **kwargs):
        if text_config is None:
            raise ValueError("text_config is required")
        self.text_config = text_config
        super().__init__(**kwargs)


def test_common_attributes_have_v4_defaults():
    config = PretrainedConfig()
    expected = {"chunk_size_feed_forward": 0, "is_decoder": False, "add_cross_attention": False,
                "tie_encoder_decoder": False, "use_bfloat16": False, "tf_legacy_loss": False, "torchscript": False,
                "cross_attention_hidden_size": None, "prefix": None, "max_length": 20, "num_beams": 1, "top_k": 50,
                "use_return_dict": True, "_attn_implementation": "eager"}
    assert {name: getattr(config, name) for name in expected} == expected
    assert "max_length" not in json.loads(config.to_json_string())  # defaults are not written
    assert json.loads(PretrainedConfig(max_length=5).to_json_string())["max_length"] == 5


def test_composite_config_round_trips_its_sub_config(tmp_path):
    config = PairConfig(text_config={"width": 9})
    assert isinstance(config.text_config, TextConfig) and config.get_text_config() is config.text_config
    config.save_pretrained(tmp_path)
    saved = json.loads((tmp_path / "config.json").read_text())
    assert saved["text_config"]["width"] == 9
    loaded = PairConfig.from_pretrained(tmp_path, text_config={"width": 3})
    assert isinstance(loaded.text_config, TextConfig) and loaded.text_config.width == 3
    loaded._attn_implementation = "sdpa"
    assert loaded.text_config._attn_implementation == "sdpa"
    with pytest.raises(ValueError, match="text_config is required"):
        PairConfig()


def test_pruned_heads_keys_become_ints_however_they_are_set(tmp_path):
    config = PretrainedConfig(pruned_heads={"1": [0]})
    config.pruned_heads = {"2": [1, 3]}
    assert config.pruned_heads == {2: [1, 3]}
    config.save_pretrained(tmp_path)
    assert PretrainedConfig.from_pretrained(tmp_path, pruned_heads={"0": [1]}).pruned_heads == {0: [1]}
    with pytest.raises(ConfigError, match="pruned_heads needs integer keys"):
        config.pruned_heads = {"layer": [1]}


def test_bert_config_accepts_any_structure_until_a_model_is_built():
    config = BertConfig(hidden_size=37, num_attention_heads=4, position_embedding_type="relative_key")
    assert (config.hidden_size, config.position_embedding_type) == (37, "relative_key")


def test_use_auth_token_is_token(tmp_path):
    PretrainedConfig().save_pretrained(tmp_path)
    with pytest.warns(FutureWarning, match="use_auth_token"):
        PretrainedConfig.from_pretrained(tmp_path, use_auth_token="hf_x")
    with pytest.warns(FutureWarning):
        assert "model_type" in PretrainedConfig.get_config_dict(tmp_path, use_auth_token="hf_x")
