"""The framework-free half of `from_pretrained` / `save_pretrained`, shared by the three backends.

A backend's `from_pretrained` is: `split_load_kwargs` -> `load_config` -> `resolve_weights` -> build the model
without random init -> `plan_keys` (+ `find_mismatched`) -> stream tensors in -> initialise what is missing -> tie
-> `LoadingReport.finish`. Its `save_pretrained` hands canonical tensors to `save_model_files`. Everything that
must read the same in every backend (key matching, reports, messages, dtype names) lives here once.
"""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .checkpoint import (
    CONFIG_NAME,
    FLOAT_DTYPES,
    CheckpointFiles,
    CheckpointReader,
    HostTensor,
    MemoryReader,
    verify_checkpoint,
    write_checkpoint,
)
from .configuration import PretrainedConfig, dtype_name
from .errors import CheckpointError, ConfigError, IncompleteLoadError, ShapeMismatchError
from .hub import resolve_checkpoint
from .layout import is_num_batches_tracked
from .utils import logging

logger = logging.get_logger(__name__)

HUB_KWARGS = ("revision", "cache_dir", "local_files_only", "token", "subfolder", "force_download")
# accepted for transformers v4 compatibility; the canonical checkpoint makes them unnecessary
COMPAT_NOOPS = ("from_pt", "from_tf", "from_flax", "_fast_init", "low_cpu_mem_usage", "_from_auto", "_from_pipeline",
                "resume_download", "proxies", "mirror", "use_auth_token")
BACKEND_PREFIXES = ("TF", "Flax")


# --------------------------------------------------------------------------------------------- kwargs and config
@dataclass
class LoadOptions:
    """Options every backend's `from_pretrained` understands, split off the user's kwargs."""

    hub: dict[str, Any] = field(default_factory=dict)
    dtype: Any = None
    variant: str | None = None
    use_safetensors: bool | None = None
    output_loading_info: bool = False
    ignore_mismatched_sizes: bool = False
    strict: bool = False
    verify: bool = False


def split_load_kwargs(kwargs: dict[str, Any]) -> LoadOptions:
    """Pop the common `from_pretrained` options out of `kwargs` (what is left configures the model)."""
    options = LoadOptions(hub={k: kwargs.pop(k) for k in HUB_KWARGS if k in kwargs})
    if "use_auth_token" in kwargs and "token" not in options.hub:
        options.hub["token"] = kwargs["use_auth_token"]
    for name in COMPAT_NOOPS:
        kwargs.pop(name, None)
    if kwargs.pop("trust_remote_code", None):
        logger.info("trust_remote_code is only used by the Auto classes; ignored here")
    legacy_dtype = kwargs.pop("torch_dtype", None)
    options.dtype = kwargs.pop("dtype", None) or legacy_dtype
    for name in ("variant", "use_safetensors", "output_loading_info", "ignore_mismatched_sizes", "strict", "verify"):
        if name in kwargs:
            setattr(options, name, kwargs.pop(name))
    return options


def load_config(
    config_class: type[PretrainedConfig],
    name_or_path: str | os.PathLike | None,
    config: PretrainedConfig | str | os.PathLike | None,
    options: LoadOptions,
    kwargs: dict[str, Any],
) -> tuple[PretrainedConfig, dict[str, Any]]:
    """The config to build the model from, and the kwargs left for the model's `__init__`.

    kwargs naming config attributes override the loaded config (as in transformers v4).
    """
    if config is None or isinstance(config, (str, os.PathLike)):
        source = name_or_path if config is None else config
        if source is None:
            raise ConfigError("from_pretrained(None, ...) needs config=")
        return config_class.from_pretrained(source, return_unused_kwargs=True, **options.hub, **kwargs)
    if not isinstance(config, PretrainedConfig):
        raise ConfigError(f"config must be a PretrainedConfig (or a path / repo id), got {type(config).__name__}")
    config = copy.deepcopy(config)
    model_kwargs = {}
    for key, value in kwargs.items():
        if hasattr(config, key):
            setattr(config, key, value)
        else:
            model_kwargs[key] = value
    return config, model_kwargs


def check_config_class(model_class: type, config: Any) -> None:
    """Raise a clear error when `config` is not an instance of the model's `config_class`."""
    expected = getattr(model_class, "config_class", None) or PretrainedConfig
    if not isinstance(config, PretrainedConfig):
        raise ConfigError(
            f"{model_class.__name__} needs a configuration of type {expected.__name__}, got {type(config).__name__}. "
            f"Build it with `{model_class.__name__}.from_pretrained(...)` or pass `{expected.__name__}(...)`."
        )
    if not isinstance(config, expected):
        raise ConfigError(
            f"{model_class.__name__} expects a {expected.__name__} (model_type {expected.model_type!r}), got "
            f"{type(config).__name__} (model_type {config.model_type!r})"
        )


