"""AutoConfig and the Auto model machinery (fake model classes here; the library's models where they exist)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from pretrained import AutoConfig, PretrainedConfig
from pretrained.auto import CONFIG_MAPPING, _BaseAutoModelClass, pick_model_class
from pretrained.errors import ConfigError
from pretrained.models.bert import BertConfig
from pretrained.models.resnet import ResnetConfig


class FakeAutoModel(_BaseAutoModelClass):
    _backend = "torch"
    _task = "AutoModelForMaskedLM"


class FakeTFAutoModel(_BaseAutoModelClass):
    _backend = "tf"
    _task = "AutoModelForMaskedLM"


def make_config_class(width_default: int = 4) -> type[PretrainedConfig]:
    """A fresh config class with a unique model_type (the registries are process-wide)."""
    model_type = f"fake-{uuid.uuid4().hex[:8]}"

    def __init__(self: Any, width: int = width_default, **kwargs: Any) -> None:
        if width <= 0:
            raise ValueError(f"width must be positive, got {width}")
        self.width = width
        PretrainedConfig.__init__(self, **kwargs)

    return type("FakeConfig", (PretrainedConfig,), {"model_type": model_type, "__init__": __init__})


def make_model_class(config_class: type, name: str = "FakeModel") -> type:
    class FakeModel:
        def __init__(self, config: PretrainedConfig, **kwargs: Any) -> None:
            self.config = config
            self.kwargs = kwargs
            self.source = None

        @classmethod
        def _from_config(cls, config: PretrainedConfig, **kwargs: Any) -> Any:
            return cls(config, **kwargs)

        @classmethod
        def from_pretrained(cls, name_or_path: Any, *args: Any, config: Any = None, **kwargs: Any) -> Any:
            model = cls(config, **kwargs)
            model.source = (str(name_or_path), args)
            return model

    FakeModel.config_class = config_class
    FakeModel.__name__ = FakeModel.__qualname__ = name
    return FakeModel


# ------------------------------------------------------------------------------------------------ AutoConfig
def test_autoconfig_picks_the_class_from_model_type(tmp_path: Path) -> None:
    BertConfig(num_hidden_layers=3, hidden_size=48, num_attention_heads=4).save_pretrained(tmp_path / "bert")
    ResnetConfig(layers=[1, 1, 1, 1]).save_pretrained(tmp_path / "resnet")
    bert = AutoConfig.from_pretrained(tmp_path / "bert", output_attentions=True)
    assert type(bert) is BertConfig and bert.num_hidden_layers == 3 and bert.output_attentions is True
    resnet, unused = AutoConfig.from_pretrained(tmp_path / "resnet", not_a_field=1, return_unused_kwargs=True)
    assert type(resnet) is ResnetConfig and resnet.layers == [1, 1, 1, 1]
    assert unused == {"not_a_field": 1}
    assert type(AutoConfig.for_model("resnet", stem_type="deep")) is ResnetConfig


def test_autoconfig_is_not_instantiable() -> None:
    with pytest.raises(OSError, match="from_pretrained"):
        AutoConfig()


def test_autoconfig_register_duplicate_and_consistency() -> None:
    config_class = make_config_class()
    with pytest.raises(ValueError, match="not consistent with the model type"):
        AutoConfig.register("something-else", config_class)
    AutoConfig.register(config_class.model_type, config_class)
    AutoConfig.register(config_class.model_type, config_class)  # the same class again: harmless
    assert config_class.model_type in AutoConfig.model_types()
    assert type(AutoConfig.for_model(config_class.model_type, width=7)) is config_class

    other = type("OtherConfig", (PretrainedConfig,), {"model_type": config_class.model_type})
    with pytest.raises(ValueError, match="is already used by FakeConfig, pick another name"):
        AutoConfig.register(config_class.model_type, other)
    AutoConfig.register(config_class.model_type, other, exist_ok=True)
    assert CONFIG_MAPPING[config_class.model_type] is other


def test_autoconfig_refuses_to_shadow_a_library_model_type() -> None:
    class MyResnetConfig(PretrainedConfig):
        model_type = "resnet"

    with pytest.raises(ValueError, match="'resnet' is already used by .*ResnetConfig, pick another name"):
        AutoConfig.register("resnet", MyResnetConfig)
    assert CONFIG_MAPPING["resnet"] is ResnetConfig


def test_autoconfig_unknown_model_type_lists_the_known_ones(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "no-such-model"}))
    with pytest.raises(ConfigError, match=r"'no-such-model'.*one of .*bert.*resnet"):
        AutoConfig.from_pretrained(tmp_path)
    with pytest.raises(ConfigError, match="one of .*bert.*resnet"):
        AutoConfig.for_model("no-such-model")
    (tmp_path / "config.json").write_text(json.dumps({"hidden_size": 4}))
    with pytest.raises(ConfigError, match="no model_type"):
        AutoConfig.from_pretrained(tmp_path)


def test_autoconfig_validation_errors_of_the_config_class_surface(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "resnet", "block_type": "wide"}))
    with pytest.raises(ValueError, match="block_type"):
        AutoConfig.from_pretrained(tmp_path)


# ------------------------------------------------------------------------------------------------ Auto models
def test_auto_model_classes_are_not_instantiable() -> None:
    with pytest.raises(OSError, match=r"FakeAutoModel.from_pretrained\(.*FakeAutoModel.from_config"):
        FakeAutoModel()


def test_register_checks_config_class_and_duplicates() -> None:
    config_class = make_config_class()
    model_class = make_model_class(config_class)
    with pytest.raises(ValueError, match="not consistent with the config class"):
        FakeAutoModel.register(make_config_class(), model_class)
    FakeAutoModel.register(config_class, model_class)
    FakeAutoModel.register(config_class, model_class)  # idempotent
    with pytest.raises(ValueError, match="is already used by FakeModel"):
        FakeAutoModel.register(config_class, make_model_class(config_class, "OtherModel"))
    with pytest.raises(ValueError, match="'bert' is already used by a pretrained model, pick another name"):
        FakeAutoModel.register(BertConfig, make_model_class(BertConfig))


def test_from_config_and_from_pretrained_with_a_registered_class(tmp_path: Path) -> None:
    config_class = make_config_class()
    model_class = make_model_class(config_class)
    AutoConfig.register(config_class.model_type, config_class)
    FakeAutoModel.register(config_class, model_class)

    model = FakeAutoModel.from_config(config_class(width=3), extra=1)
    assert type(model) is model_class and model.config.width == 3 and model.kwargs == {"extra": 1}

    config_class(width=5).save_pretrained(tmp_path)
    model = FakeAutoModel.from_pretrained(tmp_path, "arg", width=6, revision="main", dtype="float16", extra=2)
    assert type(model) is model_class
    assert model.config.width == 6  # a config attribute: applied to the config
    assert model.kwargs == {"revision": "main", "dtype": "float16", "extra": 2}  # the rest reaches the model
    assert model.source == (str(tmp_path), ("arg",))
    assert type(model.config) is config_class

    explicit = config_class(width=9)
    model = FakeAutoModel.from_pretrained(tmp_path, config=explicit)
    assert model.config is explicit


def test_unregistered_config_lists_the_known_model_types(tmp_path: Path) -> None:
    config_class = make_config_class()
    with pytest.raises(ConfigError, match=r"Unrecognized configuration class .* for FakeAutoModel.*bert"):
        FakeAutoModel.from_config(config_class())
    with pytest.raises(ConfigError, match="needs a PretrainedConfig"):
        FakeAutoModel.from_config({"model_type": "bert"})


def test_architectures_pick_the_backend_class() -> None:
    classes = [make_model_class(BertConfig, name) for name in ("TFBertModel", "TFBertForMaskedLM")]
    config = BertConfig(architectures=["BertForMaskedLM"])
    assert pick_model_class(config, classes, "TF") is classes[1]
    assert pick_model_class(BertConfig(), classes, "TF") is classes[0]


def test_importing_the_auto_machinery_imports_no_framework(tmp_path: Path) -> None:
    BertConfig().save_pretrained(tmp_path)
    code = (
        "import sys, pretrained\n"
        f"config = pretrained.AutoConfig.from_pretrained({str(tmp_path)!r})\n"
        "import pretrained.auto, pretrained.dynamic\n"
        "print(type(config).__name__, sorted(m for m in ('torch', 'tensorflow', 'jax', 'flax') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["BertConfig", "[]"]


# ------------------------------------------------------------------------------------------------ library models
BACKENDS = {
    "torch": ("pretrained.torch", "", "torch"),
    "tf": ("pretrained.tf", "TF", "tensorflow"),
    "flax": ("pretrained.flax", "Flax", "flax"),
}
MODEL_FILES = {
    ("bert", "torch"): "modeling_bert", ("bert", "tf"): "modeling_tf_bert", ("bert", "flax"): "modeling_flax_bert",
    ("resnet", "torch"): "modeling_resnet", ("resnet", "tf"): "modeling_tf_resnet",
    ("resnet", "flax"): "modeling_flax_resnet",
}


def auto_class(backend: str, task: str) -> type:
    """The backend's Auto class, skipping when the backend or the library's model for it is not there yet."""
    package, prefix, framework = BACKENDS[backend]
    pytest.importorskip(framework)
    module = importlib.import_module(f"{package}.auto")
    return getattr(module, prefix + task)


def require_model(model: str, backend: str) -> None:
    if importlib.util.find_spec(f"pretrained.models.{model}.{MODEL_FILES[model, backend]}") is None:
        pytest.skip(f"pretrained.models.{model}.{MODEL_FILES[model, backend]} is not written yet")


def tiny_bert() -> BertConfig:
    return BertConfig(vocab_size=32, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                      intermediate_size=32, max_position_embeddings=16)


@pytest.mark.parametrize("backend", ["torch", "tf", "flax"])
@pytest.mark.parametrize("task", ["AutoModel", "AutoModelForMaskedLM", "AutoModelForSequenceClassification"])
def test_bert_from_config_in_every_backend(backend: str, task: str) -> None:
    require_model("bert", backend)
    auto = auto_class(backend, task)
    model = auto.from_config(tiny_bert())
    expected = {"AutoModel": "BertModel", "AutoModelForMaskedLM": "BertForMaskedLM",
                "AutoModelForSequenceClassification": "BertForSequenceClassification"}[task]
    assert type(model).__name__ == BACKENDS[backend][1] + expected


@pytest.mark.parametrize("backend", ["torch", "tf", "flax"])
def test_resnet_from_config_in_every_backend(backend: str) -> None:
    require_model("resnet", backend)
    auto = auto_class(backend, "AutoModelForImageClassification")
    model = auto.from_config(ResnetConfig(block_type="basic", layers=[1, 1, 1, 1], num_classes=3))
    assert type(model).__name__ == BACKENDS[backend][1] + "ResnetModelForImageClassification"


@pytest.mark.parametrize(("saver", "loader"), [("flax", "torch"), ("torch", "flax"), ("torch", "tf")])
def test_a_checkpoint_saved_by_one_backend_loads_through_another_backends_auto_class(
    tmp_path: Path, saver: str, loader: str
) -> None:
    require_model("bert", saver)
    require_model("bert", loader)
    auto_class(saver, "AutoModelForMaskedLM").from_config(tiny_bert()).save_pretrained(tmp_path)
    assert json.loads((tmp_path / "config.json").read_text())["architectures"] == ["BertForMaskedLM"]
    model = auto_class(loader, "AutoModel").from_pretrained(tmp_path)  # the base model out of a head checkpoint
    assert type(model).__name__ == BACKENDS[loader][1] + "BertModel"
    model = auto_class(loader, "AutoModelForMaskedLM").from_pretrained(tmp_path)
    assert type(model).__name__ == BACKENDS[loader][1] + "BertForMaskedLM"
