"""Checkpoint file names, shard sizes, dtypes, and safetensors header validation."""

from __future__ import annotations

import json
import os
import re
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import CheckpointError
from ..utils import logging

logger = logging.get_logger(__name__)

CONFIG_NAME = "config.json"
SAFE_WEIGHTS_NAME = "model.safetensors"
SAFE_WEIGHTS_INDEX_NAME = "model.safetensors.index.json"
WEIGHTS_NAME = "pytorch_model.bin"
WEIGHTS_INDEX_NAME = "pytorch_model.bin.index.json"
FLAX_WEIGHTS_NAME = "flax_model.msgpack"
FLAX_WEIGHTS_INDEX_NAME = "flax_model.msgpack.index.json"
TF2_WEIGHTS_NAME = "tf_model.h5"
TF2_WEIGHTS_INDEX_NAME = "tf_model.h5.index.json"
DEFAULT_MAX_SHARD_SIZE = "5GB"
MAX_HEADER_BYTES = 100 * 1024 * 1024  # the safetensors format's own cap

# safetensors dtype code -> (numpy-style name, bytes per element)
DTYPES: dict[str, tuple[str, int]] = {
    "BOOL": ("bool", 1),
    "U8": ("uint8", 1),
    "I8": ("int8", 1),
    "F8_E5M2": ("float8_e5m2", 1),
    "F8_E4M3": ("float8_e4m3fn", 1),
    "I16": ("int16", 2),
    "U16": ("uint16", 2),
    "F16": ("float16", 2),
    "BF16": ("bfloat16", 2),
    "I32": ("int32", 4),
    "U32": ("uint32", 4),
    "F32": ("float32", 4),
    "F64": ("float64", 8),
    "I64": ("int64", 8),
    "U64": ("uint64", 8),
}
DTYPE_CODES = {name: code for code, (name, _) in DTYPES.items()}
FLOAT_DTYPES = frozenset({"float16", "bfloat16", "float32", "float64", "float8_e5m2", "float8_e4m3fn"})

# a shard: `model-00001-of-00003.safetensors`, or with a token (`model-00001-of-00003.0a1b2c3d.safetensors`) where a
# save that could not replace the directory atomically had to avoid the names of the shards it replaces
_SHARD_RE = re.compile(r"^(?P<stem>.+)-\d{5}-of-\d{5}(?:\.[0-9a-f]{8})?\.(?P<ext>safetensors|bin)$")
_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]?I?B|[KMGT]?b)?\s*$", re.IGNORECASE)


# ----------------------------------------------------------------------------------------------- names and sizes
def natural_key(key: str) -> tuple:
    """Sort key of the canonical order in which every backend writes and reports tensors: by module path with
    numbers compared as numbers (`layer.2` before `layer.10`), then by leaf in PyTorch's registration order
    (`weight`, `bias`, `running_mean`, `running_var`, `num_batches_tracked`, then any other name).

    >>> sorted(["layer.10.weight", "layer.2.bias", "layer.2.weight", "emb.weight"], key=natural_key)
    ['emb.weight', 'layer.2.weight', 'layer.2.bias', 'layer.10.weight']
    """
    module, _, leaf = key.rpartition(".")
    path = tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in _NUMBER_RE.split(module) if part)
    return (path, _LEAF_ORDER.get(leaf, len(_LEAF_ORDER)), leaf)


_NUMBER_RE = re.compile(r"(\d+)")
_LEAF_ORDER = {leaf: rank for rank, leaf in enumerate(("weight", "bias", "running_mean", "running_var",
                                                        "num_batches_tracked"))}


def add_variant(name: str, variant: str | None) -> str:
    """Insert `variant` before the last extension: `model.safetensors` + `fp16` -> `model.fp16.safetensors`."""
    if not variant:
        return name
    stem, ext = name.rsplit(".", 1) if not name.endswith(".index.json") else (name[: -len(".json")], "json")
    return f"{stem}.{variant}.{ext}"


def shard_file_name(index: int, total: int, *, base: str = SAFE_WEIGHTS_NAME, variant: str | None = None) -> str:
    """`model-00001-of-00003.safetensors` (1-based `index`)."""
    stem, ext = add_variant(base, variant).rsplit(".", 1)
    return f"{stem}-{index:05d}-of-{total:05d}.{ext}"


def parse_size(size: int | str) -> int:
    """Bytes in `size`: an int, or a string such as `"5GB"` (powers of 10), `"200MiB"` (powers of 2), `"5Gb"` (bits).

    >>> parse_size("5GB"), parse_size("1KiB"), parse_size("8kb"), parse_size(123)
    (5000000000, 1024, 1000, 123)
    """
    if isinstance(size, bool):
        raise ValueError(f"max_shard_size must be an int or a size string like '5GB', got {size!r}")
    if isinstance(size, int):
        if size <= 0:
            raise ValueError(f"max_shard_size must be positive, got {size}")
        return size
    match = _SIZE_RE.match(str(size))
    if not match:
        raise ValueError(f"max_shard_size {size!r} is not a size such as '5GB', '200MB', '10GiB' or an int of bytes")
    number, unit = float(match.group(1)), (match.group(2) or "B")
    is_bits = unit[-1] == "b"
    unit_u = unit.upper()
    prefix = unit_u[0] if unit_u[0] in "KMGT" else ""
    power = "KMGT".index(prefix) + 1 if prefix else 0
    base = 1024 if "I" in unit_u else 1000
    value = int(number * base**power)
    return value // 8 if is_bits else value


