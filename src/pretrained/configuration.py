"""`PretrainedConfig`: a model's hyper-parameters, saved as `config.json` next to its weights.

Example:
    >>> import tempfile
    >>> from pretrained import PretrainedConfig
    >>> class ResnetConfig(PretrainedConfig):
    ...     model_type = "resnet"
    ...     def __init__(self, layers=(3, 4, 6, 3), **kwargs):
    ...         self.layers = list(layers)
    ...         super().__init__(**kwargs)
    >>> config = ResnetConfig(layers=[2, 2, 2, 2], num_labels=10)
    >>> directory = tempfile.mkdtemp()
    >>> config.save_pretrained(directory)
    >>> ResnetConfig.from_pretrained(directory).layers
    [2, 2, 2, 2]
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import numpy as np

from .checkpoint import CONFIG_NAME, write_json_atomic
from .errors import ConfigError
from .hub import PushToHubMixin, resolve_file, snapshot_commit
from .utils import logging
from .utils.options import pop_deprecated_token

logger = logging.get_logger(__name__)

__version__ = "0.1.0"
MAX_CONFIG_BYTES = 16 * 1024 * 1024
PROBLEM_TYPES = ("regression", "single_label_classification", "multi_label_classification")
_INTERNAL = ("_name_or_path", "_commit_hash", "_auto_class", "_attn_implementation_internal")
# transformers v4's common attributes (beside those __init__ validates), with v4's defaults
COMMON_DEFAULTS: dict[str, Any] = {
    "chunk_size_feed_forward": 0, "use_bfloat16": False, "tf_legacy_loss": False, "tie_encoder_decoder": False,
    "cross_attention_hidden_size": None, "architectures": None, "finetuning_task": None, "auto_map": None,
    "tokenizer_class": None, "prefix": None, "task_specific_params": None, "bos_token_id": None,
    "pad_token_id": None, "eos_token_id": None, "sep_token_id": None, "decoder_start_token_id": None,
}
# v4 kept generation parameters on the model config (GenerationConfig reads them from old checkpoints)
LEGACY_GENERATION_DEFAULTS: dict[str, Any] = {
    "max_length": 20, "min_length": 0, "do_sample": False, "early_stopping": False, "num_beams": 1,
    "num_beam_groups": 1, "diversity_penalty": 0.0, "temperature": 1.0, "top_k": 50, "top_p": 1.0, "typical_p": 1.0,
    "repetition_penalty": 1.0, "length_penalty": 1.0, "no_repeat_ngram_size": 0, "encoder_no_repeat_ngram_size": 0,
    "bad_words_ids": None, "num_return_sequences": 1, "output_scores": False, "return_dict_in_generate": False,
    "forced_bos_token_id": None, "forced_eos_token_id": None, "remove_invalid_values": False,
    "exponential_decay_length_penalty": None, "suppress_tokens": None, "begin_suppress_tokens": None,
}
_TEXT_CONFIG_NAMES = ("text_config", "decoder", "text_encoder", "generator")

ConfigT = TypeVar("ConfigT", bound="PretrainedConfig")


def dtype_name(dtype: Any) -> str | None:
    """`torch.float16`, `tf.float16`, `jnp.float16`, `np.float16` or `"float16"` -> `"float16"`."""
    if dtype is None or isinstance(dtype, str):
        return dtype
    name = getattr(dtype, "name", None)  # numpy dtypes, tf.DType
    if isinstance(name, str):
        return name
    try:
        return np.dtype(dtype).name  # numpy / ml_dtypes / jax scalar types
    except TypeError:
        return str(dtype).rsplit(".", 1)[-1]  # torch.float16


class PretrainedConfig(PushToHubMixin):
    """Base class of every model configuration.

    Subclasses set `model_type`, take their own hyper-parameters as keyword arguments, and pass `**kwargs` on to
    `super().__init__`. Unknown keyword arguments become attributes. Common fields keep transformers v4 semantics and
    defaults: `id2label` / `label2id` / `num_labels` (integer keys survive JSON), `architectures`, `dtype` (v4's
    `torch_dtype` accepted; a framework-free name such as `"float16"`), `pruned_heads`, `tie_word_embeddings`,
    `output_hidden_states`, `output_attentions`, `return_dict` / `use_return_dict`, `torchscript`,
    `chunk_size_feed_forward`, `is_encoder_decoder`, `is_decoder`, `add_cross_attention`, `tie_encoder_decoder`,
    `attn_implementation` (read as `_attn_implementation`), v4's legacy generation parameters, `auto_map`, and
    `attribute_map` aliases.

    Composite configs list their nested configs in `sub_configs` (`{"text_config": TextConfig}`): a dict given for
    one (as `config.json` stores it) becomes a config object; `has_no_defaults_at_init = True` says the class
    cannot be built without arguments.
    """

    model_type: ClassVar[str] = ""
    attribute_map: ClassVar[dict[str, str]] = {}
    is_composition: ClassVar[bool] = False
    has_no_defaults_at_init: ClassVar[bool] = False
    sub_configs: ClassVar[dict[str, type[PretrainedConfig]]] = {}
    _auto_class: ClassVar[str | None] = None

    def __setattr__(self, key: str, value: Any) -> None:
        key = type(self).attribute_map.get(key, key)
        if key == "pruned_heads":  # JSON and users spell layers as strings: {"0": [1]}
            value = _int_keyed(value, key)
        elif key in type(self).sub_configs and isinstance(value, dict):
            value = type(self).sub_configs[key](**value)
        super().__setattr__(key, value)

    def __getattr__(self, key: str) -> Any:  # only called when normal lookup fails
        aliases = type(self).attribute_map
        if key in aliases:
            return getattr(self, aliases[key])
        raise AttributeError(f"{type(self).__name__!s} has no attribute {key!r}")

    def __init__(self, **kwargs: Any) -> None:
        for alias, target in self.attribute_map.items():
            if alias in kwargs:
                kwargs[target] = kwargs.pop(alias)
        self.return_dict = _bool_field(kwargs.pop("return_dict", True), "return_dict")
        self.output_hidden_states = _bool_field(kwargs.pop("output_hidden_states", False), "output_hidden_states")
        self.output_attentions = _bool_field(kwargs.pop("output_attentions", False), "output_attentions")
        self.torchscript = _bool_field(kwargs.pop("torchscript", False), "torchscript")
        self.tie_word_embeddings = _bool_field(kwargs.pop("tie_word_embeddings", True), "tie_word_embeddings")
        self.is_encoder_decoder = _bool_field(kwargs.pop("is_encoder_decoder", False), "is_encoder_decoder")
        self.is_decoder = _bool_field(kwargs.pop("is_decoder", False), "is_decoder")
        self.add_cross_attention = _bool_field(kwargs.pop("add_cross_attention", False), "add_cross_attention")
        legacy_dtype = kwargs.pop("torch_dtype", None)
        self.dtype = dtype_name(kwargs.pop("dtype", None) or legacy_dtype)
        self.pruned_heads = kwargs.pop("pruned_heads", {})
        for name, default in {**COMMON_DEFAULTS, **LEGACY_GENERATION_DEFAULTS}.items():
            setattr(self, name, kwargs.pop(name, copy.copy(default)))
        self.problem_type = kwargs.pop("problem_type", None)
        if self.problem_type is not None and self.problem_type not in PROBLEM_TYPES:
            raise ConfigError(f"problem_type must be one of {PROBLEM_TYPES}, got {self.problem_type!r}")
        self._attn_implementation_internal = kwargs.pop("attn_implementation", None)
        id2label = kwargs.pop("id2label", None)
        label2id = kwargs.pop("label2id", None)
        num_labels = kwargs.pop("num_labels", None)
        if id2label is not None:
            self.id2label = _int_keyed(id2label, "id2label")
            self.label2id = dict(label2id) if label2id is not None else {v: k for k, v in self.id2label.items()}
            if num_labels is not None and num_labels != len(self.id2label):
                raise ConfigError(
                    f"num_labels={num_labels} does not match id2label, which has {len(self.id2label)} labels"
                )
        else:
            self.num_labels = 2 if num_labels is None else num_labels
        self._name_or_path = str(kwargs.pop("name_or_path", ""))
        self._commit_hash = kwargs.pop("_commit_hash", None)
        kwargs.pop("transformers_version", None)
        self.pretrained_version = kwargs.pop("pretrained_version", __version__)
        kwargs.pop("model_type", None)
        for key, value in kwargs.items():
            if key.startswith("__") or callable(getattr(type(self), key, None)):  # e.g. {"to_dict": null}
                raise ConfigError(f"config field {key!r} is refused: it would replace {type(self).__name__}.{key}")
            try:
                setattr(self, key, value)
            except AttributeError as exc:
                raise ConfigError(f"can't set {key}={value!r} on {type(self).__name__}: {exc}") from exc

    # ------------------------------------------------------------------ properties
    @property
    def name_or_path(self) -> str:
        return self._name_or_path

    @name_or_path.setter
    def name_or_path(self, value: str | os.PathLike) -> None:
        self._name_or_path = str(value)

    @property
    def num_labels(self) -> int:
        """Number of labels; setting it regenerates `id2label` / `label2id` as `LABEL_i`."""
        return len(self.id2label)

    @num_labels.setter
    def num_labels(self, value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ConfigError(f"num_labels must be a non-negative int, got {value!r}")
        if getattr(self, "id2label", None) is None or len(self.id2label) != value:
            self.id2label = {i: f"LABEL_{i}" for i in range(value)}
            self.label2id = {label: i for i, label in self.id2label.items()}

    @property
    def use_return_dict(self) -> bool:
        """Whether models return a `ModelOutput` (`return_dict` and not `torchscript`), else a tuple."""
        return self.return_dict and not self.torchscript

    @property
    def _attn_implementation(self) -> str:
        """The attention implementation models are built with (`"eager"` unless set; v4's private name). Setting it
        sets every sub-config's too."""
        return getattr(self, "_attn_implementation_internal", None) or "eager"

    @_attn_implementation.setter
    def _attn_implementation(self, value: str | None) -> None:
        self._attn_implementation_internal = value
        for name in type(self).sub_configs:
            nested = getattr(self, name, None)
            if isinstance(nested, PretrainedConfig):
                nested._attn_implementation = value

    @property
    def torch_dtype(self) -> str | None:
        """v4 name of [`dtype`][pretrained.PretrainedConfig]."""
        return self.dtype

    @torch_dtype.setter
    def torch_dtype(self, value: Any) -> None:
        self.dtype = dtype_name(value)

    def get_text_config(self, decoder: bool = False) -> PretrainedConfig:
        """The config of the text part: the `text_config` / `decoder` / `text_encoder` / `generator` sub-config of
        a composite config (`decoder=True`: only a decoder's), else the config itself.

        >>> PretrainedConfig().get_text_config().model_type
        ''
        """
        names = ("decoder", "generator", "text_config") if decoder else _TEXT_CONFIG_NAMES
        for name in names:
            nested = getattr(self, name, None)
            if isinstance(nested, PretrainedConfig):
                return nested
        return self

    def validate_structure(self) -> None:
        """Check the values a model needs to be built from this config; every backend's base class calls it first
        thing when a model is constructed. As in transformers v4, a config alone always loads (v4's config tests
        build configs such as `hidden_size=37, num_attention_heads=4`); the model refuses them. The base checks
        nothing; a model family's config overrides this and raises `ConfigError`.

        >>> PretrainedConfig().validate_structure() is None
        True
        """

    # ------------------------------------------------------------------ serialisation
    def to_dict(self) -> dict[str, Any]:
        """Every attribute as a plain dict, with `model_type` and the `pretrained_version` stamp."""
        output = {k: copy.deepcopy(v) for k, v in self.__dict__.items() if k not in _INTERNAL}
        output["model_type"] = type(self).model_type
        output["pretrained_version"] = __version__
        for key, value in output.items():
            if isinstance(value, PretrainedConfig):
                output[key] = value.to_dict()
        return output

    def to_diff_dict(self) -> dict[str, Any]:
        """Only the values that differ from the class defaults (plus `model_type` and the version stamp)."""
        full = self.to_dict()
        base = PretrainedConfig().to_dict()
        class_defaults = {} if self.is_composition or self.has_no_defaults_at_init else _class_defaults(type(self))
        diff = {}
        for key, value in full.items():
            nested = getattr(self, key, None)
            if isinstance(nested, PretrainedConfig):
                diff[key] = nested.to_diff_dict()
            elif key in ("model_type", "pretrained_version"):
                diff[key] = value
            elif key in class_defaults and class_defaults[key] == value and (key not in base or base[key] == value):
                continue
            elif key not in class_defaults and key in base and base[key] == value:
                continue
            else:
                diff[key] = value
        return diff

    def to_json_string(self, use_diff: bool = True) -> str:
        """JSON text (sorted keys, indent 2). Raises `ConfigError` naming any attribute that is not JSON-able."""
        payload = self.to_diff_dict() if use_diff else self.to_dict()
        for key, value in payload.items():
            try:
                json.dumps(value)
            except (TypeError, ValueError) as exc:
                raise ConfigError(
                    f"{type(self).__name__}.{key} = {value!r} ({type(value).__name__}) cannot be saved in config.json: "
                    f"{exc}. Store JSON-serialisable values (str, int, float, bool, None, list, dict)."
                ) from exc
        return json.dumps(payload, indent=2, sort_keys=True) + "\n"

    def to_json_file(self, json_file_path: str | os.PathLike, use_diff: bool = True) -> None:
        """Write the config as JSON to `json_file_path` (atomically)."""
        write_json_atomic(json_file_path, json.loads(self.to_json_string(use_diff=use_diff)))

    def save_pretrained(self, save_directory: str | os.PathLike, push_to_hub: bool = False, **kwargs: Any) -> None:
        """Write `config.json` into `save_directory` (created if needed); optionally push it to the Hub.

        Example:
            >>> import tempfile
            >>> from pretrained import PretrainedConfig
            >>> PretrainedConfig(num_labels=3).save_pretrained(tempfile.mkdtemp())
        """
        save_directory = Path(save_directory)
        if save_directory.is_file():
            raise ConfigError(f"{save_directory}: save_pretrained expects a directory, found a file")
        save_directory.mkdir(parents=True, exist_ok=True)
        if self._auto_class is not None:
            from .dynamic import custom_object_save

            custom_object_save(self, save_directory, config=self)
        self.to_json_file(save_directory / CONFIG_NAME)
        if push_to_hub:
            repo_id = kwargs.pop("repo_id", None) or save_directory.name
            self.push_to_hub(repo_id, **kwargs)

    def _save_for_push(self, save_directory: Path, **kwargs: Any) -> None:
        self.save_pretrained(save_directory)

    @classmethod
    def from_pretrained(
        cls: type[ConfigT],
        pretrained_model_name_or_path: str | os.PathLike,
        *,
        revision: str | None = None,
        cache_dir: str | os.PathLike | None = None,
        local_files_only: bool = False,
        token: str | bool | None = None,
        subfolder: str = "",
        force_download: bool = False,
        return_unused_kwargs: bool = False,
        **kwargs: Any,
    ) -> ConfigT | tuple[ConfigT, dict[str, Any]]:
        """Load a config from a directory, a JSON file, or a Hub repo id; `kwargs` override loaded values.

        Example:
            >>> import tempfile
            >>> from pretrained import PretrainedConfig
            >>> directory = tempfile.mkdtemp()
            >>> PretrainedConfig(num_labels=3).save_pretrained(directory)
            >>> PretrainedConfig.from_pretrained(directory, output_attentions=True).output_attentions
            True
        """
        for ignored in ("trust_remote_code", "_from_auto", "from_pt", "from_tf", "from_flax"):
            kwargs.pop(ignored, None)
        token = pop_deprecated_token(kwargs, token)
        config_dict = cls.get_config_dict(
            pretrained_model_name_or_path,
            revision=revision,
            cache_dir=cache_dir,
            local_files_only=local_files_only,
            token=token,
            subfolder=subfolder,
            force_download=force_download,
        )
        loaded_type = config_dict.get("model_type")
        if cls.model_type and loaded_type and loaded_type != cls.model_type:
            logger.warning(
                "%s has model_type %r but %s is for %r: this is not supported for all configurations of models "
                "and can yield errors.", pretrained_model_name_or_path, loaded_type, cls.__name__, cls.model_type,
            )
        try:
            return cls.from_dict(config_dict, return_unused_kwargs=return_unused_kwargs, **kwargs)
        except (ConfigError, TypeError, ValueError, ArithmeticError) as exc:  # name the file at fault
            source = Path(pretrained_model_name_or_path)
            where = source if source.is_file() else source / subfolder / CONFIG_NAME
            raise ConfigError(f"{where}: invalid {cls.__name__}: {exc}") from exc

    @classmethod
    def get_config_dict(
        cls,
        pretrained_model_name_or_path: str | os.PathLike,
        **hub_kwargs: Any,
    ) -> dict[str, Any]:
        """The raw `config.json` dict of a directory, file or repo id (with `_name_or_path` / `_commit_hash`).

        >>> import tempfile
        >>> directory = tempfile.mkdtemp(); PretrainedConfig(num_labels=1).save_pretrained(directory)
        >>> PretrainedConfig.get_config_dict(directory)["id2label"]
        {'0': 'LABEL_0'}
        """
        if "use_auth_token" in hub_kwargs:
            hub_kwargs["token"] = pop_deprecated_token(hub_kwargs, hub_kwargs.get("token"))
        source = Path(pretrained_model_name_or_path)
        if source.is_file():
            path = source
        else:
            path = resolve_file(pretrained_model_name_or_path, CONFIG_NAME, **hub_kwargs)
        config_dict = read_config_file(path)
        config_dict.setdefault("name_or_path", str(pretrained_model_name_or_path))
        commit = snapshot_commit(path)
        if commit:
            config_dict["_commit_hash"] = commit
        return config_dict

    @classmethod
    def from_dict(
        cls: type[ConfigT], config_dict: dict[str, Any], *, return_unused_kwargs: bool = False, **kwargs: Any
    ) -> ConfigT | tuple[ConfigT, dict[str, Any]]:
        """Build a config from a dict; `kwargs` that name existing attributes override, the rest are returned
        when `return_unused_kwargs=True` (and otherwise ignored)."""
        if not isinstance(config_dict, dict):
            raise ConfigError(f"a config must be a JSON object (dict), got {type(config_dict).__name__}")
        config = cls(**config_dict)
        unused = {}
        for key, value in kwargs.items():
            attr = cls.attribute_map.get(key, key)
            if key == "attn_implementation":
                config._attn_implementation = value
            elif hasattr(config, attr) or key in ("num_labels", "torch_dtype", "dtype"):
                current = getattr(config, attr, None)
                if isinstance(current, PretrainedConfig) and isinstance(value, dict):
                    value = type(current)(**value)
                setattr(config, attr, value)
            else:
                unused[key] = value
        if return_unused_kwargs:
            return config, unused
        return config

    @classmethod
    def from_json_file(cls: type[ConfigT], json_file: str | os.PathLike) -> ConfigT:
        """Build a config from a JSON file."""
        return cls(**read_config_file(Path(json_file)))

    def update(self, config_dict: dict[str, Any]) -> None:
        """Set every key of `config_dict` as an attribute."""
        for key, value in config_dict.items():
            setattr(self, key, value)

    def update_from_string(self, update_str: str) -> None:
        """Update existing attributes from `"n_embd=10,resid_pdrop=0.2,scale_attn_weights=false"`."""
        for item in filter(None, update_str.split(",")):
            key, sep, raw = item.partition("=")
            if not sep or not hasattr(self, key):
                raise ConfigError(f"key {key!r} in {update_str!r} isn't an attribute of {type(self).__name__}")
            old = getattr(self, key)
            setattr(self, key, _parse_like(old, raw, key))

    @classmethod
    def register_for_auto_class(cls, auto_class: str = "AutoConfig") -> None:
        """Mark this config class so `save_pretrained` ships its code and writes `auto_map` (see the Auto docs)."""
        from .dynamic import register_for_auto_class

        register_for_auto_class(cls, auto_class)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PretrainedConfig) and self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"{type(self).__name__} {self.to_json_string(use_diff=False)}"


