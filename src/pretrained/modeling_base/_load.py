"""The load half of the pipeline: config, readers, key plans, streaming, for `from_pretrained` and
`load_canonical_state` in every backend (see [`PreTrainedBase`][pretrained.modeling_base.PreTrainedBase] for the
order of the steps and the backend hooks they call).
"""

from __future__ import annotations

import copy
import inspect
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..attention import autoset_attn_implementation, check_attn_implementation
from ..checkpoint import (
    CONFIG_NAME,
    CheckpointFiles,
    MemoryReader,
    TensorReader,
    TensorStream,
    open_checkpoint,
    verify_checkpoint,
)
from ..configuration import PretrainedConfig
from ..errors import CheckpointError, ConfigError
from ..hub import resolve_checkpoint
from ..layout import CanonicalVariable, LayoutOverride
from ..loading import (
    KeyPlan,
    LoadingReport,
    Mismatch,
    drop_mismatched,
    find_mismatched,
    is_extra_state,
    plan_keys,
    probable_renames,
)
from ..utils import logging
from ..utils.options import check_unknown_options
from ._options import LoadOptions, known_load_options
from ._sharding import TensorSplit

logger = logging.get_logger(__name__)


@dataclass
class LoadContext:
    """One `from_pretrained` / `load_canonical_state` call as the backend hooks see it.

    `dtype` is the resolved dtype name (`"auto"` replaced by the checkpoint's; None: the backend's default);
    `reader` is the checkpoint being read; `in_place` is True for `load_canonical_state` (the model is built and
    initialised already); `shards` is the sharded-load plan (model key -> `TensorSplit`; empty unless the backend's
    `_shard_rules` gave rules); `state` is scratch space for the backend between its hooks.
    """

    config: PretrainedConfig
    options: LoadOptions
    model_args: tuple[Any, ...] = ()
    model_kwargs: dict[str, Any] = field(default_factory=dict)
    dtype: str | None = None
    source: str = ""
    reader: Any = None
    in_place: bool = False
    shards: dict[str, TensorSplit] = field(default_factory=dict)
    keep_in_fp32: list[str] = field(default_factory=list)
    config_file: str | None = None
    state: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------------------------- config and kwargs
def load_config(
    model_class: type,
    name_or_path: str | os.PathLike | None,
    config: PretrainedConfig | str | os.PathLike | None,
    options: LoadOptions,
    kwargs: dict[str, Any],
) -> tuple[PretrainedConfig, dict[str, Any]]:
    """The config to build the model from, and the kwargs left for the model's `__init__`.

    kwargs naming config attributes override the loaded config (as in transformers v4); every other kwarg must be a
    keyword parameter of the model's `__init__`, else `TypeError` names it and the closest valid option.
    """
    config_class = getattr(model_class, "config_class", None) or PretrainedConfig
    if config is None or isinstance(config, (str, os.PathLike)):
        source = name_or_path if config is None else config
        if source is None:
            raise ConfigError("from_pretrained(None, ...) needs config=")
        config, model_kwargs = config_class.from_pretrained(source, return_unused_kwargs=True, **options.hub, **kwargs)
    elif not isinstance(config, PretrainedConfig):
        raise ConfigError(f"config must be a PretrainedConfig (or a path / repo id), got {type(config).__name__}")
    else:
        config = copy.deepcopy(config)
        model_kwargs = {}
        for key, value in kwargs.items():
            if hasattr(config, key):
                setattr(config, key, value)
            else:
                model_kwargs[key] = value
    if options.attn_implementation is not None:
        config._attn_implementation = check_attn_implementation(model_class, options.attn_implementation)
    accepted = init_keywords(model_class)
    unknown = [key for key in model_kwargs if key not in accepted]
    valid = [*known_load_options(model_class._backend_load_options), *accepted, *vars(config)]
    check_unknown_options(unknown, valid, call=f"{model_class.__name__}.from_pretrained")
    return config, model_kwargs


