"""Framework-free checkpoint I/O: file names, shard plans, index files, streaming reads and atomic writes.

The canonical checkpoint is `config.json` + `model.safetensors` (or `model-0000i-of-0000N.safetensors` shards and
`model.safetensors.index.json`), keys in PyTorch `state_dict` names, tensors in PyTorch layout, safetensors metadata
`{"format": "pt"}`. Every backend reads and writes it through this module; none of it imports a framework.

Example:
    >>> import numpy as np, tempfile
    >>> from pretrained.checkpoint import CheckpointReader, find_weights, write_checkpoint, HostTensor
    >>> d = tempfile.mkdtemp()
    >>> _ = write_checkpoint(d, {"w": HostTensor.from_numpy(np.ones((2, 3), np.float32))})
    >>> with CheckpointReader(find_weights(d)) as reader:
    ...     [(k, v.shape) for k, v in reader.iter_tensors()]
    [('w', (2, 3))]
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import struct
import tempfile
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .errors import CheckpointError, IntegrityError
from .utils import logging, progress

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

_SHARD_RE = re.compile(r"^(?P<stem>.+)-\d{5}-of-\d{5}\.(?P<ext>safetensors|bin)$")
_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]?I?B|[KMGT]?b)?\s*$", re.IGNORECASE)


# ----------------------------------------------------------------------------------------------- names and sizes
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
        infos[key] = _validate_entry(path, key, entry, data_size)
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


def _validate_entry(path: Path, key: str, entry: Any, data_size: int) -> TensorInfo:
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
    return TensorInfo(key=key, dtype=name, shape=tuple(shape), file=path, nbytes=nbytes)


# ----------------------------------------------------------------------------------------------- locating files
@dataclass
class CheckpointFiles:
    """A checkpoint on local disk: its weight files in order, and the index that maps keys to them."""

    files: list[Path]
    kind: str = "safetensors"  # or "bin"
    index_path: Path | None = None
    weight_map: dict[str, str] | None = None
    index_metadata: dict[str, Any] = field(default_factory=dict)
    expected_sha256: dict[str, str] = field(default_factory=dict)  # file name -> digest, when known

    @property
    def is_sharded(self) -> bool:
        return self.index_path is not None


def load_index(index_path: str | os.PathLike) -> CheckpointFiles:
    """Read a `*.index.json`, check that every shard it names lies in its directory and exists."""
    index_path = Path(index_path)
    try:
        text = index_path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise CheckpointError(f"{index_path}: index file does not exist") from exc
    try:
        index = json.loads(text, object_pairs_hook=_reject_duplicate_keys(index_path))
    except json.JSONDecodeError as exc:
        raise CheckpointError(f"{index_path}: not valid JSON ({exc})") from exc
    if not isinstance(index, dict) or not isinstance(index.get("weight_map"), dict):
        raise CheckpointError(f"{index_path}: an index needs a 'weight_map' object mapping keys to shard files")
    weight_map: dict[str, str] = index["weight_map"]
    metadata = index.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise CheckpointError(f"{index_path}: 'metadata' must be an object")
    directory = index_path.parent.resolve()
    files: list[Path] = []
    for key, name in weight_map.items():
        if not isinstance(name, str) or not name:
            raise CheckpointError(f"{index_path}: key {key!r} maps to {name!r}, not a file name")
        shard = (directory / name).resolve()
        if shard.parent != directory and directory not in shard.parents or os.path.isabs(name) or ".." in Path(name).parts:
            raise CheckpointError(f"{index_path}: key {key!r} names shard {name!r} outside the checkpoint directory")
        if shard not in files:
            files.append(shard)
    for shard in files:
        if not shard.is_file():
            raise CheckpointError(f"{index_path}: shard {shard.name!r} named in the index is missing from {directory}")
    kind = "bin" if index_path.name.startswith("pytorch_model") else "safetensors"
    sha = metadata.get("sha256") or {}
    return CheckpointFiles(
        files=files,
        kind=kind,
        index_path=index_path,
        weight_map=dict(weight_map),
        index_metadata=metadata,
        expected_sha256=dict(sha) if isinstance(sha, dict) else {},
    )


def _reject_duplicate_keys(source: Path):
    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, value in pairs:
            if key in result:
                raise CheckpointError(f"{source}: key {key!r} appears twice (e.g. in two shards)")
            result[key] = value
        return result

    return hook


def weight_candidates(variant: str | None = None, *, use_safetensors: bool | None = None) -> list[str]:
    """File names to look for, in priority order (safetensors, its index, then legacy `.bin` and its index)."""
    safe = [add_variant(SAFE_WEIGHTS_NAME, variant), add_variant(SAFE_WEIGHTS_INDEX_NAME, variant)]
    legacy = [add_variant(WEIGHTS_NAME, variant), add_variant(WEIGHTS_INDEX_NAME, variant)]
    if use_safetensors is True:
        return safe
    if use_safetensors is False:
        return legacy
    return safe + legacy


def checkpoint_from_file(path: str | os.PathLike) -> CheckpointFiles:
    """Describe the checkpoint rooted at one local file: a weights file or an index."""
    path = Path(path)
    if path.name.endswith(".index.json"):
        return load_index(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint file does not exist")
    kind = "safetensors" if path.suffix == ".safetensors" else "bin"
    return CheckpointFiles(files=[path], kind=kind)


def find_weights(directory: str | os.PathLike, *, variant: str | None = None) -> CheckpointFiles:
    """Find the weights in a local checkpoint directory (safetensors first, legacy `.bin` second)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise CheckpointError(f"{directory}: not a directory")
    for name in weight_candidates(variant):
        if (directory / name).is_file():
            return checkpoint_from_file(directory / name)
    present = sorted(p.name for p in directory.iterdir())
    hint = ""
    if TF2_WEIGHTS_NAME in present:
        hint = f" It holds a legacy Keras 2 file {TF2_WEIGHTS_NAME}; see the conversion docs."
    elif FLAX_WEIGHTS_NAME in present:
        hint = f" It holds a legacy {FLAX_WEIGHTS_NAME}; convert it with `pretrained convert`."
    raise CheckpointError(
        f"{directory}: no weights found (looked for {', '.join(weight_candidates(variant))}; "
        f"the directory holds {present or 'nothing'}).{hint}"
    )


