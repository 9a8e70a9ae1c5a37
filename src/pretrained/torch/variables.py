"""PyTorch module state <-> canonical keys: the entries (module, attribute, tensor) behind every `state_dict` key,
tied groups, non-persistent buffers, modules' extra state, and zero-copy host views for saving.

PyTorch's own `state_dict` names are the canonical keys, so nothing is renamed or transposed here; the entries let
the loader assign a tensor to the exact parameter slot (meta-device builds) and keep ties. A module that defines
`get_extra_state` / `set_extra_state` stores its extra state under `<module>._extra_state`: a tensor as is, any
other JSON-serialisable value as UTF-8 JSON bytes (a `uint8` tensor with a marker), so it round-trips through
safetensors without pickle.

Example:
    >>> from torch import nn
    >>> from pretrained.torch.variables import model_entries, tied_groups
    >>> net = nn.Sequential(nn.Embedding(4, 2), nn.Linear(2, 4, bias=False))
    >>> net[1].weight = net[0].weight
    >>> tied_groups(model_entries(net))
    [['0.weight', '1.weight']]
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ..checkpoint import HostTensor, LazyTensor
from ..layout import CanonicalVariable
from ..loading import EXTRA_STATE

_JSON_MARKER = b"pretrained-extra-state-json\0"


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


@dataclass
class ExtraStateEntry:
    """The `_extra_state` key of a module with `get_extra_state` / `set_extra_state`: read and written through
    them (encoded as a tensor, see the module docstring)."""

    module: nn.Module
    key: str

    def get(self) -> torch.Tensor:
        return encode_extra_state(self.module.get_extra_state(), self.key)

    def set(self, value: torch.Tensor) -> None:
        self.module.set_extra_state(decode_extra_state(value))


def encode_extra_state(value: Any, key: str) -> torch.Tensor:
    """A module's extra state as a tensor: tensors as they are, other values as marked UTF-8 JSON bytes.

    >>> decode_extra_state(encode_extra_state({"step": 3}, "m._extra_state"))
    {'step': 3}
    """
    if isinstance(value, torch.Tensor):
        return value
    try:
        payload = json.dumps(value).encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"cannot save {key!r}: get_extra_state() returned a {type(value).__name__}, which is neither a tensor "
            f"nor JSON-serialisable ({exc}); return a tensor or plain data (dict, list, str, numbers)"
        ) from exc
    return torch.frombuffer(bytearray(_JSON_MARKER + payload), dtype=torch.uint8)


def decode_extra_state(tensor: torch.Tensor) -> Any:
    """The value `encode_extra_state` stored (a tensor that is not marked JSON is returned as is).

    >>> decode_extra_state(torch.ones(2)).tolist()
    [1.0, 1.0]
    """
    if tensor.dtype == torch.uint8 and tensor.dim() == 1 and tensor.numel() >= len(_JSON_MARKER):
        raw = bytes(tensor.cpu().numpy().tobytes())
        if raw.startswith(_JSON_MARKER):
            return json.loads(raw[len(_JSON_MARKER):].decode("utf-8"))
    return tensor


def has_extra_state(module: nn.Module) -> bool:
    """Whether `module` overrides `get_extra_state` (its state dict then holds `_extra_state`).

    >>> has_extra_state(nn.Linear(2, 2))
    False
    """
    return type(module).get_extra_state is not nn.Module.get_extra_state


def model_entries(model: nn.Module) -> dict[str, Entry]:
    """Every parameter and buffer key of `model`'s state dict with its owner module (tied keys share one tensor
    object); modules' extra state is left out (see [`extra_state_entries`][pretrained.torch.variables])."""
    modules = dict(model.named_modules(remove_duplicate=False))
    entries = {}
    for key, tensor in model.state_dict(keep_vars=True).items():
        owner, _, name = key.rpartition(".")
        if name == EXTRA_STATE and has_extra_state(modules[owner]):
            continue
        entries[key] = Entry(modules[owner], name, tensor)
    return entries


def extra_state_entries(model: nn.Module) -> dict[str, ExtraStateEntry]:
    """`<module>._extra_state` -> its entry, for every module of `model` with extra state.

    >>> extra_state_entries(nn.Sequential(nn.Linear(2, 2)))
    {}
    """
    return {f"{name}.{EXTRA_STATE}" if name else EXTRA_STATE: ExtraStateEntry(module, f"{name}.{EXTRA_STATE}")
            for name, module in model.named_modules() if has_extra_state(module)}


def canonical_variables(model: nn.Module) -> list[CanonicalVariable]:
    """Every `state_dict` key of `model` as a `CanonicalVariable` (PyTorch names and layout are canonical; tied keys
    each appear, sharing one tensor), its `variable` the [`Entry`][pretrained.torch.variables.Entry] (or the
    [`ExtraStateEntry`][pretrained.torch.variables.ExtraStateEntry] of a module's extra state).

    >>> [v.key for v in canonical_variables(nn.Linear(2, 3))]
    ['weight', 'bias']
    """
    variables = [CanonicalVariable(key, tuple(entry.tensor.shape), dtype_to_name(entry.tensor.dtype), variable=entry,
                                   path=tuple(key.split(".")))
                 for key, entry in model_entries(model).items()]
    for key, entry in extra_state_entries(model).items():
        value = entry.get()
        variables.append(CanonicalVariable(key, tuple(value.shape), dtype_to_name(value.dtype), variable=entry,
                                           path=tuple(key.split("."))))
    return variables


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


# ------------------------------------------------------------------------------------------------ reading out
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


def lazy_tensor(tensor: torch.Tensor, key: str) -> LazyTensor:
    """A `LazyTensor` of a tensor for the streaming writer: its bytes are taken (zero-copy on the CPU; copied to
    the CPU, one tensor at a time, from other devices) only when the writer reaches it.

    >>> lazy = lazy_tensor(torch.ones(2, 3), "w")
    >>> lazy.dtype, lazy.shape, lazy.materialize().nbytes
    ('float32', (2, 3), 24)
    """
    tensor = tensor.detach()
    if tensor.is_meta:
        raise ValueError(f"cannot save {key!r}: it is on the meta device (never materialised)")
    shape, dtype = tuple(tensor.shape), dtype_to_name(tensor.dtype)
    alias = (tensor.data_ptr(), dtype, shape, tuple(tensor.stride())) if tensor.numel() and tensor.data_ptr() else None
    return LazyTensor(dtype, shape, read=functools.partial(host_tensor, tensor, key), alias=alias)
