"""Code shipped with checkpoints: register_for_auto_class -> save -> trust_remote_code loads (fresh processes, Hub).

The user's model code is written into a temporary folder as a package (the seed guide's `configuration_*.py` +
`modeling_*.py`), as a user's own project would hold it. The framework-free model here exercises the machinery; the
per-backend seed guide is at the end of this file.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path
from typing import Any

import pytest

from pretrained import AutoConfig
from pretrained.dynamic import (
    RemoteCodeImportError,
    check_auto_class,
    custom_object_save,
    get_class_from_dynamic_module,
    relative_imports,
)
from pretrained.errors import RemoteCodeError

CONFIGURATION = '''
import os
from pathlib import Path

from pretrained import PretrainedConfig

if os.environ.get("SEED_MARKER"):
    Path(os.environ["SEED_MARKER"]).write_text("configuration imported")


class MyConfig(PretrainedConfig):
    model_type = "{model_type}"

    def __init__(self, width=4, **kwargs):
        if width <= 0:
            raise ValueError(f"width must be positive, got {{width}}")
        self.width = width
        super().__init__(**kwargs)
'''

CONSTANTS = "SCALE = {scale}\n"

LAYERS = '''
import numpy as np

from .constants import SCALE


def forward(weight, x):
    return np.asarray(x, dtype=np.float32) * weight * SCALE
'''

MODELING = '''
import os
from pathlib import Path

import numpy as np

from pretrained.checkpoint import CheckpointReader, HostTensor
from pretrained.dynamic import register_for_auto_class
from pretrained.hub import resolve_checkpoint
from pretrained.modeling_base import save_model_files

from .configuration_my import MyConfig
from .layers import forward

try:
    import not_installed_optional_pkg  # optional: ignored by the import check
except ImportError:
    not_installed_optional_pkg = None

if os.environ.get("SEED_MARKER"):
    Path(os.environ["SEED_MARKER"]).write_text("modeling imported")

HUB = ("revision", "cache_dir", "local_files_only", "token", "subfolder", "force_download")


class MyModel:
    """A framework-free model with one weight vector: y = x * weight * SCALE."""

    config_class = MyConfig
    _auto_class = None

    def __init__(self, config):
        self.config = config
        self.weight = np.arange(1, config.width + 1, dtype=np.float32)

    @classmethod
    def register_for_auto_class(cls, auto_class="AutoModel"):
        register_for_auto_class(cls, auto_class)

    @classmethod
    def _from_config(cls, config):
        return cls(config)

    def save_pretrained(self, directory):
        save_model_files(directory, model=self, tensors={{"weight": HostTensor.from_numpy(self.weight)}},
                         max_shard_size="1GB")

    @classmethod
    def from_pretrained(cls, name, *, config=None, **kwargs):
        hub = {{k: kwargs[k] for k in HUB if k in kwargs}}
        model = cls(config if config is not None else cls.config_class.from_pretrained(name, **hub))
        with CheckpointReader(resolve_checkpoint(name, **hub)) as reader:
            model.weight = np.array(reader.get("weight"))
        return model

    def __call__(self, x):
        return forward(self.weight, x)
'''


def write_package(root: Path, *, scale: float = 2.0, model_type: str | None = None) -> tuple[str, str]:
    """Write the user's package under `root`; returns (package name, model_type), both unique per call."""
    package = f"seed_{uuid.uuid4().hex[:10]}"
    model_type = model_type or f"my-model-{uuid.uuid4().hex[:6]}"
    folder = root / package
    folder.mkdir(parents=True)
    (folder / "__init__.py").write_text("")
    (folder / "configuration_my.py").write_text(CONFIGURATION.format(model_type=model_type))
    (folder / "constants.py").write_text(CONSTANTS.format(scale=scale))
    (folder / "layers.py").write_text(LAYERS)
    (folder / "modeling_my.py").write_text(MODELING.format())
    return package, model_type