def resolve_weights(name_or_path: str | os.PathLike, options: LoadOptions) -> CheckpointFiles:
    """Resolve the checkpoint's weight files locally (downloading them if needed) and verify them on request."""
    checkpoint = resolve_checkpoint(
        name_or_path, variant=options.variant, use_safetensors=options.use_safetensors, **options.hub
    )
    if options.verify:
        verify_checkpoint(checkpoint)
    return checkpoint


def resolve_dtype(dtype: Any, reader: CheckpointReader | None) -> str | None:
    """`None` -> None (the backend default), `"auto"` -> the one floating dtype stored in the checkpoint,
    anything else -> its name. A checkpoint with several floating dtypes and `dtype="auto"` is an error."""
    if dtype is None:
        return None
    if isinstance(dtype, str) and dtype == "auto":
        if reader is None:
            return None
        found: dict[str, str] = {}
        for key in reader.keys():
            info = reader.info(key)
            if info.dtype in FLOAT_DTYPES:
                found.setdefault(info.dtype, key)
        if len(found) > 1:
            examples = ", ".join(f"{d} (e.g. {k!r})" for d, k in sorted(found.items()))
            raise ConfigError(
                f"dtype='auto' is ambiguous: {reader.checkpoint.files[0]} stores several floating dtypes: {examples}. "
                "Pass an explicit dtype."
            )
        return next(iter(found), None)
    return dtype_name(dtype)


def open_reader(
    name_or_path: str | os.PathLike | None,
    state_dict: Any,
    options: LoadOptions,
    *,
    convert: Callable[[Any], Any] | None = None,
    framework: str = "np",
    backend: str | None = None,
) -> Any:
    """The reader a backend's `from_pretrained` streams from: `state_dict` (a mapping of canonical key -> tensor of
    any framework, or a reader) when given, else the resolved checkpoint files of `name_or_path`.

    `convert` turns an in-memory value into what the backend wants (NumPy by default); `framework` (`"np"` or
    `"pt"`) and `backend` (safetensors' read backend) configure the file reader.

    >>> import numpy as np
    >>> reader = open_reader(None, {"w": np.zeros(2)}, LoadOptions())
    >>> type(reader).__name__, reader.keys()
    ('MemoryReader', ['w'])
    """
    if state_dict is not None:
        return as_reader(state_dict, convert=convert)
    if name_or_path is None:
        raise ConfigError("from_pretrained(None, ...) needs state_dict= (and config=)")
    return CheckpointReader(resolve_weights(name_or_path, options), framework=framework, backend=backend)


def as_reader(
    source: Any, *, convert: Callable[[Any], Any] | None = None, framework: str = "np", backend: str | None = None
) -> Any:
    """A reader over `source`: a reader (`CheckpointReader` / `MemoryReader`) as is, a mapping of canonical key ->
    tensor as a `MemoryReader`, a local path or Hub repo id as the `CheckpointReader` of its resolved weights.

    >>> import numpy as np
    >>> as_reader({"w": np.zeros(2)}).info("w").shape
    (2,)
    """
    if isinstance(source, (CheckpointReader, MemoryReader)):
        if convert is not None and isinstance(source, MemoryReader):
            return MemoryReader(source.tensors, convert=convert, source=str(source.checkpoint.files[0]))
        return source
    if isinstance(source, Mapping):
        return MemoryReader(source, convert=convert)
    if isinstance(source, (str, os.PathLike)):
        return CheckpointReader(resolve_weights(source, LoadOptions()), framework=framework, backend=backend)
    raise CheckpointError(
        f"cannot read canonical tensors from a {type(source).__name__}: pass a mapping of key -> tensor, a reader, "
        "or a checkpoint path / repo id"
    )


def source_name(reader: Any) -> str:
    """How a reader's tensors are named in reports: the checkpoint directory, or `<state_dict>`-like names."""
    first = reader.checkpoint.files[0]
    return str(first) if getattr(reader.checkpoint, "kind", "") == "memory" else str(first.parent)


# --------------------------------------------------------------------------------------------- key matching
@dataclass
class KeyPlan:
    """How the model's canonical keys line up with the checkpoint's keys."""

    to_load: dict[str, str]  # model key -> checkpoint key
    missing: list[str]
    unexpected: list[str]
    prefix_action: str | None = None  # "strip": base checkpoint into a head model; "add": the reverse