# ----------------------------------------------------------------------------------------------- reading
def sha256_file(path: str | os.PathLike, *, chunk: int = 1 << 24) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def verify_checkpoint(checkpoint: CheckpointFiles) -> None:
    """Recompute each shard's sha256 and compare with the recorded digest; raise `IntegrityError` naming the shard."""
    if not checkpoint.expected_sha256:
        raise IntegrityError(
            f"{checkpoint.files[0]}: verify=True but the checkpoint records no sha256 digests "
            "(save it with pretrained, or load it from the Hub so the cache knows each file's hash)"
        )
    for path in checkpoint.files:
        expected = checkpoint.expected_sha256.get(path.name)
        if expected is None:
            raise IntegrityError(f"{path}: no sha256 recorded for this shard")
        actual = sha256_file(path)
        if actual != expected:
            raise IntegrityError(f"{path}: sha256 mismatch (expected {expected}, found {actual}); the file is corrupt")


class CheckpointReader:
    """Streams the tensors of a checkpoint one at a time, as NumPy arrays (or torch tensors with `framework="pt"`).

    The header of each shard is read (and validated) up front, so `keys()`, `info(key)` and `dtypes()` cost no data
    reads. `get(key)` reads a single tensor. Legacy `.bin` files are read with `torch.load(weights_only=True)`.

    Example:
        >>> from pretrained.checkpoint import CheckpointReader, find_weights
        >>> with CheckpointReader(find_weights("my-model")) as reader:  # doctest: +SKIP
        ...     for key, array in reader.iter_tensors():
        ...         print(key, array.shape)
    """

    def __init__(self, checkpoint: CheckpointFiles, *, framework: str = "np") -> None:
        self.checkpoint = checkpoint
        self.framework = framework
        self._infos: dict[str, TensorInfo] = {}
        self._metadata: dict[str, str] = {}
        self._handles: dict[Path, Any] = {}
        self._bin_cache: dict[Path, dict[str, Any]] = {}
        if checkpoint.kind == "safetensors":
            self._read_safetensors_headers()
        else:
            self._read_bin_headers()

    def _read_safetensors_headers(self) -> None:
        owner: dict[str, Path] = {}
        for path in self.checkpoint.files:
            infos, metadata = read_safetensors_header(path)
            self._metadata = self._metadata or metadata
            for key, info in infos.items():
                if key in owner:
                    raise CheckpointError(f"{path}: key {key!r} is also stored in {owner[key].name}")
                owner[key] = path
                self._infos[key] = info
        weight_map = self.checkpoint.weight_map
        if weight_map is not None:
            for key, name in weight_map.items():
                if key not in self._infos:
                    raise CheckpointError(
                        f"{self.checkpoint.index_path}: key {key!r} is mapped to {name} but that shard does not hold it"
                    )
                if self._infos[key].file.name != Path(name).name:
                    raise CheckpointError(
                        f"{self.checkpoint.index_path}: key {key!r} is mapped to {name} but stored in "
                        f"{self._infos[key].file.name}"
                    )

    def _read_bin_headers(self) -> None:
        from .legacy import load_bin_file  # torch is needed only for legacy files

        for path in self.checkpoint.files:
            tensors = load_bin_file(path)
            self._bin_cache[path] = tensors
            for key, tensor in tensors.items():
                dtype = str(tensor.dtype).removeprefix("torch.")
                self._infos[key] = TensorInfo(
                    key, dtype, tuple(tensor.shape), path, tensor.numel() * tensor.element_size()
                )

    # -- queries
    def keys(self) -> list[str]:
        return list(self._infos)

    def __contains__(self, key: object) -> bool:
        return key in self._infos

    def __len__(self) -> int:
        return len(self._infos)

    def info(self, key: str) -> TensorInfo:
        try:
            return self._infos[key]
        except KeyError:
            raise KeyError(f"{key!r} is not in the checkpoint {self.checkpoint.files[0].parent}") from None

    @property
    def metadata(self) -> dict[str, str]:
        """The safetensors `__metadata__` of the first shard (e.g. `{"format": "pt"}`)."""
        return dict(self._metadata)

    def dtypes(self) -> dict[str, int]:
        """Bytes stored per dtype name."""
        totals: dict[str, int] = {}
        for info in self._infos.values():
            totals[info.dtype] = totals.get(info.dtype, 0) + info.nbytes
        return totals

    def total_bytes(self) -> int:
        return sum(info.nbytes for info in self._infos.values())

    # -- reads
    def get(self, key: str) -> Any:
        """Read one tensor (a NumPy array, or a torch tensor when `framework="pt"`)."""
        info = self.info(key)
        if self.checkpoint.kind == "bin":
            tensor = self._bin_cache[info.file][key]
            return tensor if self.framework == "pt" else _torch_to_numpy(tensor)
        handle = self._handle(info.file)
        try:
            return handle.get_tensor(key)
        except Exception as exc:  # safetensors raises its own error type for corrupt data
            raise CheckpointError(f"{info.file}: cannot read tensor {key!r}: {exc}") from exc

    def iter_tensors(self, keys: Iterable[str] | None = None, *, desc: str | None = None) -> Iterator[tuple[str, Any]]:
        """Yield `(key, tensor)` one at a time, shard by shard, in file order."""
        wanted = list(self._infos) if keys is None else [k for k in keys if k in self._infos]
        wanted.sort(key=lambda k: (self.checkpoint.files.index(self._infos[k].file), k))
        bar = progress.bar(total=len(wanted), desc=desc or "Loading weights", unit="tensor",
                           enabled=self.total_bytes() > progress.MIN_BYTES_FOR_BAR)
        with bar:
            for key in wanted:
                yield key, self.get(key)
                bar.update(1)

    def _handle(self, path: Path) -> Any:
        handle = self._handles.get(path)
        if handle is None:
            from safetensors import safe_open

            try:
                handle = safe_open(str(path), framework=self.framework)
            except Exception as exc:
                raise CheckpointError(f"{path}: not a readable safetensors file: {exc}") from exc
            self._handles[path] = handle
        return handle

    def close(self) -> None:
        self._handles.clear()
        self._bin_cache.clear()

    def __enter__(self) -> CheckpointReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _torch_to_numpy(tensor: Any) -> np.ndarray:
    import torch

    if tensor.dtype == torch.bfloat16:
        import ml_dtypes

        return tensor.view(torch.uint16).numpy().view(ml_dtypes.bfloat16)
    return tensor.numpy()


