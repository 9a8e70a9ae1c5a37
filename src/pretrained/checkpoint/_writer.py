"""Checkpoint writes: shard plans, one streamed pass per shard, and one atomic commit of the whole save.

`write_checkpoint` takes `{key: HostTensor | LazyTensor}`: tensors in memory, or tensors that are read (and
transposed to canonical layout, in bounded bands) only when the writer reaches them. Headers, the shard plan and
the index come from dtypes and shapes alone; each shard is written in one pass with its sha256 computed on the
way; [`Staging`][pretrained.checkpoint._commit.Staging] makes config and weights visible together in one step.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..errors import CheckpointError
from ..utils import logging, progress
from ._commit import Staging, Weights, crash_point, remove_stale_weights
from ._files import sha256_file
from ._format import (
    DEFAULT_MAX_SHARD_SIZE,
    SAFE_WEIGHTS_INDEX_NAME,
    SAFE_WEIGHTS_NAME,
    WEIGHTS_INDEX_NAME,
    WEIGHTS_NAME,
    add_variant,
    natural_key,
    parse_size,
    shard_file_name,
)
from ._lock import temp_name
from ._serialize import check_tensors, write_safetensors
from ._tensors import HostTensor, LazyTensor

__all__ = ["HostTensor", "LazyTensor", "plan_shards", "remove_stale_weights", "write_checkpoint", "write_json_atomic"]

logger = logging.get_logger(__name__)

Tensor = HostTensor | LazyTensor


def plan_shards(sizes: Mapping[str, int], max_shard_size: int | str) -> list[list[str]]:
    """Greedy, in natural key order (so every backend shards a model alike, whatever order it lists its variables
    in): a shard closes when the next tensor would exceed the limit; an oversized tensor gets a shard of its own.

    >>> plan_shards({"a": 6, "b": 6, "c": 3}, 10)
    [['a'], ['b', 'c']]
    """
    limit = parse_size(max_shard_size)
    shards: list[list[str]] = [[]]
    current = 0
    for key in sorted(sizes, key=natural_key):
        size = sizes[key]
        if shards[-1] and current + size > limit:
            shards.append([])
            current = 0
        shards[-1].append(key)
        current += size
    return shards if shards[0] else []


def write_json_atomic(path: str | os.PathLike, payload: Any) -> None:
    """Write JSON (sorted keys, indent 2) to a temporary sibling, fsync it, then rename it over `path`.

    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "x.json")
    >>> write_json_atomic(path, {"b": 1, "a": 2}); open(path).read()
    '{\\n  "a": 2,\\n  "b": 1\\n}\\n'
    """
    path = Path(path)
    tmp = temp_name(path.parent, path.name)
    try:
        with open(tmp, "xb") as handle:
            handle.write((json.dumps(payload, indent=2, sort_keys=True) + "\n").encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_checkpoint(
    directory: str | os.PathLike,
    tensors: Mapping[str, Tensor],
    *,
    max_shard_size: int | str = DEFAULT_MAX_SHARD_SIZE,
    metadata: Mapping[str, str] | None = None,
    variant: str | None = None,
    extra_files: Mapping[str, bytes] | None = None,
    record_sha256: bool = True,
    serialize: Callable[[Mapping[str, HostTensor], Path], None] | None = None,
) -> list[Path]:
    """Write `tensors` (`HostTensor`s, or `LazyTensor`s read only when written) as a safetensors checkpoint into
    `directory`, streamed and committed atomically; returns the final paths.

    Shards of at most `max_shard_size` are planned in natural key order and named as transformers names them
    (`model-00001-of-00002.safetensors`, `variant` inserted); a sharded save writes `model.safetensors.index.json`
    with each shard's sha256 (`record_sha256`). `extra_files` (e.g. `config.json`) join the same commit: a crash
    at any moment leaves exactly the old or exactly the new checkpoint (docs/reliability.md). Weight files of an
    earlier save of the same variant that the new one does not use are removed. `serialize(shard_tensors, path)`
    writes each shard in another format instead (legacy `pytorch_model.bin`, see
    [`write_bin_shard`][pretrained.checkpoint._legacy.write_bin_shard]; not streamed: a shard is materialised).

    Example:
        >>> import numpy as np, tempfile, os
        >>> from pretrained.checkpoint import HostTensor, LazyTensor
        >>> d = tempfile.mkdtemp()
        >>> kernel = np.ones((3, 2), np.float32)  # e.g. a Keras kernel (in, out)
        >>> paths = write_checkpoint(d, {"fc.weight": LazyTensor("float32", (2, 3), read=lambda: kernel.T),
        ...                              "fc.bias": HostTensor.from_numpy(np.zeros(2, np.float32))},
        ...                          extra_files={"config.json": b"{}"})
        >>> sorted(os.listdir(d))
        ['config.json', 'model.safetensors']
    """
    directory = Path(directory)
    metadata = dict(metadata or {"format": "pt"})
    legacy = serialize is not None
    check_tensors(directory / (WEIGHTS_NAME if legacy else SAFE_WEIGHTS_NAME), tensors)
    sizes = {key: tensor.nbytes for key, tensor in tensors.items()}
    shards = plan_shards(sizes, max_shard_size) or [[]]
    weights_name, index_name = (WEIGHTS_NAME, WEIGHTS_INDEX_NAME) if legacy else (SAFE_WEIGHTS_NAME,
                                                                                SAFE_WEIGHTS_INDEX_NAME)
    names = (
        [add_variant(weights_name, variant)]
        if len(shards) == 1
        else [shard_file_name(i + 1, len(shards), base=weights_name, variant=variant) for i in range(len(shards))]
    )
    digest = record_sha256 and len(shards) > 1
    total = sum(sizes.values())
    try:
        with Staging(directory) as staging:
            for name, payload in (extra_files or {}).items():
                _write_file(staging.new_file(name), payload, label=directory / name)
            digests: dict[str, str] = {}
            files: list[tuple[Path, str]] = []
            bar = progress.bar(total=max(1, round(total / 1e6)), desc="Saving weights", unit="MB",
                               enabled=total > progress.MIN_BYTES_FOR_BAR)
            with bar:
                done = [0.0]
                advance = _advance(bar, done)
                crash_point("before-first-shard")
                for number, (name, keys) in enumerate(zip(names, shards)):
                    path = staging.new_file(name)
                    shard = {key: tensors[key] for key in keys}
                    try:
                        if legacy:
                            serialize({key: tensor.materialize() for key, tensor in shard.items()}, path)
                            _fsync_file(path)
                            advance(sum(sizes[key] for key in keys))
                            sha = sha256_file(path) if digest else None
                        else:
                            sha = write_safetensors(path, shard, metadata=metadata, digest=digest, progress=advance,
                                                    label=directory / name)
                    except (OSError, ValueError) as exc:
                        reason = exc.__cause__ if isinstance(exc, CheckpointError) and exc.__cause__ else exc
                        raise CheckpointError(f"{directory / name}: could not write shard ({reason}); the previous "
                                              "checkpoint is intact") from exc
                    if sha is not None:
                        digests[name] = sha
                    files.append((path, name))
                    if number + 1 < len(names):
                        crash_point("shard")
            index = None
            if len(shards) > 1:
                index = (add_variant(index_name, variant), _index_builder(shards, names, digests, total))
            return staging.commit(Weights(files=files, index=index, variant=variant))
    except CheckpointError:
        raise
    except OSError as exc:
        raise CheckpointError(f"{directory}: saving the checkpoint failed ({exc}); the previous checkpoint is intact"
                              ) from exc


def _index_builder(shards: list[list[str]], names: list[str], digests: dict[str, str],
                   total: int) -> Callable[[list[str]], bytes]:
    """The index's bytes as a function of the final shard names (a save that cannot exchange the directory may
    have to rename its shards)."""

    def build(final: list[str]) -> bytes:
        renamed = dict(zip(names, final))
        metadata: dict[str, Any] = {"total_size": total}
        if digests:
            metadata["sha256"] = {renamed[name]: sha for name, sha in digests.items()}
        index = {"metadata": metadata,
                 "weight_map": {key: renamed[name] for name, keys in zip(names, shards) for key in keys}}
        return (json.dumps(index, indent=2, sort_keys=True) + "\n").encode("utf-8")

    return build


def _advance(bar: Any, done: list[float]) -> Callable[[int], None]:
    def advance(nbytes: int) -> None:
        before = round(done[0] / 1e6)
        done[0] += nbytes
        bar.update(round(done[0] / 1e6) - before)

    return advance


def _write_file(path: Path, payload: bytes, *, label: Path) -> None:
    try:
        with open(path, "xb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as exc:
        raise CheckpointError(f"{label}: could not write the file ({exc.strerror or exc}); the previous checkpoint "
                              "is intact") from exc


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