@pytest.fixture
def user_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The user's package, importable in this process; the module cache isolated in tmp_path."""
    monkeypatch.setenv("PRETRAINED_MODULES_CACHE", str(tmp_path / "modules"))
    monkeypatch.syspath_prepend(str(tmp_path / "src"))
    package, model_type = write_package(tmp_path / "src")
    import importlib

    configuration = importlib.import_module(f"{package}.configuration_my")
    modeling = importlib.import_module(f"{package}.modeling_my")
    return configuration.MyConfig, modeling.MyModel


def save_registered(user_code: Any, directory: Path, width: int = 3) -> Any:
    config_class, model_class = user_code
    config_class.register_for_auto_class()
    model_class.register_for_auto_class("AutoModel")
    model = model_class(config_class(width=width))
    model.save_pretrained(directory)
    return model


def run_fresh(code: str, env: dict[str, str], cwd: Path) -> str:
    """Run `code` in a fresh interpreter (nothing but what it imports); returns stdout."""
    full_env = {**os.environ, **env}
    full_env.pop("PYTHONPATH", None)
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, env=full_env, cwd=cwd,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


# ------------------------------------------------------------------------------------------------ saving
def test_config_validation_save_and_reload(user_code: Any, tmp_path: Path) -> None:
    config_class, _ = user_code
    with pytest.raises(ValueError, match="width must be positive"):
        config_class(width=0)
    config_class(width=7).save_pretrained(tmp_path / "config")
    assert config_class.from_pretrained(tmp_path / "config").width == 7
    assert not (tmp_path / "config" / "configuration_my.py").exists()  # not registered: no code shipped


def test_register_for_auto_class_ships_the_code_and_writes_auto_map(user_code: Any, tmp_path: Path) -> None:
    save_registered(user_code, tmp_path / "ckpt")
    files = sorted(p.name for p in (tmp_path / "ckpt").iterdir())
    # modeling_my imports .layers, which imports .constants: both are shipped (v4 missed the second level)
    assert files == ["config.json", "configuration_my.py", "constants.py", "layers.py", "model.safetensors",
                     "modeling_my.py"]
    config = json.loads((tmp_path / "ckpt" / "config.json").read_text())
    assert config["auto_map"] == {"AutoConfig": "configuration_my.MyConfig", "AutoModel": "modeling_my.MyModel"}
    assert config["architectures"] == ["MyModel"]