# ----------------------------------------------------------------------------------------------- writing
@dataclass(frozen=True)
class HostTensor:
    """A tensor in host memory as the writer needs it: dtype name, shape and a raw buffer kept alive by `owner`."""

    dtype: str
    shape: tuple[int, ...]
    data_ptr: int
    nbytes: int
    owner: Any = field(repr=False, default=None)

    @classmethod
    def from_numpy(cls, array: np.ndarray) -> HostTensor:
        array = np.require(array, requirements="C")
        if array.dtype.byteorder == ">":
            array = array.astype(array.dtype.newbyteorder("<"))
        return cls(array.dtype.name, tuple(array.shape), array.ctypes.data, array.nbytes, array)


def plan_shards(sizes: Mapping[str, int], max_shard_size: int | str) -> list[list[str]]:
    """Greedy, in key order: a shard closes when the next tensor would exceed the limit; an oversized tensor gets
    a shard of its own.

    >>> plan_shards({"a": 6, "b": 6, "c": 3}, 10)
    [['a'], ['b', 'c']]
    """
    limit = parse_size(max_shard_size)
    shards: list[list[str]] = [[]]
    current = 0
    for key, size in sizes.items():
        if shards[-1] and current + size > limit:
            shards.append([])
            current = 0
        shards[-1].append(key)
        current += size
    return shards if shards[0] else []