def plan_keys(
    model_keys: Iterable[str],
    checkpoint_keys: Iterable[str],
    *,
    base_model_prefix: str = "",
    ignore_missing: Iterable[str] = (),
    ignore_unexpected: Iterable[str] = (),
    tied_groups: Iterable[Iterable[str]] = (),
) -> KeyPlan:
    """Match model keys to checkpoint keys, adding or stripping `base_model_prefix` on the model side.

    `num_batches_tracked` is never reported (TF and Flax have no such variable). Keys in a tied group are not
    missing when another member of the group is loaded. `ignore_*` are regular expressions (`re.search`).

    >>> plan = plan_keys(["bert.embeddings.weight", "cls.bias"], ["embeddings.weight"], base_model_prefix="bert")
    >>> plan.to_load, plan.missing, plan.prefix_action
    ({'bert.embeddings.weight': 'embeddings.weight'}, ['cls.bias'], 'strip')
    """
    model_keys = list(model_keys)
    checkpoint_keys = list(checkpoint_keys)
    checkpoint_set = set(checkpoint_keys)
    dotted = f"{base_model_prefix}." if base_model_prefix else ""
    has_prefix = bool(dotted) and any(k.startswith(dotted) for k in checkpoint_keys)
    expects_prefix = bool(dotted) and any(k.startswith(dotted) for k in model_keys)
    action = None
    if expects_prefix and not has_prefix:
        action = "strip"
    elif has_prefix and not expects_prefix:
        action = "add"

    def source_key(model_key: str) -> str:
        if action == "strip" and model_key.startswith(dotted):
            return model_key[len(dotted):]
        if action == "add":
            return dotted + model_key
        return model_key

    to_load: dict[str, str] = {}
    missing: list[str] = []
    for key in model_keys:
        source = source_key(key)
        if source in checkpoint_set:
            to_load[key] = source
        else:
            missing.append(key)
    used = set(to_load.values())
    unexpected = [k for k in checkpoint_keys if k not in used]
    for group in tied_groups:
        group = list(group)
        if any(member in to_load for member in group):
            missing = [k for k in missing if k not in group]
    missing = [k for k in missing if not is_num_batches_tracked(k) and not _matches(k, ignore_missing)]
    unexpected = [k for k in unexpected if not is_num_batches_tracked(k) and not _matches(k, ignore_unexpected)]
    return KeyPlan(to_load=to_load, missing=missing, unexpected=unexpected, prefix_action=action)


def _matches(key: str, patterns: Iterable[str]) -> bool:
    return any(re.search(pattern, key) for pattern in patterns or ())


def find_mismatched(
    plan: KeyPlan, model_shapes: Mapping[str, tuple[int, ...]], reader: CheckpointReader
) -> list[tuple[str, tuple[int, ...], tuple[int, ...]]]:
    """`(checkpoint key, checkpoint shape, model shape)` for every planned key whose shapes differ."""
    mismatched = []
    for model_key, checkpoint_key in plan.to_load.items():
        stored = tuple(reader.info(checkpoint_key).shape)
        wanted = tuple(model_shapes[model_key])
        if stored != wanted:
            mismatched.append((checkpoint_key, stored, wanted))
    return mismatched


def drop_mismatched(
    plan: KeyPlan,
    mismatched: list[tuple[str, tuple[int, ...], tuple[int, ...]]],
    *,
    ignore_mismatched_sizes: bool,
    source: str,
    model_class: str,
) -> None:
    """With `ignore_mismatched_sizes`, remove mismatched keys from the plan (they get initialised instead);
    without it, raise one error listing every key and both shapes."""
    if not mismatched:
        return
    if not ignore_mismatched_sizes:
        lines = "\n".join(f"  - {key}: checkpoint {list(a)} vs model {list(b)}" for key, a, b in mismatched)
        raise ShapeMismatchError(
            f"Error(s) in loading weights for {model_class} from {source}: shapes do not match:\n{lines}\n"
            "Pass ignore_mismatched_sizes=True to initialise these weights instead."
        )
    dropped = {key for key, _, _ in mismatched}
    for model_key, checkpoint_key in list(plan.to_load.items()):
        if checkpoint_key in dropped:
            del plan.to_load[model_key]