# ----------------------------------------------------------------------------------------------- headers
@dataclass(frozen=True)
class TensorInfo:
    """What a safetensors header says about one tensor."""

    key: str
    dtype: str  # numpy-style name ("float32", "bfloat16", ...)
    shape: tuple[int, ...]
    file: Path
    nbytes: int
    offset: int | None = None  # where the bytes start in `file` (None: not a plain file region, e.g. in memory)


def numpy_dtype(name: str) -> Any:
    """The NumPy dtype (or its `ml_dtypes` extension) of a safetensors dtype name.

    >>> numpy_dtype("float32"), numpy_dtype("bfloat16").__name__
    ('float32', 'bfloat16')
    """
    if name in ("bfloat16", "float8_e4m3fn", "float8_e5m2"):
        import ml_dtypes

        return getattr(ml_dtypes, name)
    return name


def read_safetensors_header(path: str | os.PathLike) -> tuple[dict[str, TensorInfo], dict[str, str]]:
    """Read and validate the header of a safetensors file without reading its data.

    Returns `({key: TensorInfo}, metadata)`. Raises [`CheckpointError`][pretrained.errors.CheckpointError] naming
    the file for a truncated file, a header that is not JSON, an unknown dtype, offsets out of range or overlapping,
    or a shape whose byte size does not match its offsets.
    """
    path = Path(path)
    try:
        file_size = path.stat().st_size
        with open(path, "rb") as handle:
            prefix = handle.read(8)
            if len(prefix) < 8:
                raise CheckpointError(f"{path}: not a safetensors file (only {file_size} bytes, no header length)")
            (header_len,) = struct.unpack("<Q", prefix)
            if header_len > MAX_HEADER_BYTES or 8 + header_len > file_size:
                raise CheckpointError(
                    f"{path}: truncated or corrupt safetensors file: header length {header_len} exceeds the file "
                    f"size {file_size}"
                )
            raw = handle.read(header_len)
    except FileNotFoundError as exc:
        raise CheckpointError(f"{path}: checkpoint file does not exist") from exc
    except IsADirectoryError as exc:
        raise CheckpointError(f"{path}: expected a safetensors file, found a directory") from exc
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{path}: the safetensors header is not valid JSON ({exc})") from exc
    if not isinstance(header, dict):
        raise CheckpointError(f"{path}: the safetensors header is not a JSON object")
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise CheckpointError(f"{path}: __metadata__ must map strings to strings")
    data_size = file_size - 8 - header_len
    infos: dict[str, TensorInfo] = {}
    spans = []
    for key, entry in header.items():
        infos[key] = _validate_entry(path, key, entry, data_size, 8 + header_len)
        spans.append((entry["data_offsets"][0], entry["data_offsets"][1], key))
    spans.sort()
    cursor = 0
    for begin, end, key in spans:
        if begin < cursor:
            raise CheckpointError(f"{path}: tensor {key!r} overlaps the previous tensor (offset {begin} < {cursor})")
        cursor = max(cursor, end)
    if cursor < data_size and spans:
        logger.debug("%s: %d trailing bytes after the last tensor", path, data_size - cursor)
    return infos, metadata


def _validate_entry(path: Path, key: str, entry: Any, data_size: int, data_start: int = 0) -> TensorInfo:
    if not isinstance(entry, dict):
        raise CheckpointError(f"{path}: header entry {key!r} is not an object")
    code, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
    if code not in DTYPES:
        raise CheckpointError(f"{path}: tensor {key!r} has unknown dtype {code!r} (known: {', '.join(DTYPES)})")
    if not isinstance(shape, list) or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape):
        raise CheckpointError(f"{path}: tensor {key!r} has an invalid shape {shape!r}")
    if (
        not isinstance(offsets, list)
        or len(offsets) != 2
        or not all(isinstance(o, int) and not isinstance(o, bool) for o in offsets)
        or not 0 <= offsets[0] <= offsets[1] <= data_size
    ):
        raise CheckpointError(
            f"{path}: tensor {key!r} has data offsets {offsets!r} outside the data region of {data_size} bytes "
            "(truncated or corrupt file)"
        )
    name, itemsize = DTYPES[code]
    nbytes = int(np.prod(shape, dtype=np.int64)) * itemsize if shape else itemsize
    if nbytes != offsets[1] - offsets[0]:
        raise CheckpointError(
            f"{path}: tensor {key!r} of dtype {code} and shape {shape} needs {nbytes} bytes but its offsets span "
            f"{offsets[1] - offsets[0]}"
        )
    return TensorInfo(key=key, dtype=name, shape=tuple(shape), file=path, nbytes=nbytes, offset=data_start + offsets[0])
