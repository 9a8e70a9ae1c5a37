"""The PyTorch hooks' helpers for `from_pretrained` / `save_pretrained` (the pipeline is `pretrained.modeling_base`).

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
import threading
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from torch import nn

from ..checkpoint import MemoryReader, to_numpy
from ..configuration import PretrainedConfig
from ..errors import ConfigError
from ..utils import logging
from .variables import Entry

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


def initialise_missing(model: nn.Module, entries: dict[str, Entry], loaded: set[str],
                       device: torch.device | None = None) -> None:
    """Materialise the tensors the checkpoint does not cover, then run the model's `_init_weights` on every module
    not fully covered (children before parents), as transformers' fast init does. Loaded values are assigned
    afterwards and win."""
    covered = {id(entries[key].tensor) for key in loaded}
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


def retie(entries: dict[str, Entry], groups: list[list[str]], written: set[str]) -> None:
    """Make every member of a tied group hold the tensor of its loaded member (or of its first member)."""
    for group in groups:
        loaded = [key for key in group if key in written]
        source = entries[(loaded or group)[0]].get()
        for key in group:
            entries[key].set(source)


def check_materialised(model: nn.Module) -> None:
    """Refuse to return a model with tensors left on the meta device (a loader bug, never silent garbage)."""
    left = [name for name, t in [*model.named_parameters(), *model.named_buffers()] if t.is_meta]
    if left:
        raise RuntimeError(f"{type(model).__name__}: tensors left uninitialised on the meta device: {left[:10]}")


def supports_assign(cls: type) -> bool:
    """Superfast init is on unless the class turns it off (either spelling: ours or transformers')."""
    return bool(getattr(cls, "_supports_assign_param_buffer", True)) and bool(
        getattr(cls, "_supports_param_buffer_assignment", True)
    )


def resolve_device(device: Any = None, device_map: Any = None) -> torch.device | None:
    """The device `from_pretrained(device=..., device_map=...)` asks for (v4's `device_map` may name one device;
    `"auto"` is the first GPU when there is one, else the CPU)."""
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