def test_classes_defined_in_main_are_not_shipped(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from pretrained import PretrainedConfig

    config_class = type("MainConfig", (PretrainedConfig,), {"model_type": "main-config", "__module__": "__main__",
                                                            "_auto_class": "AutoConfig"})
    config = config_class()
    with caplog.at_level(logging.WARNING, logger="pretrained.dynamic"):
        assert custom_object_save(config, tmp_path, config=config) == []
    assert "defined in __main__" in caplog.text
    assert list(tmp_path.iterdir()) == [] and config.auto_map is None


def test_auto_class_names_are_checked() -> None:
    assert check_auto_class("TFAutoModelForMaskedLM") == "TFAutoModelForMaskedLM"
    with pytest.raises(ValueError, match="'AutoModelForTeleportation' is not a valid auto class"):
        check_auto_class("AutoModelForTeleportation")


# ------------------------------------------------------------------------------------------------ trust
def test_without_trust_nothing_is_imported_and_the_refusal_names_the_files(
    user_code: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pretrained.torch.auto import AutoModel

    save_registered(user_code, tmp_path / "ckpt")
    marker = tmp_path / "marker"
    monkeypatch.setenv("SEED_MARKER", str(marker))
    before = set(sys.modules)
    for trust in (None, False):
        for load in (AutoConfig.from_pretrained, AutoModel.from_pretrained):
            with pytest.raises(RemoteCodeError) as info:
                load(tmp_path / "ckpt", trust_remote_code=trust)
            message = str(info.value)
            assert "configuration_my.py" in message and "modeling_my.py" in message
            assert "trust_remote_code=True" in message
    assert not marker.exists()
    assert not (tmp_path / "modules").exists()
    assert not [m for m in set(sys.modules) - before if m.startswith("pretrained_modules")]


def test_local_registration_wins_unless_remote_code_is_trusted(user_code: Any, tmp_path: Path) -> None:
    from pretrained.torch.auto import AutoModel

    config_class, model_class = user_code
    save_registered(user_code, tmp_path / "ckpt", width=2)
    AutoConfig.register(config_class.model_type, config_class)
    AutoModel.register(config_class, model_class)
    local = AutoModel.from_pretrained(tmp_path / "ckpt", trust_remote_code=False)
    assert type(local) is model_class
    remote = AutoModel.from_pretrained(tmp_path / "ckpt", trust_remote_code=True)
    assert type(remote) is not model_class and type(remote).__module__.startswith("pretrained_modules.")
    assert remote(1.0).tolist() == local(1.0).tolist() == [2.0, 4.0]


def test_fresh_process_loads_with_trust_remote_code_and_resaves_the_code(user_code: Any, tmp_path: Path) -> None:
    model = save_registered(user_code, tmp_path / "ckpt", width=3)
    package = type(model).__module__.split(".")[0]
    code = f"""
        import importlib.util, json, sys
        import pretrained
        from pretrained.torch.auto import AutoModel
        assert importlib.util.find_spec({package!r}) is None  # the user's own package is not importable here
        model = AutoModel.from_pretrained({str(tmp_path / "ckpt")!r}, trust_remote_code=True)
        config = pretrained.AutoConfig.from_pretrained({str(tmp_path / "ckpt")!r}, trust_remote_code=True)
        again = AutoModel.from_pretrained({str(tmp_path / "ckpt")!r}, trust_remote_code=True)
        assert type(again) is type(model) and type(config) is type(model.config)
        model.save_pretrained({str(tmp_path / "resaved")!r})  # loaded code ships itself again
        print(json.dumps({{"out": model([1.0, 1.0, 1.0]).tolist(), "module": type(model).__module__,
                          "config": type(config).__module__, "file": sys.modules[type(model).__module__].__file__}}))
    """
    cache = tmp_path / "fresh-modules"
    result = json.loads(run_fresh(code, {"PRETRAINED_MODULES_CACHE": str(cache)}, cwd=tmp_path))
    assert result["out"] == model([1.0, 1.0, 1.0]).tolist() == [2.0, 4.0, 6.0]
    assert result["module"].startswith("pretrained_modules.local_ckpt__") and result["module"].endswith(".modeling_my")
    assert result["config"] == result["module"].replace("modeling_my", "configuration_my")
    assert Path(result["file"]).is_relative_to(cache)
    shipped = {p.name for p in (tmp_path / "resaved").glob("*.py")}
    assert shipped == {"configuration_my.py", "modeling_my.py", "layers.py", "constants.py"}
    assert json.loads((tmp_path / "resaved" / "config.json").read_text())["auto_map"] == {
        "AutoConfig": "configuration_my.MyConfig", "AutoModel": "modeling_my.MyModel"}


def test_missing_packages_are_listed_before_anything_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRETRAINED_MODULES_CACHE", str(tmp_path / "modules"))
    ckpt = tmp_path / "ckpt"
    ckpt.mkdir()
    (ckpt / "config.json").write_text(json.dumps({"model_type": "needs-pkgs",
                                                  "auto_map": {"AutoConfig": "configuration_x.XConfig"}}))
    (ckpt / "configuration_x.py").write_text(
        "import os\nimport missing_pkg_alpha.sub\nfrom missing_pkg_beta import thing\nfrom . import helpers_x\n"
        "try:\n    import missing_but_optional\nexcept ImportError:\n    pass\n"
        "raise SystemExit('must not run')\n"
    )
    (ckpt / "helpers_x.py").write_text("import missing_pkg_gamma\n")
    with pytest.raises(RemoteCodeImportError, match=r"not installed: missing_pkg_alpha, missing_pkg_beta, missing_pkg_gamma\.") as info:
        AutoConfig.from_pretrained(ckpt, trust_remote_code=True)
    assert isinstance(info.value, ImportError) and "missing_but_optional" not in str(info.value)
    assert not (tmp_path / "modules").exists()


@pytest.mark.parametrize(
    "reference",
    ["../../evil.Config", "/etc/passwd.Config", "sub/module.Config", "a.b.Config", "..module.Config",
     "evil-module.Config", "../repo--module.Config", ["module.Config"]],
)
def test_hostile_auto_map_entries_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reference: Any
) -> None:
    monkeypatch.setenv("PRETRAINED_MODULES_CACHE", str(tmp_path / "modules"))
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "x", "auto_map": {"AutoConfig": reference}}))
    with pytest.raises(RemoteCodeError, match=r"auto_map\['AutoConfig'\] = .* is refused"):
        AutoConfig.from_pretrained(tmp_path, trust_remote_code=True)
    assert not (tmp_path / "modules").exists()