def init_keywords(model_class: type) -> set[str]:
    """The keyword parameters of `model_class.__init__` along its chain of `__init__`s (a subclass that takes
    `**kwargs` passes them up), plus what the backend base class itself accepts (`_init_keywords`)."""
    names = set(getattr(model_class, "_init_keywords", ()))
    for klass in model_class.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None or klass.__module__.startswith(("keras.", "flax.", "torch.")) or klass is object:
            continue
        parameters = list(inspect.signature(init).parameters.values())[1:]  # without self
        if parameters and parameters[0].kind in (inspect.Parameter.POSITIONAL_ONLY,
                                                 inspect.Parameter.POSITIONAL_OR_KEYWORD):
            parameters = parameters[1:]  # the config
        names.update(p.name for p in parameters if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY))
        if not any(p.kind is p.VAR_KEYWORD for p in parameters):
            break
    return names


def config_file_of(name_or_path: str | os.PathLike | None, config: Any, options: LoadOptions) -> str | None:
    """Where `from_pretrained` read the config from (a local file path, or `<repo id>/config.json`); None for a
    config object.

    >>> config_file_of("org/model", None, LoadOptions())
    'org/model/config.json'
    """
    if isinstance(config, PretrainedConfig):
        return None
    source = name_or_path if config is None else config
    if source is None:
        return None
    if os.path.isfile(source):
        return str(source)
    if os.path.isdir(source):
        return str(Path(source, options.hub.get("subfolder", ""), CONFIG_NAME))
    return f"{source}/{CONFIG_NAME}"


def build_uninitialised(model_class: type, load: LoadContext) -> Any:
    """`model_class._build_uninitialised(load)`; a `ConfigError` from the model's construction (a structural check,
    such as heads that do not divide the hidden size) names the config file it came from."""
    try:
        return model_class._build_uninitialised(load)
    except ConfigError as exc:
        if load.config_file is None:
            raise
        raise ConfigError(f"{load.config_file}: invalid configuration for {model_class.__name__}: {exc}") from exc


def init_config(model_class: type, config: Any) -> None:
    """What every backend's `__init__` does with its config first: check it is an instance of `config_class`, and
    settle the attention implementation the model is built with (the config's, checked, or the class's default),
    and run the config's structural checks (`validate_structure`).

    >>> from pretrained.models.bert import BertConfig, BertModel
    >>> config = BertConfig(); init_config(BertModel, config); config._attn_implementation
    'sdpa'
    """
    check_config_class(model_class, config)
    config.validate_structure()
    autoset_attn_implementation(model_class, config)


def keep_in_fp32_modules(model_class: type, dtype: str | None) -> list[str]:
    """The module names whose weights a load in `dtype` keeps in float32: `_keep_in_fp32_modules` for float16,
    `_keep_in_fp32_modules_strict` for float16 and bfloat16 (as v4).

    >>> keep_in_fp32_modules(type("M", (), {"_keep_in_fp32_modules": ["wo"]}), "float16")
    ['wo']
    """
    names: list[str] = []
    if dtype == "float16":
        names += getattr(model_class, "_keep_in_fp32_modules", None) or []
    if dtype in ("float16", "bfloat16"):
        names += getattr(model_class, "_keep_in_fp32_modules_strict", None) or []
    return names


def keeps_fp32(key: str, modules: Iterable[str]) -> bool:
    """Whether the weight `key` (a canonical key or a dotted module path) lies in one of `modules` (whole
    components: `"wo"` matches `layer.0.wo.weight`, not `layer.0.wox.weight`).

    >>> keeps_fp32("encoder.layer.0.wo.weight", ["wo"]), keeps_fp32("encoder.wox.weight", ["wo"])
    (True, False)
    """
    return any(re.search(rf"(^|\.){re.escape(module)}($|\.)", key) for module in modules)


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


