"""Legacy transformers v4 weight files, read for migration only.

- `pytorch_model.bin` (and its sharded `.bin.index.json`) is read with `torch.load(weights_only=True)`, which
  refuses any pickle that would run code; `CheckpointReader` reads it like safetensors.
- `flax_model.msgpack` (a Linen variable tree, or its index and shards) is read with the `msgpack` package only,
  mapped to canonical keys by the Linen leaf rules ([`read_flax_msgpack`][pretrained.legacy.read_flax_msgpack]).
- `tf_model.h5` (Keras 2) is not read: [`h5_error`][pretrained.legacy.h5_error] says how to convert it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from .errors import CheckpointError, MissingBackendError
from .layout import LayoutOverride, to_canonical


def load_bin_file(path: str | os.PathLike) -> dict[str, Any]:
    """Read a `pytorch_model.bin` (or one shard) safely; torch must be installed."""
    path = Path(path)
    try:
        import torch
    except ImportError as exc:
        raise MissingBackendError(
            f"{path}: reading a legacy .bin checkpoint needs PyTorch: pip install 'pretrained[torch]'"
        ) from exc
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
    try:
        import msgpack
    except ImportError as exc:
        raise MissingBackendError(
            f"{path}: reading a legacy msgpack checkpoint needs the msgpack package: pip install msgpack "
            "(it comes with 'pretrained[flax]')"
        ) from exc
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


# ----------------------------------------------------------------------------------------------- tf_model.h5
def h5_error(path: str | os.PathLike) -> CheckpointError:
    """The error for a legacy Keras 2 `tf_model.h5`: what to do instead (it is not read)."""
    return CheckpointError(
        f"{path}: legacy Keras 2 h5 weights cannot be read portably (variable names depend on the Keras 2 layer "
        "naming of the transformers v4 class that wrote them). Convert once with transformers v4: "
        "`AutoModel.from_pretrained(dir, from_tf=True).save_pretrained(out, safe_serialization=True)`, then use "
        "`out` (or `pretrained convert out DST`)."
    )
