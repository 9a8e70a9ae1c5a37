"""The PyTorch half of `from_pretrained` / `save_pretrained` (the shared half is `pretrained.loading`).

Loading follows docs/architecture.md step by step. With `_supports_assign_param_buffer` (the default) the model is
built with its parameters on the **meta device** (no memory, no random init; buffers are computed for real, so
non-persistent ones such as `position_ids` hold correct values), what the checkpoint lacks is materialised and
initialised by the model's `_init_weights`, and the checkpoint tensors (zero-copy, memory-mapped views of the
safetensors file) are **assigned** to the parameters: no copy unless a dtype cast is needed. Without it the model
is built on the CPU and the tensors are copied in. Both paths give the same weights.

Example:
    >>> from pretrained.torch.loading import no_init_weights, init_enabled
    >>> with no_init_weights():
    ...     init_enabled()
    False
"""

from __future__ import annotations

import contextlib
import os
import threading
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .. import loading
from ..checkpoint import (
    CONFIG_NAME,
    WEIGHTS_INDEX_NAME,
    WEIGHTS_NAME,
    CheckpointReader,
    HostTensor,
    MemoryReader,
    add_variant,
    plan_shards,
    shard_file_name,
    to_numpy,
)
from ..configuration import PretrainedConfig
from ..errors import CheckpointError, ConfigError
from ..utils import logging

logger = logging.get_logger(__name__)

_STATE = threading.local()


# ------------------------------------------------------------------------------------------------ build contexts
def init_enabled() -> bool:
    """False while `from_pretrained` builds a model: `post_init` then skips random initialisation."""
    return getattr(_STATE, "init_enabled", True)


@contextlib.contextmanager
def no_init_weights() -> Iterator[None]:
    """Inside, `post_init()` prunes heads but runs no `_init_weights` (the loader initialises what it must)."""
    previous = init_enabled()
    _STATE.init_enabled = False
    try:
        yield
    finally:
        _STATE.init_enabled = previous


@contextlib.contextmanager
def meta_parameters() -> Iterator[None]:
    """Every parameter registered inside lands on the meta device; buffers stay real (they are small, and
    non-persistent ones must hold computed values). `torch.nn.init` functions do nothing inside (there is nothing
    to initialise on meta; the loader initialises what the checkpoint lacks afterwards)."""
    original = nn.Module.register_parameter

    def register_parameter(module: nn.Module, name: str, param: nn.Parameter | None) -> None:
        original(module, name, param)
        if param is not None and not param.is_meta and not isinstance(param, nn.UninitializedParameter):
            module._parameters[name] = nn.Parameter(torch.empty_like(param, device="meta"),
                                                    requires_grad=param.requires_grad)

    skipped = {name: getattr(nn.init, name) for name in _INIT_FUNCTIONS if hasattr(nn.init, name)}
    nn.Module.register_parameter = register_parameter
    for name in skipped:  # initialising meta tensors does nothing, but torch still runs their Python refs
        setattr(nn.init, name, _skip_init)
    try:
        yield
    finally:
        nn.Module.register_parameter = original
        for name, function in skipped.items():
            setattr(nn.init, name, function)


_INIT_FUNCTIONS = (
    "uniform_", "normal_", "trunc_normal_", "constant_", "ones_", "zeros_", "eye_", "dirac_", "xavier_uniform_",
    "xavier_normal_", "kaiming_uniform_", "kaiming_normal_", "orthogonal_", "sparse_",
    "uniform", "normal", "constant", "xavier_uniform", "xavier_normal", "kaiming_uniform", "kaiming_normal",
    "orthogonal", "sparse",
)