def test_code_that_reaches_outside_the_checkpoint_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRETRAINED_MODULES_CACHE", str(tmp_path / "modules"))
    ckpt = tmp_path / "ckpt"
    ckpt.mkdir()
    (ckpt / "modeling_x.py").write_text("from ..secrets import key\n")
    with pytest.raises(RemoteCodeError, match=r"from \.\.secrets import key reaches outside"):
        get_class_from_dynamic_module("modeling_x.X", ckpt)
    (tmp_path / "outside.py").write_text("X = 1\n")
    (ckpt / "modeling_y.py").symlink_to(tmp_path / "outside.py")
    with pytest.raises(RemoteCodeError, match="outside the checkpoint directory"):
        get_class_from_dynamic_module("modeling_y.X", ckpt)
    assert relative_imports(__import__("ast").parse("from . import a, b\nfrom .c import d"))[0] == ["a", "b", "c"]


# ------------------------------------------------------------------------------------------------ through the Hub
def test_hub_pinned_revision_runs_exactly_that_revisions_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pretrained.testing import LocalHub

    monkeypatch.syspath_prepend(str(tmp_path / "src"))
    monkeypatch.setenv("PRETRAINED_MODULES_CACHE", str(tmp_path / "modules"))
    import importlib

    versions = []
    for scale in (2.0, 5.0):  # v1, then a push that changes the code (and its relative import)
        package, model_type = write_package(tmp_path / "src", scale=scale, model_type="hub-seed")
        config_class = importlib.import_module(f"{package}.configuration_my").MyConfig
        model_class = importlib.import_module(f"{package}.modeling_my").MyModel
        versions.append(save_registered((config_class, model_class), tmp_path / f"ckpt{scale}", width=2))

    with LocalHub(root=tmp_path / "hub", hf_home=tmp_path / "home") as hub:
        from huggingface_hub import HfApi

        api = HfApi()
        repo = api.create_repo("seed-model").repo_id
        first = api.upload_folder(repo_id=repo, folder_path=tmp_path / "ckpt2.0").oid
        api.upload_folder(repo_id=repo, folder_path=tmp_path / "ckpt5.0")
        code = f"""
            import json
            from pretrained.torch.auto import AutoModel
            pinned = AutoModel.from_pretrained({repo!r}, revision={first!r}, trust_remote_code=True)
            latest = AutoModel.from_pretrained({repo!r}, trust_remote_code=True)
            try:
                AutoModel.from_pretrained({repo!r}, revision={first!r})
                refused = False
            except Exception as exc:
                refused = "trust_remote_code=True" in str(exc)
            print(json.dumps({{"pinned": pinned([1.0, 1.0]).tolist(), "latest": latest([1.0, 1.0]).tolist(),
                              "module": type(pinned).__module__, "refused": refused,
                              "auto_map": pinned.config.auto_map}}))
        """
        result = json.loads(run_fresh(code, {"PRETRAINED_MODULES_CACHE": str(tmp_path / "fresh")}, cwd=tmp_path))
        assert hub.endpoint
    assert result["pinned"] == [2.0, 4.0] and result["latest"] == [5.0, 10.0]
    assert result["module"].endswith(f"__{first}.modeling_my")
    assert result["refused"] is True
    assert result["auto_map"]["AutoModel"] == f"{repo}--modeling_my.MyModel"


