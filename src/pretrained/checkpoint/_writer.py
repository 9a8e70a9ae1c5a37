"""Atomic checkpoint writes: temp files, fsync, rename, stale-shard cleanup."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import CheckpointError
from ..utils import logging, progress
from ._files import sha256_file
from ._format import (
    _SHARD_RE,
    DEFAULT_MAX_SHARD_SIZE,
    SAFE_WEIGHTS_INDEX_NAME,
    SAFE_WEIGHTS_NAME,
    add_variant,
    parse_size,
    shard_file_name,
)
from ._lock import directory_lock, remove_temp_files, temp_name

logger = logging.get_logger(__name__)

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


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_json_atomic(path: str | os.PathLike, payload: Any) -> None:
    """Write JSON (sorted keys, indent 2) to a temporary sibling, fsync it, then rename it over `path`."""
    path = Path(path)
    tmp = temp_name(path.parent, path.name)
    try:
        tmp.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        _fsync(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
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
    from safetensors import SafetensorError, TensorSpec, serialize_file

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    remove_temp_files(directory, only_dead=True)
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
            tmp = temp_name(directory, name)
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
                tmp = temp_name(directory, name)
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
                except (OSError, SafetensorError) as exc:  # safetensors reports ENOSPC / EFBIG as SafetensorError
                    tmp.unlink(missing_ok=True)
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
            tmp = temp_name(directory, index_name)
            tmp.write_text(json.dumps(index, indent=2, sort_keys=True) + "\n", encoding="utf-8")
            _fsync(tmp)
            staged.append((tmp, index_name))
        with directory_lock(directory):
            if len(shards) > 1:
                _retire_entry_points(directory, {name for _, name in staged}, variant)
            for tmp, name in staged:
                os.replace(tmp, directory / name)
            _remove_stale_weights(directory, keep={name for _, name in staged}, variant=variant)
            _fsync(directory)  # make the renames durable
    except OSError as exc:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
        remove_temp_files(directory, only_dead=False)
        if isinstance(exc, CheckpointError):
            raise
        raise CheckpointError(f"{directory}: saving the checkpoint failed ({exc}); the previous checkpoint is intact") from exc
    except BaseException:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
        raise
    return [directory / name for _, name in staged]


def _retire_entry_points(directory: Path, new_names: set[str], variant: str | None) -> None:
    """Before renaming a sharded save into place: renaming several shards is not atomic as a whole, so delete the
    old index when a new shard is about to replace a file under the same name, and an old single-file
    `model.safetensors` (it would shadow the new index). A crash amid the renames then leaves a directory without
    weights (loading fails clearly) instead of the old index over a silent mix of old and new shards."""
    index = directory / add_variant(SAFE_WEIGHTS_INDEX_NAME, variant)
    single = directory / add_variant(SAFE_WEIGHTS_NAME, variant)
    collides = any((directory / name).exists() for name in new_names if _SHARD_RE.match(name))
    retired = [path for path, condition in ((index, collides), (single, True)) if condition and path.exists()]
    for path in retired:
        path.unlink()
    if retired:
        _fsync(directory)


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
