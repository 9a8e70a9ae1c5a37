"""Legacy transformers v4 weight files, read for migration only.

- `pytorch_model.bin` (and its sharded `.bin.index.json`) is read with `torch.load(weights_only=True)`, which
  refuses any pickle that would run code; `CheckpointReader` reads it like safetensors.
- `flax_model.msgpack` (a Linen variable tree, or its index and shards) is read with the `msgpack` package only,
  mapped to canonical keys by the Linen leaf rules ([`read_flax_msgpack`][pretrained.legacy.read_flax_msgpack]);
  [`MsgpackReader`][pretrained.checkpoint.MsgpackReader] serves it to `from_pretrained` like any checkpoint.
- `tf_model.h5` (Keras 2) is read by [`H5Reader`][pretrained.checkpoint.H5Reader] (`_h5.py`).
"""

from __future__ import annotations

import importlib
import json
import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import CheckpointError, MissingBackendError
from ..layout import LayoutOverride, to_canonical
from ._files import CheckpointFiles
from ._memory import MemoryReader, to_numpy
from ._tensors import HostTensor


def import_package(name: str, path: Path, *, needed_for: str, install: str) -> Any:
    """Import the package a legacy file needs, or raise `MissingBackendError` naming the file and how to install it.

    >>> import_package("json", Path("x"), needed_for="reading x", install="json").__name__
    'json'
    """
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise MissingBackendError(f"{path}: {needed_for} needs {name}: pip install {install}") from exc


def _import_torch(path: Path, action: str) -> Any:
    return import_package("torch", path, needed_for=f"{action} a legacy .bin checkpoint",
                          install="'pretrained[torch]'")


def load_bin_file(path: str | os.PathLike) -> dict[str, Any]:
    """Read a `pytorch_model.bin` (or one shard) safely; torch must be installed."""
    path = Path(path)
    torch = _import_torch(path, "reading")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except RuntimeError as exc:
        if "mmap" in str(exc):  # legacy (non-zip) torch.save format cannot be mmapped
            state = _load_unmapped(torch, path)
        else:
            raise CheckpointError(f"{path}: not a readable PyTorch checkpoint: {exc}") from exc
    except Exception as exc:  # pickle.UnpicklingError for anything weights_only refuses
        raise CheckpointError(
            f"{path}: refused to load: the file is not a plain tensor pickle (weights_only=True rejected it: "
            f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}). Only load pickles you trust, "
            "and prefer safetensors."
        ) from exc
    if not isinstance(state, dict) or not all(isinstance(k, str) for k in state):
        raise CheckpointError(f"{path}: expected a state dict (str -> tensor), found {type(state).__name__}")
    bad = [k for k, v in state.items() if not isinstance(v, torch.Tensor)]
    if bad:
        raise CheckpointError(f"{path}: entries {bad[:5]} are not tensors")
    return state


def write_bin_shard(
    tensors: Mapping[str, HostTensor], path: str | os.PathLike, *, save_function: Callable[..., Any] | None = None
) -> None:
    """Write one legacy `pytorch_model.bin` file (or shard): `torch.save` of `{key: tensor}`, each tensor owning
    exactly its storage, readable with `torch.load(weights_only=True)`. Every backend writes `.bin` through this
    (`save_pretrained(safe_serialization=False)`), so torch must be installed. `save_function` replaces `torch.save`
    (transformers v4's option).

    Example:
        >>> import numpy as np, tempfile, os, torch
        >>> path = os.path.join(tempfile.mkdtemp(), "pytorch_model.bin")
        >>> write_bin_shard({"w": HostTensor.from_numpy(np.ones(2, np.float32))}, path)
        >>> torch.load(path, weights_only=True)["w"].tolist()
        [1.0, 1.0]
    """
    torch = _import_torch(Path(path), "writing")
    state = {key: _owned_torch_tensor(torch, tensor) for key, tensor in tensors.items()}
    (save_function or torch.save)(state, str(path))


def _owned_torch_tensor(torch: Any, tensor: HostTensor) -> Any:
    """A CPU torch tensor with the values of `tensor` whose storage holds nothing else (torch.save writes whole
    storages)."""
    owner = tensor.owner
    if isinstance(owner, torch.Tensor) and tuple(owner.shape) == tuple(tensor.shape):
        value = owner.detach().cpu()
        whole = value.untyped_storage().nbytes() == value.numel() * value.element_size()
        return value if whole and value.is_contiguous() else value.clone()
    array = np.ascontiguousarray(to_numpy(tensor))
    if array.dtype.name == "bfloat16":
        return torch.from_numpy(array.view(np.uint16).copy()).view(torch.bfloat16)
    return torch.from_numpy(array.copy())