# --------------------------------------------------------------------------------------------- reports
@dataclass
class LoadingReport:
    """What a load did: `missing_keys` (initialised from scratch), `unexpected_keys` (in the checkpoint, unused),
    `mismatched_keys` (`(key, checkpoint shape, model shape)`, initialised instead), `error_msgs`."""

    missing_keys: list[str] = field(default_factory=list)
    unexpected_keys: list[str] = field(default_factory=list)
    mismatched_keys: list[tuple[str, tuple[int, ...], tuple[int, ...]]] = field(default_factory=list)
    error_msgs: list[str] = field(default_factory=list)

    @classmethod
    def from_plan(cls, plan: KeyPlan, mismatched: list[tuple[str, tuple[int, ...], tuple[int, ...]]]) -> LoadingReport:
        return cls(missing_keys=list(plan.missing), unexpected_keys=list(plan.unexpected), mismatched_keys=mismatched)

    def as_dict(self) -> dict[str, list]:
        """transformers v4's `output_loading_info` dict."""
        return {
            "missing_keys": list(self.missing_keys),
            "unexpected_keys": list(self.unexpected_keys),
            "mismatched_keys": list(self.mismatched_keys),
            "error_msgs": list(self.error_msgs),
        }

    def __getitem__(self, key: str) -> list:  # lets v4 code index the report like a dict
        return self.as_dict()[key]

    @property
    def is_complete(self) -> bool:
        return not (self.missing_keys or self.unexpected_keys or self.mismatched_keys or self.error_msgs)

    def message(self, *, model_class: str, source: str) -> str:
        parts = []
        if self.missing_keys:
            parts.append(
                f"Some weights of {model_class} were not in the checkpoint at {source} and are newly initialized: "
                f"{_short(self.missing_keys)}. You should probably train this model on a downstream task."
            )
        if self.unexpected_keys:
            parts.append(
                f"Some weights of the checkpoint at {source} were not used when initializing {model_class}: "
                f"{_short(self.unexpected_keys)}. This is expected when loading a checkpoint of another "
                "architecture (e.g. a pretraining head into a classification model)."
            )
        if self.mismatched_keys:
            lines = "; ".join(f"{k}: checkpoint {list(a)} vs model {list(b)}" for k, a, b in self.mismatched_keys)
            parts.append(
                f"Some weights of {model_class} were newly initialized because the shapes did not match: {lines}."
            )
        parts.extend(self.error_msgs)
        return "\n".join(parts)

    def finish(self, *, model_class: str, source: str, strict: bool) -> None:
        """Raise (with `strict=True`) or log one readable warning for whatever is incomplete."""
        if self.is_complete:
            return
        text = self.message(model_class=model_class, source=source)
        if strict:
            raise IncompleteLoadError(f"strict=True: {text}")
        logger.warning(text)


def _short(keys: list[str], limit: int = 20) -> str:
    shown = ", ".join(keys[:limit])
    return f"[{shown}{', ...' if len(keys) > limit else ''}] ({len(keys)} keys)"


# --------------------------------------------------------------------------------------------- saving
def canonical_architecture(model_class: type) -> str:
    """`TFBertModel` / `FlaxBertModel` -> `BertModel`: every backend records the same architecture name."""
    name = model_class.__name__
    for prefix in BACKEND_PREFIXES:
        if name.startswith(prefix) and name[len(prefix):][:1].isupper():
            return name[len(prefix):]
    return name


def save_model_files(
    save_directory: str | os.PathLike,
    *,
    model: Any,
    tensors: Mapping[str, HostTensor],
    max_shard_size: int | str,
    variant: str | None = None,
) -> list[Path]:
    """Write `config.json` (with `architectures` and `dtype`) and the canonical safetensors in one atomic commit,
    plus the model's code files when it is registered for an Auto class."""
    save_directory = Path(save_directory)
    if save_directory.is_file():
        raise ConfigError(f"{save_directory}: save_pretrained expects a directory, found a file")
    save_directory.mkdir(parents=True, exist_ok=True)
    config: PretrainedConfig = model.config
    config.architectures = [canonical_architecture(type(model))]
    float_dtypes = [t.dtype for t in tensors.values() if t.dtype in FLOAT_DTYPES]
    if float_dtypes:
        config.dtype = float_dtypes[0]
    if getattr(type(model), "_auto_class", None) is not None or getattr(config, "_auto_class", None) is not None:
        from .dynamic import custom_object_save

        custom_object_save(model, save_directory, config=config)
    return write_checkpoint(
        save_directory,
        tensors,
        max_shard_size=max_shard_size,
        metadata={"format": "pt"},
        variant=variant,
        extra_files={CONFIG_NAME: config.to_json_string().encode("utf-8")},
    )