# ------------------------------------------------------------------------------------------------ seed guide, per backend
GUIDE_CONFIGURATION = '''
from pretrained import PretrainedConfig


class ResnetConfig(PretrainedConfig):
    model_type = "{model_type}"

    def __init__(self, block_type="bottleneck", layers=[3, 4, 6, 3], num_classes=1000, input_channels=3,
                 cardinality=1, base_width=64, stem_width=64, stem_type="", avg_down=False, **kwargs):
        if block_type not in ["basic", "bottleneck"]:
            raise ValueError(f"`block_type` must be 'basic' or bottleneck', got {{block_type}}.")
        if stem_type not in ["", "deep", "deep-tiered"]:
            raise ValueError(f"`stem_type` must be '', 'deep' or 'deep-tiered', got {{stem_type}}.")
        self.block_type = block_type
        self.layers = layers
        self.num_classes = num_classes
        self.input_channels = input_channels
        self.cardinality = cardinality
        self.base_width = base_width
        self.stem_width = stem_width
        self.stem_type = stem_type
        self.avg_down = avg_down
        super().__init__(**kwargs)
'''

GUIDE_MODELING = {
    "torch": '''
import torch
from timm.models.resnet import BasicBlock, Bottleneck, ResNet

from pretrained.torch import PreTrainedModel

from .configuration_resnet import ResnetConfig

BLOCK_MAPPING = {"basic": BasicBlock, "bottleneck": Bottleneck}


class ResnetModelForImageClassification(PreTrainedModel):
    config_class = ResnetConfig

    def __init__(self, config):
        super().__init__(config)
        block_layer = BLOCK_MAPPING[config.block_type]
        self.model = ResNet(block_layer, config.layers, num_classes=config.num_classes,
                            in_chans=config.input_channels, cardinality=config.cardinality,
                            base_width=config.base_width, stem_width=config.stem_width, stem_type=config.stem_type,
                            avg_down=config.avg_down)

    def forward(self, tensor, labels=None):
        logits = self.model(tensor)
        if labels is not None:
            return {"loss": torch.nn.functional.cross_entropy(logits, labels), "logits": logits}
        return {"logits": logits}
''',
    "tf": '''
from pretrained.models.resnet import TFResnetModelForImageClassification as TFResnetPort

from .configuration_resnet import ResnetConfig


class TFResnetModelForImageClassification(TFResnetPort):
    config_class = ResnetConfig
''',
    "flax": '''
from pretrained.models.resnet import FlaxResnetModelForImageClassification as FlaxResnetPort

from .configuration_resnet import ResnetConfig


class FlaxResnetModelForImageClassification(FlaxResnetPort):
    config_class = ResnetConfig
''',
}
GUIDE_BACKENDS = {  # backend -> (framework, module file, class prefix, Auto module)
    "torch": ("timm", "modeling_resnet", "", "pretrained.torch.auto"),
    "tf": ("tensorflow", "modeling_tf_resnet", "TF", "pretrained.tf.auto"),
    "flax": ("flax", "modeling_flax_resnet", "Flax", "pretrained.flax.auto"),
}
LOGITS = {
    "torch": "model(torch.from_numpy(x))['logits'].detach().numpy()",
    "tf": "np.asarray(model(x).logits)",
    "flax": "np.asarray(model(x).logits)",
}