def _load_unmapped(torch: Any, path: Path) -> Any:
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise CheckpointError(f"{path}: refused to load (weights_only=True rejected it: {exc})") from exc


# ----------------------------------------------------------------------------------------------- flax_model.msgpack
_MSGPACK_NDARRAY, _MSGPACK_COMPLEX, _MSGPACK_SCALAR = 1, 2, 3
_CHUNKED = "__msgpack_chunked_array__"
# Linen leaf -> (canonical leaf, layout transform); batch statistics are renamed only under `batch_stats`
_LINEN_PARAM_LEAVES = {"kernel": ("weight", "kernel"), "scale": ("weight", "identity"),
                       "embedding": ("weight", "identity"), "bias": ("bias", "identity")}
_LINEN_STAT_LEAVES = {"mean": ("running_mean", "identity"), "var": ("running_var", "identity")}


def read_flax_msgpack(
    path: str | os.PathLike, *, overrides: Iterable[LayoutOverride] = ()
) -> dict[str, np.ndarray]:
    """Read a transformers v4 `flax_model.msgpack` (a Linen variable tree; or its `.index.json` and shards) as
    `{canonical key: NumPy array}` in PyTorch names and layout, ready for any backend's
    `from_pretrained(None, config=..., state_dict=...)` or `pretrained convert`.

    Names map by the Linen leaf rules (`kernel` -> `weight`, transposed; `scale` / `embedding` -> `weight`;
    `batch_stats/.../mean`, `var` -> `running_mean`, `running_var`; list children `layer/0` -> `layer.0`); a model
    whose Linen tree differs from its PyTorch module passes `overrides` (matched against the dotted Linen path
    *after* the leaf rules, e.g. `encoder.layer.0.attention.self.query.weight`). Needs the `msgpack` package
    (installed with flax), not JAX.

    Example:
        >>> import msgpack, numpy as np, tempfile, os
        >>> from pretrained.legacy import read_flax_msgpack
        >>> def pack(a):  # how flax.serialization stores an array
        ...     return msgpack.ExtType(1, msgpack.packb((a.shape, a.dtype.name, a.tobytes()), use_bin_type=True))
        >>> tree = {"dense": {"kernel": pack(np.ones((2, 3), np.float32)), "bias": pack(np.zeros(3, np.float32))}}
        >>> path = os.path.join(tempfile.mkdtemp(), "flax_model.msgpack")
        >>> _ = open(path, "wb").write(msgpack.packb(tree, use_bin_type=True))
        >>> {k: v.shape for k, v in read_flax_msgpack(path).items()}
        {'dense.weight': (3, 2), 'dense.bias': (3,)}
    """
    path = Path(path)
    if path.name.endswith(".index.json"):
        files = _msgpack_shards(path)
    else:
        files = [path]
    flat: dict[tuple[str, ...], np.ndarray] = {}
    for file in files:
        flat.update(_flatten_tree(_unpack_msgpack(file), (), file))
    return linen_to_canonical(flat, overrides=overrides, source=path)


class MsgpackReader(MemoryReader):
    """The `CheckpointReader` interface over a transformers v4 `flax_model.msgpack` (or its index and shards): the
    file is decoded once (msgpack has no random access) into canonical keys and PyTorch layout by
    [`read_flax_msgpack`][pretrained.legacy.read_flax_msgpack] (`overrides`: a model's `_legacy_weight_overrides`),
    then served tensor by tensor; errors and reports name the checkpoint's files.

    Example:
        >>> import msgpack, numpy as np, tempfile, os
        >>> from pretrained.checkpoint import MsgpackReader, checkpoint_from_file
        >>> def pack(a):  # how flax.serialization stores an array
        ...     return msgpack.ExtType(1, msgpack.packb((a.shape, a.dtype.name, a.tobytes()), use_bin_type=True))
        >>> path = os.path.join(tempfile.mkdtemp(), "flax_model.msgpack")
        >>> _ = open(path, "wb").write(msgpack.packb({"dense": {"kernel": pack(np.ones((2, 3), np.float32))}}))
        >>> with MsgpackReader(checkpoint_from_file(path)) as reader:
        ...     reader.keys(), reader.info("dense.weight").shape
        (['dense.weight'], (3, 2))
    """

    def __init__(self, checkpoint: CheckpointFiles, *, overrides: Iterable[LayoutOverride] = ()) -> None:
        source = checkpoint.index_path or checkpoint.files[0]
        super().__init__(read_flax_msgpack(source, overrides=overrides), source=str(checkpoint.files[0]))
        self.framework = "np"
        self.checkpoint = checkpoint

    @property
    def metadata(self) -> dict[str, str]:
        return {}


