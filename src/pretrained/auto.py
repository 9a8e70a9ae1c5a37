"""`AutoConfig` and the registry machinery that the backend Auto classes share.

`AutoConfig.from_pretrained` picks the config class from the `model_type` of `config.json`; the backend Auto classes
(`pretrained.torch.AutoModel`, `pretrained.tf.TFAutoModel`, `pretrained.flax.FlaxAutoModel`, ...) pick the model
class from the config. The library's own models are registered by dotted path and imported only when used, so
importing this module imports no framework. Code shipped with a checkpoint (`auto_map` in `config.json`) runs only
with `trust_remote_code=True` (see `pretrained.dynamic`).

Example:
    >>> from pretrained import AutoConfig
    >>> AutoConfig.for_model("bert", hidden_size=48).hidden_size
    48
    >>> "resnet" in AutoConfig.model_types()
    True
"""

from __future__ import annotations

import importlib
import os
from typing import Any, ClassVar

from .auto_names import (
    BACKEND_PREFIXES,
    CONFIG_MAPPING_NAMES,
    MODEL_MAPPING_NAMES,
    TASK_DESCRIPTIONS,
    AutoModelClassMarker,
)
from .configuration import PretrainedConfig
from .errors import ConfigError
from .hub import HUB_OPTIONS
from .modeling_base._options import COMPAT_NOOPS, LOAD_OPTIONS
from .utils import logging
from .utils.options import pop_deprecated_token

logger = logging.get_logger(__name__)

# from_pretrained options that configure the load, never the config (kept away from AutoConfig: `dtype` is also a
# config attribute)
MODEL_LOAD_KWARGS = (*LOAD_OPTIONS, *COMPAT_NOOPS, "torch_dtype", "state_dict")


def _import_attr(module: str, name: str) -> Any:
    try:
        return getattr(importlib.import_module(module), name)
    except AttributeError as exc:
        raise ImportError(f"{module} defines no {name}: {exc}") from exc