@contextlib.contextmanager
def _directory_lock(directory: Path) -> Iterator[None]:
    """Serialise the commit phase of concurrent saves into one directory (POSIX advisory lock)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no advisory locks on directories
        yield
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _temp_name(directory: Path, final: str) -> Path:
    return directory / f".tmp-{uuid.uuid4().hex[:12]}-{final}"


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_json_atomic(path: str | os.PathLike, payload: Any) -> None:
    """Write JSON (sorted keys, indent 2) to a temporary sibling, fsync it, then rename it over `path`."""
    path = Path(path)
    text = json.dumps(payload, indent=2, sort_keys=True) + "\n"
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix="-" + path.name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_checkpoint(
    directory: str | os.PathLike,
    tensors: Mapping[str, HostTensor],
    *,
    max_shard_size: int | str = DEFAULT_MAX_SHARD_SIZE,
    metadata: Mapping[str, str] | None = None,
    variant: str | None = None,
    extra_files: Mapping[str, bytes] | None = None,
    record_sha256: bool = True,
) -> list[Path]:
    """Write `tensors` as a safetensors checkpoint into `directory`, atomically.

    Every file is first written under a hidden temporary name in `directory` and fsynced; only when all of them
    are complete are they renamed into place (index last), and shards of an earlier save that the new one does
    not use are deleted after that. A crash at any point before the renames leaves the previous checkpoint
    untouched. `extra_files` (e.g. `config.json`) join the same commit. Returns the final paths.
    """
    from safetensors import TensorSpec, serialize_file

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    metadata = dict(metadata or {"format": "pt"})
    sizes = {key: tensor.nbytes for key, tensor in tensors.items()}
    shards = plan_shards(sizes, max_shard_size) or [[]]
    names = (
        [add_variant(SAFE_WEIGHTS_NAME, variant)]
        if len(shards) == 1
        else [shard_file_name(i + 1, len(shards), variant=variant) for i in range(len(shards))]
    )
    staged: list[tuple[Path, str]] = []
    try:
        for name, payload in (extra_files or {}).items():
            tmp = _temp_name(directory, name)
            tmp.write_bytes(payload)
            _fsync(tmp)
            staged.append((tmp, name))
        digests: dict[str, str] = {}
        bar = progress.bar(
            total=len(shards), desc="Saving shards", unit="shard",
            enabled=len(shards) > 1 and sum(sizes.values()) > progress.MIN_BYTES_FOR_BAR,
        )
        with bar:
            for name, keys in zip(names, shards):
                tmp = _temp_name(directory, name)
                specs = {
                    key: TensorSpec(
                        dtype=tensors[key].dtype,
                        shape=list(tensors[key].shape),
                        data_ptr=tensors[key].data_ptr,
                        data_len=tensors[key].nbytes,
                    )
                    for key in keys
                }
                try:
                    serialize_file(specs, str(tmp), metadata=metadata)
                except OSError as exc:
                    raise CheckpointError(
                        f"{directory / name}: could not write shard ({exc}); the previous checkpoint is intact"
                    ) from exc
                _fsync(tmp)
                if record_sha256 and len(shards) > 1:
                    digests[name] = sha256_file(tmp)
                staged.append((tmp, name))
                bar.update(1)
        if len(shards) > 1:
            index = {
                "metadata": {"total_size": sum(sizes.values()), **({"sha256": digests} if digests else {})},
                "weight_map": {key: name for name, keys in zip(names, shards) for key in keys},
            }
            index_name = add_variant(SAFE_WEIGHTS_INDEX_NAME, variant)
            tmp = _temp_name(directory, index_name)
            tmp.write_text(json.dumps(index, indent=2, sort_keys=True) + "\n", encoding="utf-8")
            _fsync(tmp)
            staged.append((tmp, index_name))
        with _directory_lock(directory):
            for tmp, name in staged:
                os.replace(tmp, directory / name)
            _remove_stale_weights(directory, keep={name for _, name in staged}, variant=variant)
    except OSError as exc:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
        _remove_own_temp_files(directory)
        if isinstance(exc, CheckpointError):
            raise
        raise CheckpointError(f"{directory}: saving the checkpoint failed ({exc}); the previous checkpoint is intact") from exc
    except BaseException:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
        raise
    return [directory / name for _, name in staged]


def _remove_own_temp_files(directory: Path) -> None:
    """Temp files of this process that a failed serialize may have left (their names are unknown to us)."""
    for path in directory.glob(".tmp-*"):
        with contextlib.suppress(OSError):
            if path.stat().st_size == 0:
                path.unlink()


def _remove_stale_weights(directory: Path, *, keep: set[str], variant: str | None) -> None:
    """Delete weight files of an earlier save that the new save does not use."""
    single = {add_variant(SAFE_WEIGHTS_NAME, variant), add_variant(SAFE_WEIGHTS_INDEX_NAME, variant)}
    for path in directory.iterdir():
        name = path.name
        if name in keep:
            continue
        match = _SHARD_RE.match(name)
        stale_shard = match and match.group("ext") == "safetensors" and match.group("stem") == add_variant(
            "model.safetensors", variant
        ).rsplit(".", 1)[0]
        if stale_shard or name in single:
            path.unlink(missing_ok=True)