# ---------------------------------------------------------------------------------------------- helpers
def read_config_file(path: Path) -> dict[str, Any]:
    """Parse `config.json`: size-capped, must be a JSON object; errors name the file."""
    try:
        size = path.stat().st_size
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: config file does not exist") from exc
    if size > MAX_CONFIG_BYTES:
        raise ConfigError(f"{path}: config file is {size} bytes, larger than the {MAX_CONFIG_BYTES} byte limit")
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not a valid JSON file ({exc})") from exc
    except RecursionError as exc:
        raise ConfigError(f"{path}: JSON nested too deeply") from exc
    if not isinstance(payload, dict):
        raise ConfigError(f"{path}: config.json must hold a JSON object, found {type(payload).__name__}")
    return payload


def _bool_field(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"config field {name} must be true or false, got {value!r}")
    return value


def _int_keyed(mapping: Any, name: str) -> dict[int, Any]:
    if not isinstance(mapping, dict):
        raise ConfigError(f"config field {name} must be an object, got {type(mapping).__name__}")
    try:
        return {int(k): v for k, v in mapping.items()}
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"config field {name} needs integer keys, got {list(mapping)[:5]}") from exc


def _class_defaults(cls: type[PretrainedConfig]) -> dict[str, Any]:
    if cls.has_no_defaults_at_init or cls.is_composition:
        return {}
    try:
        return cls().to_dict()
    except Exception:  # a config class with required arguments has no defaults to diff against
        return {}


def _parse_like(old: Any, raw: str, key: str) -> Any:
    try:
        if isinstance(old, bool):
            if raw.lower() in ("true", "1", "y", "yes"):
                return True
            if raw.lower() in ("false", "0", "n", "no"):
                return False
            raise ValueError(raw)
        if isinstance(old, int):
            return int(raw)
        if isinstance(old, float):
            return float(raw)
        if isinstance(old, str) or old is None:
            return raw
    except ValueError as exc:
        raise ConfigError(f"can't parse {raw!r} for {key} (currently {old!r})") from exc
    raise ConfigError(f"update_from_string can't set {key}: its type {type(old).__name__} is not str/int/float/bool")