def linen_to_canonical(
    flat: dict[tuple[str, ...], np.ndarray], *, overrides: Iterable[LayoutOverride] = (), source: Any = "<tree>"
) -> dict[str, np.ndarray]:
    """Flattened Linen variables (`("params", "dense", "kernel") -> array`, with or without the `params` /
    `batch_stats` collections) -> `{canonical key: array}` in PyTorch layout.

    Example:
        >>> import numpy as np
        >>> out = linen_to_canonical({("batch_stats", "bn", "mean"): np.zeros(2), ("params", "bn", "scale"): np.ones(2)})
        >>> sorted(out)
        ['bn.running_mean', 'bn.weight']
    """
    collections = {path[0] for path in flat}
    wrapped = bool(collections) and collections <= {"params", "batch_stats"}
    out: dict[str, np.ndarray] = {}
    overrides = list(overrides)
    for path, array in flat.items():
        collection, parts = (path[0], path[1:]) if wrapped else ("params", path)
        rules = _LINEN_STAT_LEAVES if collection == "batch_stats" else _LINEN_PARAM_LEAVES
        leaf, transform = rules.get(parts[-1], (parts[-1], "identity"))
        key = ".".join([*parts[:-1], leaf])
        for override in overrides:
            renamed = override.match(key)
            if renamed is not None:
                key, transform = renamed, override.transform
                break
        if key in out:
            raise CheckpointError(f"{source}: two Linen variables map to the canonical key {key!r}")
        out[key] = np.require(to_canonical(np.asarray(array), transform), requirements="C")
    return out


def _msgpack_shards(index_path: Path) -> list[Path]:
    try:
        weight_map = json.loads(index_path.read_text(encoding="utf-8"))["weight_map"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CheckpointError(f"{index_path}: not a readable msgpack index ({exc})") from exc
    files: list[Path] = []
    for name in weight_map.values():
        if os.path.isabs(name) or ".." in Path(name).parts:
            raise CheckpointError(f"{index_path}: shard {name!r} lies outside the checkpoint directory")
        if index_path.parent / name not in files:
            files.append(index_path.parent / name)
    return files


def _unpack_msgpack(path: Path) -> Any:
    msgpack = import_package("msgpack", path, needed_for="reading a legacy msgpack checkpoint",
                             install="msgpack (it comes with 'pretrained[flax]')")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CheckpointError(f"{path}: cannot read the file ({exc})") from exc
    try:
        return msgpack.unpackb(data, ext_hook=_ext_hook, raw=False, strict_map_key=False)
    except Exception as exc:
        raise CheckpointError(f"{path}: not a flax msgpack checkpoint ({type(exc).__name__}: {exc})") from exc


def _ext_hook(code: int, data: bytes) -> Any:
    import msgpack

    if code in (_MSGPACK_NDARRAY, _MSGPACK_SCALAR):
        shape, dtype, buffer = msgpack.unpackb(data, raw=True)
        array = np.frombuffer(buffer, dtype=_numpy_dtype(dtype.decode())).reshape(shape)
        return array[()] if code == _MSGPACK_SCALAR else array
    if code == _MSGPACK_COMPLEX:
        real, imag = msgpack.unpackb(data)
        return complex(real, imag)
    raise ValueError(f"unknown msgpack extension type {code}")


def _numpy_dtype(name: str) -> np.dtype:
    if name == "bfloat16":
        import ml_dtypes

        return np.dtype(ml_dtypes.bfloat16)
    return np.dtype(name)


def _flatten_tree(tree: Any, prefix: tuple[str, ...], source: Path) -> dict[tuple[str, ...], np.ndarray]:
    if isinstance(tree, dict) and _CHUNKED in tree:
        chunks = [tree["chunks"][k] for k in sorted(tree["chunks"], key=int)]
        shape = tuple(tree["shape"][k] for k in sorted(tree["shape"], key=int))
        return {prefix: np.concatenate(chunks).reshape(shape)}
    if isinstance(tree, dict):
        flat: dict[tuple[str, ...], np.ndarray] = {}
        for name, value in tree.items():
            parts = tuple(str(name).split("/"))  # sharded v4 files store "a/b/kernel" flat keys
            flat.update(_flatten_tree(value, (*prefix, *parts), source))
        return flat
    if isinstance(tree, (np.ndarray, np.generic, int, float)):
        return {prefix: np.asarray(tree)}
    raise CheckpointError(f"{source}: unexpected {type(tree).__name__} at {'/'.join(prefix)} in the variable tree")