@pytest.mark.parametrize("backend", ["torch", "tf", "flax"])
def test_seed_guide_end_to_end(backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib

    import numpy as np

    framework, module_file, prefix, auto_module = GUIDE_BACKENDS[backend]
    pytest.importorskip(framework)
    monkeypatch.setenv("PRETRAINED_MODULES_CACHE", str(tmp_path / "modules"))
    monkeypatch.syspath_prepend(str(tmp_path / "src"))
    package = f"resnet_model_{uuid.uuid4().hex[:8]}"
    (tmp_path / "src" / package).mkdir(parents=True)
    (tmp_path / "src" / package / "__init__.py").write_text("")
    model_type = f"custom-resnet-{uuid.uuid4().hex[:6]}"
    (tmp_path / "src" / package / "configuration_resnet.py").write_text(GUIDE_CONFIGURATION.format(model_type=model_type))
    (tmp_path / "src" / package / f"{module_file}.py").write_text(GUIDE_MODELING[backend])
    config_class = importlib.import_module(f"{package}.configuration_resnet").ResnetConfig
    model_class = getattr(importlib.import_module(f"{package}.{module_file}"),
                          f"{prefix}ResnetModelForImageClassification")
    auto = getattr(importlib.import_module(auto_module), f"{prefix}AutoModelForImageClassification")
    torch = importlib.import_module("torch") if backend == "torch" else None  # noqa: F841 - used by LOGITS

    # config with validation -> save -> reload
    with pytest.raises(ValueError, match="block_type"):
        config_class(block_type="wide")
    config = config_class(block_type="basic", layers=[1, 1, 1, 1], num_classes=3, stem_width=8)
    config.save_pretrained(tmp_path / "config")
    assert config_class.from_pretrained(tmp_path / "config").layers == [1, 1, 1, 1]

    # model -> save -> reload; register with the Auto classes -> load through them
    model = model_class(config)
    model = model.eval() if hasattr(model, "eval") else model  # TF: inference is call(training=False)
    x = np.random.default_rng(0).standard_normal((2, 3, 32, 32)).astype(np.float32)
    expected = eval(LOGITS[backend])
    model.save_pretrained(tmp_path / "plain")
    AutoConfig.register(model_type, config_class)
    auto.register(config_class, model_class)
    model = auto.from_pretrained(tmp_path / "plain")
    assert type(model) is model_class
    np.testing.assert_allclose(eval(LOGITS[backend]), expected, rtol=1e-5, atol=1e-5)

    # register_for_auto_class -> save -> files and auto_map
    config_class.register_for_auto_class()
    model_class.register_for_auto_class(f"{prefix}AutoModelForImageClassification")
    model.save_pretrained(tmp_path / "shared")
    assert {p.name for p in (tmp_path / "shared").glob("*.py")} == {"configuration_resnet.py", f"{module_file}.py"}
    assert json.loads((tmp_path / "shared" / "config.json").read_text())["auto_map"] == {
        "AutoConfig": "configuration_resnet.ResnetConfig",
        f"{prefix}AutoModelForImageClassification": f"{module_file}.{prefix}ResnetModelForImageClassification",
    }
    np.save(tmp_path / "x.npy", x)

    # a fresh process with only pretrained imported: trust_remote_code=True -> the same outputs
    code = f"""
        import json, numpy as np
        {"import torch" if backend == "torch" else ""}
        from {auto_module} import {prefix}AutoModelForImageClassification as Auto
        model = Auto.from_pretrained({str(tmp_path / "shared")!r}, trust_remote_code=True)
        x = np.load({str(tmp_path / "x.npy")!r})
        print(json.dumps({{"logits": {LOGITS[backend]}.tolist(), "module": type(model).__module__}}))
    """
    result = json.loads(run_fresh(code, {"PRETRAINED_MODULES_CACHE": str(tmp_path / "fresh")}, cwd=tmp_path)
                        .strip().splitlines()[-1])
    assert result["module"].startswith("pretrained_modules.local_shared__")
    np.testing.assert_allclose(np.array(result["logits"]), expected, rtol=1e-5, atol=1e-5)