# --------------------------------------------------------------------------------------------- readers
def resolve_weights(name_or_path: str | os.PathLike, options: LoadOptions) -> CheckpointFiles:
    """Resolve the checkpoint's weight files locally (downloading them if needed) and verify them on request."""
    checkpoint = resolve_checkpoint(
        name_or_path, variant=options.variant, use_safetensors=options.use_safetensors, **options.hub
    )
    if options.verify:
        verify_checkpoint(checkpoint)
    return checkpoint


def open_reader(
    name_or_path: str | os.PathLike | None,
    state_dict: Any,
    options: LoadOptions,
    *,
    convert: Callable[[Any], Any] | None = None,
    framework: str = "np",
    backend: str | None = None,
    legacy_overrides: Iterable[LayoutOverride] = (),
) -> Any:
    """The reader `from_pretrained` streams from: `state_dict` (a mapping of canonical key -> tensor of any
    framework, or a reader) when given, else the resolved checkpoint files of `name_or_path`.

    `convert` turns an in-memory value into what the backend wants (NumPy by default); `framework` (`"np"` or
    `"pt"`) and `backend` (safetensors' read backend) configure the file reader; `legacy_overrides` (the model's
    `_legacy_weight_overrides`) rename v4 `tf_model.h5` / `flax_model.msgpack` weights.

    >>> import numpy as np
    >>> reader = open_reader(None, {"w": np.zeros(2)}, LoadOptions())
    >>> type(reader).__name__, reader.keys()
    ('MemoryReader', ['w'])
    """
    if state_dict is not None:
        return as_reader(state_dict, convert=convert)
    if name_or_path is None:
        raise ConfigError("from_pretrained(None, ...) needs state_dict= (and config=)")
    return open_checkpoint(resolve_weights(name_or_path, options), framework=framework, backend=backend,
                           overrides=legacy_overrides)


def as_reader(
    source: Any, *, convert: Callable[[Any], Any] | None = None, framework: str = "np", backend: str | None = None,
    legacy_overrides: Iterable[LayoutOverride] = (),
) -> Any:
    """A reader over `source`: a reader (`CheckpointReader` / `MemoryReader`) as is, a mapping of canonical key ->
    tensor as a `MemoryReader`, a local path or Hub repo id as the `CheckpointReader` of its resolved weights.

    >>> import numpy as np
    >>> as_reader({"w": np.zeros(2)}).info("w").shape
    (2,)
    """
    if isinstance(source, (TensorReader, MemoryReader)):
        if convert is not None and isinstance(source, MemoryReader):
            return MemoryReader(source.tensors, convert=convert, source=str(source.checkpoint.files[0]))
        return source
    if isinstance(source, Mapping):
        return MemoryReader(source, convert=convert)
    if isinstance(source, (str, os.PathLike)):
        return open_checkpoint(resolve_weights(source, LoadOptions()), framework=framework, backend=backend,
                               overrides=legacy_overrides)
    raise CheckpointError(
        f"cannot read canonical tensors from a {type(source).__name__}: pass a mapping of key -> tensor, a reader, "
        "or a checkpoint path / repo id"
    )


def source_name(reader: Any) -> str:
    """How a reader's tensors are named in reports: the checkpoint directory, or `<state_dict>`-like names."""
    first = reader.checkpoint.files[0]
    return str(first) if getattr(reader.checkpoint, "kind", "") == "memory" else str(first.parent)