def _skip_init(tensor: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor:
    return tensor


@contextlib.contextmanager
def default_dtype(dtype: torch.dtype | None) -> Iterator[None]:
    """Build floating tensors in `dtype` (as `torch.set_default_dtype`), restoring the previous default after."""
    if dtype is None or not dtype.is_floating_point:
        yield
        return
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        yield
    finally:
        torch.set_default_dtype(previous)


def to_torch_dtype(name: str | None) -> torch.dtype | None:
    """`"float16"` -> `torch.float16` (None stays None); unknown names raise `ConfigError`."""
    if name is None:
        return None
    dtype = getattr(torch, str(name), None)
    if not isinstance(dtype, torch.dtype):
        raise ConfigError(f"unknown torch dtype {name!r}; use e.g. torch.float16, 'bfloat16' or 'auto'")
    return dtype


# ------------------------------------------------------------------------------------------------ readers
def as_torch(value: Any) -> torch.Tensor:
    """A torch tensor of any framework's array. Torch tensors pass through; a writable contiguous NumPy array is
    wrapped without a copy; a read-only one (e.g. a view of a JAX buffer, which a loaded parameter must not alias) or
    a strided view (a transposed kernel) is copied by torch (multi-threaded), never by NumPy.

    Example:
        >>> import numpy as np
        >>> as_torch(np.arange(3, dtype=np.float32)).tolist()
        [0.0, 1.0, 2.0]
        >>> as_torch(np.arange(6, dtype=np.float32).reshape(2, 3).T).is_contiguous()
        True
    """
    if isinstance(value, torch.Tensor):
        return value
    array = to_numpy(value)
    bfloat16 = array.dtype.name == "bfloat16"
    with warnings.catch_warnings():  # read-only arrays are copied just below
        warnings.simplefilter("ignore", UserWarning)
        tensor = torch.from_numpy(array.view(np.uint16) if bfloat16 else array)
    if bfloat16:
        tensor = tensor.view(torch.bfloat16)
    if not tensor.is_contiguous():
        return tensor.contiguous()
    return tensor if array.flags.writeable else tensor.clone()


class StateDictReader(MemoryReader):
    """A [`MemoryReader`][pretrained.checkpoint.MemoryReader] that yields torch tensors (for
    `from_pretrained(..., state_dict=...)`); kept under this name for code written against earlier versions."""

    def __init__(self, state_dict: Any, *, source: str = "<state_dict>") -> None:
        super().__init__(state_dict, convert=as_torch, source=source)
        self.state_dict = state_dict


def open_reader(name_or_path: Any, state_dict: Any, options: loading.LoadOptions) -> Any:
    """A reader over the given state dict (any framework's tensors, or a reader), or over the resolved checkpoint
    files (torch tensors, zero-copy)."""
    if state_dict is not None and not isinstance(state_dict, (CheckpointReader, MemoryReader)):
        return StateDictReader(state_dict)
    return loading.open_reader(name_or_path, state_dict, options, convert=as_torch, framework="pt")


# ------------------------------------------------------------------------------------------------ model entries
@dataclass
class Entry:
    """One state-dict key of the model: the module holding it, the attribute name, and the tensor now there."""

    module: nn.Module
    name: str
    tensor: torch.Tensor

    def get(self) -> torch.Tensor:
        tensors = self.module._parameters if self.name in self.module._parameters else self.module._buffers
        return tensors[self.name]

    def set(self, value: torch.Tensor, *, requires_grad: bool | None = None) -> None:
        if self.name in self.module._parameters:
            if not isinstance(value, nn.Parameter):
                grad = self.tensor.requires_grad if requires_grad is None else requires_grad
                value = nn.Parameter(value, requires_grad=grad)
            self.module._parameters[self.name] = value
        else:
            self.module._buffers[self.name] = value


def model_entries(model: nn.Module) -> dict[str, Entry]:
    """Every state-dict key of `model` with its owner module (tied keys share one tensor object)."""
    modules = dict(model.named_modules(remove_duplicate=False))
    entries = {}
    for key, tensor in model.state_dict(keep_vars=True).items():
        owner, _, name = key.rpartition(".")
        entries[key] = Entry(modules[owner], name, tensor)
    return entries


def tied_groups(entries: dict[str, Entry]) -> list[list[str]]:
    """Keys that hold the very same tensor object, in state-dict order (only groups of two or more)."""
    groups: dict[int, list[str]] = {}
    for key, entry in entries.items():
        groups.setdefault(id(entry.tensor), []).append(key)
    return [keys for keys in groups.values() if len(keys) > 1]


def non_persistent_buffer_keys(model: nn.Module, prefix: str) -> set[str]:
    """Names of non-persistent buffers, with and without `prefix` (a checkpoint may hold them; never unexpected)."""
    keys = set()
    for module_name, module in model.named_modules():
        for buffer in getattr(module, "_non_persistent_buffers_set", ()):
            key = f"{module_name}.{buffer}" if module_name else buffer
            keys.add(key)
            if prefix:
                keys.add(f"{prefix}.{key}")
                keys.add(key.removeprefix(f"{prefix}."))
    return keys


# ------------------------------------------------------------------------------------------------ the load steps
def build_model(cls: type, config: PretrainedConfig, args: tuple, kwargs: dict, *, dtype: torch.dtype | None,
                meta: bool) -> tuple[nn.Module, bool]:
    """Build without random init: parameters on meta when `meta` (falling back to a CPU build if the model's
    constructor cannot run on meta). Returns `(model, built_on_meta)`."""
    with no_init_weights(), default_dtype(dtype):
        if meta:
            try:
                with meta_parameters():
                    return cls(config, *args, **kwargs), True
            except (NotImplementedError, RuntimeError) as exc:
                if "meta" not in str(exc):
                    raise
                logger.info("%s cannot be built on the meta device (%s); building it on the CPU", cls.__name__, exc)
        return cls(config, *args, **kwargs), False


def initialise_missing(model: nn.Module, entries: dict[str, Entry], plan: loading.KeyPlan, groups: list[list[str]],
                       device: torch.device | None) -> None:
    """Materialise the tensors the checkpoint does not cover, then run the model's `_init_weights` on every module
    not fully covered (children before parents), as transformers' fast init does. Loaded values are assigned
    afterwards and win."""
    covered = {id(entries[key].tensor) for key in plan.to_load}
    uncovered = [key for key, entry in entries.items() if id(entry.tensor) not in covered]
    if not uncovered:
        return
    created: dict[int, torch.Tensor] = {}
    owners: dict[int, nn.Module] = {}
    for key in uncovered:
        entry = entries[key]
        owners[id(entry.module)] = entry.module
        if entry.tensor.is_meta:
            if id(entry.tensor) not in created:
                created[id(entry.tensor)] = _materialise(entry, device)
            entry.set(created[id(entry.tensor)])
    names = {""}
    for key in uncovered:
        parts = key.split(".")[:-1]
        names.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
    selected = {id(module) for name, module in model.named_modules() if name in names}
    init = getattr(model, "_init_weights", None)

    def visit(module: nn.Module) -> None:
        if id(module) in owners and hasattr(module, "reset_parameters"):
            module.reset_parameters()  # the module's own default, for anything _init_weights does not handle
        if id(module) in selected and init is not None:
            init(module)

    with torch.no_grad():
        model.apply(visit)


def _materialise(entry: Entry, device: torch.device | None) -> torch.Tensor:
    tensor = entry.tensor
    value = torch.zeros(tensor.shape, dtype=tensor.dtype, device=device or "cpu")
    if isinstance(tensor, nn.Parameter):
        return nn.Parameter(value, requires_grad=tensor.requires_grad)
    return value


def load_tensors(entries: dict[str, Entry], plan: loading.KeyPlan, groups: list[list[str]], reader: Any, *,
                 assign: bool, device: torch.device | None) -> None:
    """Stream the planned tensors in, one at a time: assigned (zero-copy when the dtype matches) or copied."""
    skip = set()
    for group in groups:  # load one member of each tied group; the others are re-tied to it
        loaded = [key for key in group if key in plan.to_load]
        skip.update(loaded[1:])
    targets: dict[str, list[str]] = {}
    for model_key, checkpoint_key in plan.to_load.items():
        if model_key not in skip:
            targets.setdefault(checkpoint_key, []).append(model_key)
    for checkpoint_key, tensor in reader.iter_tensors(list(targets)):
        tensor = as_torch(tensor)
        for model_key in targets[checkpoint_key]:
            entry = entries[model_key]
            if assign:
                value = tensor.to(device=device or tensor.device, dtype=entry.tensor.dtype)
                entry.set(value)
                entry.tensor = entry.get()
            else:
                with torch.no_grad():
                    entry.get().copy_(tensor)


def retie(entries: dict[str, Entry], groups: list[list[str]], plan: loading.KeyPlan) -> None:
    """Make every member of a tied group hold the tensor of its loaded member (or of its first member)."""
    for group in groups:
        loaded = [key for key in group if key in plan.to_load]
        source = entries[(loaded or group)[0]].get()
        for key in group:
            entries[key].set(source)


def check_materialised(model: nn.Module) -> None:
    """Refuse to return a model with tensors left on the meta device (a loader bug, never silent garbage)."""
    left = [name for name, t in [*model.named_parameters(), *model.named_buffers()] if t.is_meta]
    if left:
        raise RuntimeError(f"{type(model).__name__}: tensors left uninitialised on the meta device: {left[:10]}")


# ------------------------------------------------------------------------------------------------ saving
def dtype_to_name(dtype: torch.dtype) -> str:
    """`torch.float32` -> `"float32"` (the checkpoint core's dtype names)."""
    return str(dtype).removeprefix("torch.")


def host_tensor(tensor: torch.Tensor, key: str) -> HostTensor:
    """A zero-copy `HostTensor` view of a CPU tensor (copied only when on another device or non-contiguous)."""
    tensor = tensor.detach()
    if tensor.is_meta:
        raise ValueError(f"cannot save {key!r}: it is on the meta device (never materialised)")
    if tensor.device.type != "cpu":
        tensor = tensor.cpu()
    if not tensor.is_contiguous():
        tensor = tensor.contiguous()
    return HostTensor(dtype_to_name(tensor.dtype), tuple(tensor.shape), tensor.data_ptr(),
                      tensor.numel() * tensor.element_size(), tensor)


def dedupe_shared(state: dict[str, torch.Tensor], tied_patterns: list[str]) -> dict[str, torch.Tensor]:
    """Drop aliases (the same memory, shape and strides under several names): keep the first name in order that
    `tied_patterns` (regexes, `re.search`) does not mark as a tied copy, else the first name."""
    import re

    groups: dict[tuple, list[str]] = {}
    for key, tensor in state.items():
        if tensor.is_meta or tensor.numel() == 0:
            groups[("unique", key)] = [key]
            continue
        alias = (tensor.device, tensor.data_ptr(), tuple(tensor.shape), tuple(tensor.stride()), tensor.dtype)
        groups.setdefault(alias, []).append(key)
    drop = set()
    for keys in groups.values():
        if len(keys) < 2:
            continue
        untied = [k for k in keys if not any(re.search(p, k) for p in tied_patterns)]
        keep = (untied or keys)[0]
        drop.update(k for k in keys if k != keep)
    return {k: v for k, v in state.items() if k not in drop}


def save_bin_files(directory: str | os.PathLike, *, model: Any, tensors: dict[str, torch.Tensor],
                   max_shard_size: int | str, variant: str | None) -> list[Path]:
    """Legacy `pytorch_model.bin` (+ shards and `pytorch_model.bin.index.json`), atomically: every file is written
    under a temporary name first and renamed into place only when all are complete."""
    import json

    directory = Path(directory)
    if directory.is_file():
        raise ConfigError(f"{directory}: save_pretrained expects a directory, found a file")
    directory.mkdir(parents=True, exist_ok=True)
    config = model.config
    config.architectures = [loading.canonical_architecture(type(model))]
    floats = [t.dtype for t in tensors.values() if t.is_floating_point()]
    if floats:
        config.dtype = dtype_to_name(floats[0])
    sizes = {key: t.numel() * t.element_size() for key, t in tensors.items()}
    shards = plan_shards(sizes, max_shard_size) or [[]]
    base = add_variant(WEIGHTS_NAME, variant)
    names = [base] if len(shards) == 1 else [shard_file_name(i + 1, len(shards), base=WEIGHTS_NAME, variant=variant)
                                             for i in range(len(shards))]
    payloads: list[tuple[str, Any]] = [(CONFIG_NAME, config.to_json_string().encode("utf-8"))]
    payloads += [(name, {k: _own_storage(tensors[k]) for k in keys}) for name, keys in zip(names, shards)]
    if len(shards) > 1:
        index = {"metadata": {"total_size": sum(sizes.values())},
                 "weight_map": {key: name for name, keys in zip(names, shards) for key in keys}}
        payloads.append((add_variant(WEIGHTS_INDEX_NAME, variant), (json.dumps(index, indent=2) + "\n").encode()))
    staged = _stage(directory, payloads)
    for tmp, name in staged:
        os.replace(tmp, directory / name)
    _remove_stale(directory, keep={name for _, name in staged}, variant=variant)
    return [directory / name for _, name in staged]


def _own_storage(tensor: torch.Tensor) -> torch.Tensor:
    """torch.save writes whole storages: clone views of bigger storages, and move to the CPU."""
    tensor = tensor.detach().cpu()
    if tensor.untyped_storage().nbytes() != tensor.numel() * tensor.element_size() or not tensor.is_contiguous():
        tensor = tensor.clone()
    return tensor


def _stage(directory: Path, payloads: list[tuple[str, Any]]) -> list[tuple[Path, str]]:
    staged: list[tuple[Path, str]] = []
    try:
        for name, payload in payloads:
            tmp = directory / f".tmp-{uuid.uuid4().hex[:12]}-{name}"
            staged.append((tmp, name))
            if isinstance(payload, bytes):
                tmp.write_bytes(payload)
            else:
                torch.save(payload, tmp)
            with open(tmp, "rb") as handle:
                os.fsync(handle.fileno())
    except BaseException as exc:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise CheckpointError(f"{directory}: saving failed ({exc}); the previous files are intact") from exc
        raise
    return staged


def _remove_stale(directory: Path, *, keep: set[str], variant: str | None) -> None:
    """After a .bin save, remove weight files of earlier saves (of the same variant) that would shadow it."""
    import re

    stems = [add_variant(n, variant).rsplit(".", 1)[0] for n in ("model.safetensors", "pytorch_model.bin")]
    patterns = [re.compile(re.escape(stem) + r"(-\d{5}-of-\d{5})?\.(safetensors|bin)(\.index\.json)?$") for stem in stems]
    for path in directory.iterdir():
        if path.name not in keep and any(p.fullmatch(path.name) for p in patterns):
            path.unlink(missing_ok=True)


# ------------------------------------------------------------------------------------------------ from_pretrained
def load_pretrained(cls: type, name_or_path: Any, model_args: tuple, *, config: Any, state_dict: dict | None,
                    kwargs: dict[str, Any]) -> Any:
    """`PreTrainedModel.from_pretrained`: the pipeline of docs/architecture.md for PyTorch."""
    device = _pop_device(kwargs)
    options = loading.split_load_kwargs(kwargs)
    config_class = getattr(cls, "config_class", None) or PretrainedConfig
    config, model_kwargs = loading.load_config(config_class, name_or_path, config, options, kwargs)
    with open_reader(name_or_path, state_dict, options) as reader:
        source = str(name_or_path) if name_or_path is not None else loading.source_name(reader)
        dtype = to_torch_dtype(loading.resolve_dtype(options.dtype, reader))
        model, on_meta = build_model(cls, config, model_args, model_kwargs, dtype=dtype, meta=supports_assign(cls))
        model.tie_weights()
        entries = model_entries(model)
        groups = tied_groups(entries)
        plan, mismatched = plan_load(model, entries, groups, reader, options, source)
        initialise_missing(model, entries, plan, groups, None)
        load_tensors(entries, plan, groups, reader, assign=on_meta, device=None)
        retie(entries, groups, plan)
    model.tie_weights()
    check_materialised(model)
    if device is not None:
        model.to(device)
    model.eval()
    report = loading.LoadingReport.from_plan(plan, mismatched)
    if not plan.to_load and reader.keys():
        report.error_msgs.append(
            f"None of the {len(reader.keys())} weights in {source} matches a weight of {cls.__name__}: every weight "
            "was initialised from scratch. Is this a checkpoint of another architecture?"
        )
    report.finish(model_class=cls.__name__, source=source, strict=options.strict)
    return (model, report.as_dict()) if options.output_loading_info else model


def plan_load(model: nn.Module, entries: dict[str, Entry], groups: list[list[str]], reader: Any,
              options: loading.LoadOptions, source: str) -> tuple[loading.KeyPlan, list]:
    """Match the model's keys with the reader's (prefixes, tied groups, ignore lists, non-persistent buffers) and
    check shapes: `(plan, mismatched)`; mismatches raise unless `ignore_mismatched_sizes`."""
    cls = type(model)
    plan = loading.plan_keys(
        entries, reader.keys(), base_model_prefix=cls.base_model_prefix,
        ignore_missing=cls._keys_to_ignore_on_load_missing or (),
        ignore_unexpected=cls._keys_to_ignore_on_load_unexpected or (), tied_groups=groups,
    )
    buffers = non_persistent_buffer_keys(model, cls.base_model_prefix)
    plan.unexpected = [key for key in plan.unexpected if key not in buffers]
    shapes = {key: tuple(entry.tensor.shape) for key, entry in entries.items()}
    mismatched = loading.find_mismatched(plan, shapes, reader)
    loading.drop_mismatched(plan, mismatched, ignore_mismatched_sizes=options.ignore_mismatched_sizes,
                            source=source, model_class=cls.__name__)
    return plan, mismatched


def load_canonical_state(model: nn.Module, source: Any, *, strict: bool, ignore_mismatched_sizes: bool
                         ) -> loading.LoadingReport:
    """`PreTrainedModel.load_canonical_state`: copy canonical tensors (in place, dtype kept) into a built model."""
    options = loading.LoadOptions(strict=strict, ignore_mismatched_sizes=ignore_mismatched_sizes)
    with loading.as_reader(source, convert=as_torch, framework="pt") as reader:
        name = loading.source_name(reader)
        entries = model_entries(model)
        groups = tied_groups(entries)
        plan, mismatched = plan_load(model, entries, groups, reader, options, name)
        load_tensors(entries, plan, groups, reader, assign=False, device=None)
    model.tie_weights()
    report = loading.LoadingReport.from_plan(plan, mismatched)
    report.finish(model_class=type(model).__name__, source=name, strict=strict)
    return report


def supports_assign(cls: type) -> bool:
    """Superfast init is on unless the class turns it off (either spelling: ours or transformers')."""
    return bool(getattr(cls, "_supports_assign_param_buffer", True)) and bool(
        getattr(cls, "_supports_param_buffer_assignment", True)
    )


def _pop_device(kwargs: dict[str, Any]) -> torch.device | None:
    device = kwargs.pop("device", None)
    device_map = kwargs.pop("device_map", None)
    if device is None and device_map is not None:
        if isinstance(device_map, dict):
            devices = set(device_map.values())
            if len(devices) != 1:
                raise ConfigError(f"device_map over several devices ({sorted(map(str, devices))}) is not supported; "
                                  "pass device=... to load the whole model on one device")
            device_map = devices.pop()
        if device_map == "auto":
            device_map = "cuda" if torch.cuda.is_available() else "cpu"
        device = device_map
    if device is None:
        return None
    return torch.device(f"cuda:{device}" if isinstance(device, int) else device)