def split_hub_kwargs(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Pop the Hub options (`revision`, `cache_dir`, `local_files_only`, `token`, `subfolder`, `force_download`;
    v4's `use_auth_token` means `token`)."""
    hub = {k: kwargs.pop(k) for k in HUB_OPTIONS if k in kwargs}
    token = pop_deprecated_token(kwargs, hub.get("token"))
    if token is not None:
        hub["token"] = token
    return hub


# ============================================================================================== AutoConfig
class _ConfigMapping:
    """model_type -> config class; the library's entries are imported on first use, user entries are classes."""

    def __init__(self, names: dict[str, tuple[str, str]]) -> None:
        self._names = dict(names)
        self._extra: dict[str, type[PretrainedConfig]] = {}

    def keys(self) -> list[str]:
        return sorted({*self._names, *self._extra})

    def __contains__(self, model_type: object) -> bool:
        return model_type in self._names or model_type in self._extra

    def __getitem__(self, model_type: str) -> type[PretrainedConfig]:
        if model_type in self._extra:
            return self._extra[model_type]
        if model_type in self._names:
            return _import_attr(*self._names[model_type])
        raise ConfigError(
            f"Unrecognized model_type {model_type!r}: it should be one of {', '.join(self.keys())}. Register your "
            "config with `AutoConfig.register(model_type, ConfigClass)`, or load code shipped with the checkpoint "
            "with `trust_remote_code=True`."
        )

    def register(self, model_type: str, config_class: type[PretrainedConfig], *, exist_ok: bool = False) -> None:
        current = self._extra.get(model_type)
        if current is config_class:
            return
        if not exist_ok and (model_type in self._names or current is not None):
            owner = current.__name__ if current is not None else f"pretrained's {self._names[model_type][1]}"
            raise ValueError(
                f"'{model_type}' is already used by {owner}, pick another name "
                "(or pass exist_ok=True to replace it)."
            )
        self._extra[model_type] = config_class


CONFIG_MAPPING = _ConfigMapping(CONFIG_MAPPING_NAMES)


class AutoConfig:
    """Picks the config class from `model_type`. Not instantiable: use `from_pretrained` or `for_model`.

    Example:
        >>> import tempfile
        >>> from pretrained import AutoConfig
        >>> from pretrained.models.bert import BertConfig
        >>> directory = tempfile.mkdtemp()
        >>> BertConfig(num_hidden_layers=2).save_pretrained(directory)
        >>> config = AutoConfig.from_pretrained(directory)
        >>> type(config).__name__, config.num_hidden_layers
        ('BertConfig', 2)
    """

    def __init__(self) -> None:
        raise OSError(
            "AutoConfig is designed to be instantiated using `AutoConfig.from_pretrained(name_or_path)` or "
            "`AutoConfig.for_model(model_type)`."
        )

    @staticmethod
    def model_types() -> list[str]:
        """The model types known in this process (the library's and those registered)."""
        return CONFIG_MAPPING.keys()

    @classmethod
    def for_model(cls, model_type: str, *args: Any, **kwargs: Any) -> PretrainedConfig:
        """A new config of the class registered for `model_type`.

        Example:
            >>> from pretrained import AutoConfig
            >>> type(AutoConfig.for_model("resnet", layers=[2, 2, 2, 2])).__name__
            'ResnetConfig'
        """
        return CONFIG_MAPPING[model_type](*args, **kwargs)

    @staticmethod
    def register(model_type: str, config_class: type[PretrainedConfig], exist_ok: bool = False) -> None:
        """Make `AutoConfig` build `config_class` for `model_type`.

        Raises `ValueError` when `config_class.model_type` differs from `model_type`, or when `model_type` is
        already taken (unless `exist_ok=True`).

        Example:
            >>> from pretrained import AutoConfig, PretrainedConfig
            >>> class MyConfig(PretrainedConfig):
            ...     model_type = "my-doc-model"
            >>> AutoConfig.register("my-doc-model", MyConfig)
            >>> type(AutoConfig.for_model("my-doc-model")).__name__
            'MyConfig'
        """
        if not (isinstance(config_class, type) and issubclass(config_class, PretrainedConfig)):
            raise ValueError(f"AutoConfig.register needs a PretrainedConfig subclass, got {config_class!r}")
        if config_class.model_type != model_type:
            raise ValueError(
                "The config you are passing has a `model_type` attribute that is not consistent with the model type "
                f"you passed (config has {config_class.model_type!r} and you passed {model_type!r}). Fix one of "
                "those so they match!"
            )
        CONFIG_MAPPING.register(model_type, config_class, exist_ok=exist_ok)

    @classmethod
    def from_pretrained(
        cls,
        pretrained_model_name_or_path: str | os.PathLike,
        *,
        trust_remote_code: bool | None = None,
        code_revision: str | None = None,
        return_unused_kwargs: bool = False,
        **kwargs: Any,
    ) -> PretrainedConfig | tuple[PretrainedConfig, dict[str, Any]]:
        """Load `config.json` (local directory, file or Hub repo id) into the class its `model_type` names.

        When `config.json` names shipped code (`auto_map["AutoConfig"]`), that code is imported only with
        `trust_remote_code=True`; a locally registered class is used otherwise. kwargs override loaded values.

        Example:
            >>> import tempfile
            >>> from pretrained import AutoConfig
            >>> from pretrained.models.resnet import ResnetConfig
            >>> directory = tempfile.mkdtemp()
            >>> ResnetConfig(layers=[1, 1, 1, 1]).save_pretrained(directory)
            >>> AutoConfig.from_pretrained(directory, num_labels=5).num_labels
            5
        """
        from .dynamic import add_repo_to_auto_map, load_remote_class, resolve_trust_remote_code

        for ignored in ("_from_auto", "name_or_path"):
            kwargs.pop(ignored, None)
        hub = split_hub_kwargs(kwargs)
        config_dict = PretrainedConfig.get_config_dict(pretrained_model_name_or_path, **hub)
        model_type = config_dict.get("model_type")
        auto_map = config_dict.get("auto_map")
        has_local = isinstance(model_type, str) and model_type in CONFIG_MAPPING
        use_remote = resolve_trust_remote_code(
            trust_remote_code, pretrained_model_name_or_path, has_local_code=has_local,
            auto_map=auto_map, auto_class="AutoConfig",
        )
        if use_remote:
            config_class = load_remote_class(
                auto_map, "AutoConfig", pretrained_model_name_or_path,
                commit=config_dict.get("_commit_hash"), code_revision=code_revision, hub_kwargs=hub,
            )
        elif isinstance(model_type, str) and model_type:
            config_class = CONFIG_MAPPING[model_type]
        else:
            raise ConfigError(
                f"{pretrained_model_name_or_path}: config.json has no model_type, so AutoConfig cannot pick a config "
                f"class (known model types: {', '.join(CONFIG_MAPPING.keys())}). Load it with the config class "
                "itself, e.g. `MyConfig.from_pretrained(...)`."
            )
        config, unused = config_class.from_dict(config_dict, return_unused_kwargs=True, **kwargs)
        if isinstance(config.auto_map, dict) and not os.path.isdir(pretrained_model_name_or_path):
            config.auto_map = add_repo_to_auto_map(config.auto_map, str(pretrained_model_name_or_path))
        return (config, unused) if return_unused_kwargs else config


# ============================================================================================== model mappings
class _ModelMapping:
    """config class -> model classes for one Auto class in one backend.

    The library's entries are `model_type -> (module, PyTorch class names)`, imported on first use with the backend's
    prefix (`TF`, `Flax`); registered entries are keyed by config class.
    """

    def __init__(self, task: str, backend: str) -> None:
        self.task = task
        self.backend = backend
        self.prefix = BACKEND_PREFIXES[backend]
        self._names = MODEL_MAPPING_NAMES.get(task, {})
        self._extra: dict[type, type] = {}

    def model_types(self) -> list[str]:
        return sorted({*self._names, *(c.model_type for c in self._extra)})

    def _registered(self, config_class: type) -> type | None:
        for klass in config_class.__mro__:
            if klass in self._extra:
                return self._extra[klass]
        return None

    def __contains__(self, config_class: object) -> bool:
        if not isinstance(config_class, type):
            return False
        return self._registered(config_class) is not None or getattr(config_class, "model_type", None) in self._names

    def candidates(self, config_class: type) -> list[type]:
        """The model classes for `config_class` (registered first, else the library's, imported now)."""
        registered = self._registered(config_class)
        if registered is not None:
            return [registered]
        module, names = self._names[config_class.model_type]
        return [_import_attr(module, self.prefix + name) for name in names]

    def register(self, config_class: type, model_class: type, *, exist_ok: bool = False) -> None:
        current = self._extra.get(config_class)
        if current is model_class:
            return
        if not exist_ok and current is not None:
            raise ValueError(
                f"{config_class.__name__} is already used by {current.__name__} for this Auto class, pick another "
                "config class (or pass exist_ok=True to replace it)."
            )
        if not exist_ok and getattr(config_class, "model_type", None) in self._names:
            raise ValueError(
                f"'{config_class.model_type}' is already used by a pretrained model, pick another name "
                "(or pass exist_ok=True to replace it)."
            )
        self._extra[config_class] = model_class


_MAPPINGS: dict[tuple[str, str], _ModelMapping] = {}


def model_mapping(task: str, backend: str) -> _ModelMapping:
    """The (shared) mapping of Auto class `task` (PyTorch spelling, e.g. "AutoModelForMaskedLM") in `backend`."""
    if backend not in BACKEND_PREFIXES:
        raise ValueError(f"backend must be one of {sorted(BACKEND_PREFIXES)}, got {backend!r}")
    key = (task, backend)
    if key not in _MAPPINGS:
        _MAPPINGS[key] = _ModelMapping(task, backend)
    return _MAPPINGS[key]


def pick_model_class(config: PretrainedConfig, candidates: list[type], prefix: str) -> type:
    """The candidate that `config.architectures` names (PyTorch spelling; `TF`/`Flax` prefix added), else the first."""
    wanted = {prefix + name for name in (config.architectures or []) if isinstance(name, str)}
    wanted |= set(config.architectures or [])
    for candidate in candidates:
        if candidate.__name__ in wanted:
            return candidate
    return candidates[0]


# ============================================================================================== Auto model base
class _BaseAutoModelClass(AutoModelClassMarker):
    """Base of every backend's Auto model classes; a subclass sets `_backend` and `_task` (PyTorch spelling).

    Not instantiable: use `from_pretrained` or `from_config`.
    """

    _backend: ClassVar[str] = "torch"
    _task: ClassVar[str] = "AutoModel"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        name = type(self).__name__
        raise OSError(
            f"{name} is designed to be instantiated using the `{name}.from_pretrained(pretrained_model_name_or_path)`"
            f" or `{name}.from_config(config)` methods."
        )

    @classmethod
    def _mapping(cls) -> _ModelMapping:
        return model_mapping(cls._task, cls._backend)

    @classmethod
    def register(cls, config_class: type[PretrainedConfig], model_class: type, exist_ok: bool = False) -> None:
        """Make this Auto class build `model_class` for configs of `config_class`.

        Raises `ValueError` when `model_class.config_class` is another class, or when `config_class` is taken.

        Example:
            >>> from pretrained import AutoModel, PretrainedConfig, PreTrainedModel
            >>> class MyConfig(PretrainedConfig):
            ...     model_type = "my-doc-auto-model"
            >>> class MyModel(PreTrainedModel):
            ...     config_class = MyConfig
            >>> AutoModel.register(MyConfig, MyModel)
            >>> type(AutoModel.from_config(MyConfig())).__name__
            'MyModel'
        """
        expected = getattr(model_class, "config_class", None)
        if expected is not None and not (isinstance(config_class, type) and issubclass(config_class, expected)):
            raise ValueError(
                "The model class you are passing has a `config_class` attribute that is not consistent with the "
                f"config class you passed (model has {expected.__name__} and you passed "
                f"{getattr(config_class, '__name__', config_class)}). Fix one of those so they match!"
            )
        cls._mapping().register(config_class, model_class, exist_ok=exist_ok)

    @classmethod
    def _local_class(cls, config: PretrainedConfig) -> type | None:
        mapping = cls._mapping()
        if type(config) not in mapping:
            return None
        return pick_model_class(config, mapping.candidates(type(config)), mapping.prefix)

    @classmethod
    def _unknown(cls, config: PretrainedConfig) -> Exception:
        known = ", ".join(cls._mapping().model_types()) or "none"
        auto_map = config.auto_map if isinstance(config.auto_map, dict) else {}
        shipped = f" config.json ships code for {', '.join(sorted(auto_map))} only." if auto_map else ""
        return ConfigError(
            f"Unrecognized configuration class {type(config).__name__} (model_type {config.model_type!r}) for "
            f"{cls.__name__}: model type should be one of {known}.{shipped} Register a model with "
            f"`{cls.__name__}.register(ConfigClass, ModelClass)`."
        )

    @classmethod
    def _remote_class(cls, config: PretrainedConfig, name_or_path: Any, trust: bool | None, **load: Any) -> type | None:
        from .dynamic import load_remote_class, resolve_trust_remote_code

        local = cls._local_class(config)
        use_remote = resolve_trust_remote_code(
            trust, name_or_path, has_local_code=local is not None, auto_map=config.auto_map, auto_class=cls.__name__,
        )
        if not use_remote:
            return local
        model_class = load_remote_class(config.auto_map, cls.__name__, name_or_path, **load)
        if local is None and type(config) not in cls._mapping():
            cls.register(type(config), model_class, exist_ok=True)
        return model_class

    @classmethod
    def from_config(cls, config: PretrainedConfig, **kwargs: Any) -> Any:
        """A new model (random weights) of the class this Auto class maps `config` to.

        Example:
            >>> from pretrained import AutoConfig, AutoModel
            >>> config = AutoConfig.for_model("bert", hidden_size=32, num_hidden_layers=2, num_attention_heads=4)
            >>> type(AutoModel.from_config(config)).__name__
            'BertModel'
        """
        if not isinstance(config, PretrainedConfig):
            raise ConfigError(f"{cls.__name__}.from_config needs a PretrainedConfig, got {type(config).__name__}")
        trust = kwargs.pop("trust_remote_code", None)
        code_revision = kwargs.pop("code_revision", None)
        model_class = cls._remote_class(
            config, config.name_or_path, trust, commit=config._commit_hash, code_revision=code_revision, hub_kwargs={}
        )
        if model_class is None:
            raise cls._unknown(config)
        if hasattr(model_class, "_from_config"):
            return model_class._from_config(config, **kwargs)
        return model_class(config, **kwargs)

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: str | os.PathLike, *model_args: Any, **kwargs: Any) -> Any:
        """Load a checkpoint into the class this Auto class maps its config to (any backend saved it).

        `trust_remote_code=True` allows code shipped with the checkpoint (`auto_map`) to run; `code_revision` pins
        that code separately from `revision`. Other kwargs go to the config (when they name a config attribute)
        or to the model class's `from_pretrained`.

        Example:
            >>> from pretrained import AutoModelForImageClassification
            >>> from pretrained.models.resnet import ResnetConfig, ResnetModelForImageClassification
            >>> config = ResnetConfig(block_type="basic", layers=[1, 1, 1, 1], num_classes=3)
            >>> ResnetModelForImageClassification(config).save_pretrained("my-resnet")  # or push_to_hub("me/resnet")
            >>> model = AutoModelForImageClassification.from_pretrained("my-resnet")  # or ("me/resnet", revision="v1")
            >>> type(model).__name__, model.config.num_classes
            ('ResnetModelForImageClassification', 3)
        """
        trust = kwargs.pop("trust_remote_code", None)
        code_revision = kwargs.pop("code_revision", None)
        config = kwargs.pop("config", None)
        hub = split_hub_kwargs(kwargs)
        load_kwargs = {k: kwargs.pop(k) for k in MODEL_LOAD_KWARGS if k in kwargs}
        if not isinstance(config, PretrainedConfig):
            config, kwargs = AutoConfig.from_pretrained(
                config if config is not None else pretrained_model_name_or_path,
                trust_remote_code=trust, code_revision=code_revision, return_unused_kwargs=True, **hub, **kwargs,
            )
        model_class = cls._remote_class(
            config, pretrained_model_name_or_path, trust,
            commit=config._commit_hash, code_revision=code_revision, hub_kwargs=hub,
        )
        if model_class is None:
            raise cls._unknown(config)
        return model_class.from_pretrained(
            pretrained_model_name_or_path, *model_args, config=config, **hub, **load_kwargs, **kwargs
        )



def make_auto_class(task: str, backend: str, module: str) -> type[_BaseAutoModelClass]:
    """The Auto class of `task` (PyTorch spelling, e.g. "AutoModelForCausalLM") for `backend`, defined as if in
    `module` (each backend's `auto.py` builds its classes with it).

    Example:
        >>> from pretrained.auto import make_auto_class
        >>> cls = make_auto_class("AutoModelForCausalLM", "tf", "my_module")
        >>> cls.__name__, cls.__doc__.split(":")[0]
        ('TFAutoModelForCausalLM', 'The causal (next-token) language model for a config')
    """
    if task not in MODEL_MAPPING_NAMES:
        raise ValueError(f"unknown Auto task {task!r}: use one of {', '.join(MODEL_MAPPING_NAMES)}")
    prefix = BACKEND_PREFIXES[backend]
    name = prefix + task
    known = [f"`{prefix}{names[0]}`" for _, names in MODEL_MAPPING_NAMES[task].values()]
    doc = (f"{TASK_DESCRIPTIONS[task]} for a config: {', '.join([*known, 'or a registered class'])}. Not "
           f"instantiable: use `{name}.from_pretrained(...)` or `{name}.from_config(config)`.")
    namespace = {"_backend": backend, "_task": task, "__module__": module, "__qualname__": name, "__doc__": doc}
    return type(name, (_BaseAutoModelClass,), namespace)