# --------------------------------------------------------------------------------------------- planning + streaming
def plan_load(model: Any, variables: Mapping[str, CanonicalVariable], reader: Any, load: LoadContext
              ) -> tuple[KeyPlan, list[Mismatch], list[list[str]]]:
    """Match the model's variables with the reader's keys and check shapes: `(plan, mismatched, tied groups)`.

    Prefixes are added or stripped (base <-> head), tied groups count as loaded when one member is, the
    `_keys_to_ignore_on_load_*` patterns (and, when embeddings are tied, `_tied_weights_keys`) filter the report,
    and keys the backend declares as non-checkpoint state (torch's non-persistent buffers) are never unexpected.
    Shape mismatches raise unless `ignore_mismatched_sizes` (then they are initialised and reported).
    """
    cls = type(model)
    groups = model._tied_variable_groups(variables)
    ignore_unexpected = list(cls._keys_to_ignore_on_load_unexpected or [])
    if getattr(load.config, "tie_word_embeddings", False):  # derived from another weight: stored or not, never used
        ignore_unexpected += [rf"(^|\.){pattern}$" for pattern in model._tied_weight_patterns()]
    plan = plan_keys(
        variables, reader.keys(), base_model_prefix=cls.base_model_prefix,
        ignore_missing=cls._keys_to_ignore_on_load_missing or (), ignore_unexpected=ignore_unexpected,
        tied_groups=groups, source=load.source,
    )
    if plan.renamed:
        shown = ", ".join(f"{old!r} -> {new!r}" for old, new in list(plan.renamed.items())[:10])
        logger.warning("%s: %d weight(s) with legacy names were renamed to load into %s (as transformers v4 does): "
                       "%s%s. Save the model again to store the current names.", load.source, len(plan.renamed),
                       cls.__name__, shown, ", ..." if len(plan.renamed) > 10 else "")
    extra = model._non_checkpoint_keys()
    plan.unexpected = [key for key in plan.unexpected if key not in extra]
    shapes = {key: variable.canonical_shape for key, variable in variables.items() if not is_extra_state(key)}
    mismatched = find_mismatched(plan, shapes, reader)
    layouts = {plan.to_load[key]: (".".join(str(p) for p in variable.path) or key, variable.transform)
               for key, variable in variables.items() if key in plan.to_load}
    drop_mismatched(plan, mismatched, ignore_mismatched_sizes=load.options.ignore_mismatched_sizes,
                    source=load.source, model_class=cls.__name__, layouts=layouts)
    stored = {key: tuple(reader.info(key).shape) for key in plan.unexpected}
    plan.probably_renamed = probable_renames(plan, shapes, stored)
    return plan, mismatched, groups


def load_into(model: Any, reader: Any, stream: TensorStream, load: LoadContext) -> tuple[KeyPlan, list[Mismatch]]:
    """Plan (keys, and the shards of a sharded load), initialise what the checkpoint lacks (unless loading in
    place), then stream every planned tensor into its variables with the backend's `_write_tensor` (a sharded
    tensor arrives unread: the backend reads its slices); buffers the backend copied out of are recycled."""
    variables = {variable.key: variable for variable in model._canonical_variables()}
    plan, mismatched, groups = plan_load(model, variables, reader, load)
    skipped = set()
    for group in groups:  # one member of each tied group is loaded; the backend re-ties the others
        skipped.update([key for key in group if key in plan.to_load][1:])
    targets: dict[str, list[str]] = {}
    for model_key, checkpoint_key in plan.to_load.items():
        if model_key not in skipped:
            targets.setdefault(checkpoint_key, []).append(model_key)
    load.state["tied_groups"] = groups
    rules = model._shard_rules(variables, load)
    if rules is not None:  # planned and checked before anything is allocated
        load.shards = rules.plan(variables)
    sliced = [key for key, model_keys in targets.items() if any(k in load.shards for k in model_keys)]
    if not load.in_place:
        model._initialise_missing(variables, {key for keys in targets.values() for key in keys}, load)
    for tensor in stream.tensors(targets, sliced=sliced):
        consumed = [model._write_tensor(variables[model_key], tensor, load) for model_key in targets[tensor.key]]
        if all(consumed):
            stream.recycle(tensor)
    return plan, mismatched


def report_of(model_class: type, plan: KeyPlan, mismatched: list[Mismatch], reader: Any, source: str
              ) -> LoadingReport:
    """The `LoadingReport` of a load, with an error message when nothing in the checkpoint matched the model."""
    report = LoadingReport.from_plan(plan, mismatched)
    if not plan.to_load and len(reader):
        report.error_msgs.append(
            f"None of the {len(reader)} weights in {source} matches a weight of {model_class.__name__}: every weight "
            "was initialised from scratch. Is this a checkpoint of another architecture?"
        )
    return report
