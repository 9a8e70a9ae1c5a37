"""Streaming reads of checkpoint tensors, one at a time."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import CheckpointError
from ..utils import logging, progress
from ._files import CheckpointFiles, load_index
from ._format import TensorInfo, read_safetensors_header
from ._lock import directory_lock

logger = logging.get_logger(__name__)

_ML_DTYPES = frozenset({"bfloat16", "float8_e4m3fn", "float8_e5m2"})  # NumPy knows them through ml_dtypes


class TensorReader:
    """What every file reader shares: the queries over `_infos` (one `TensorInfo` per canonical key, filled when the
    reader opens) and the one-at-a-time iteration. A subclass fills `checkpoint` and `_infos` and implements
    `get(key)` and `close()`."""

    checkpoint: CheckpointFiles
    _infos: dict[str, TensorInfo]

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
        """The safetensors `__metadata__` of the first shard (e.g. `{"format": "pt"}`); empty for other formats."""
        return {}

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
        raise NotImplementedError

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

    def close(self) -> None:
        pass

    def __enter__(self) -> TensorReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class CheckpointReader(TensorReader):
    """Streams the tensors of a checkpoint one at a time, as NumPy arrays (or torch tensors with `framework="pt"`).

    The header of each shard is read (and validated) up front, so `keys()`, `info(key)` and `dtypes()` cost no data
    reads. `get(key)` reads a single tensor. Legacy `.bin` files are read with `torch.load(weights_only=True)`.
    ([`open_checkpoint`][pretrained.checkpoint.open_checkpoint] opens the reader of any format, `tf_model.h5` and
    `flax_model.msgpack` included.)

    Example:
        >>> from pretrained.checkpoint import CheckpointReader, find_weights
        >>> with CheckpointReader(find_weights("my-model")) as reader:  # doctest: +SKIP
        ...     for key, array in reader.iter_tensors():
        ...         print(key, array.shape)
    """

    def __init__(self, checkpoint: CheckpointFiles, *, framework: str = "np", backend: str | None = None) -> None:
        self.checkpoint = checkpoint
        self.framework = framework
        self.backend = backend  # safetensors' read backend ("mmap" default, "pread": no mapped pages held in RSS)
        self._infos: dict[str, TensorInfo] = {}
        self._metadata: dict[str, str] = {}
        self._handles: dict[Path, Any] = {}
        self._fds: dict[Path, int] = {}  # raw descriptors for read_into, opened with the handles
        self._bin_cache: dict[Path, dict[str, Any]] = {}
        self.bytes_read = 0  # tensor bytes read from the files so far (whole tensors and slices)
        if checkpoint.kind not in ("safetensors", "bin"):
            raise CheckpointError(f"{checkpoint.files[0]}: a {checkpoint.kind} checkpoint; open it with "
                                  "pretrained.checkpoint.open_checkpoint")
        if checkpoint.kind == "safetensors":
            # a concurrent save commits under an exclusive lock: under the shared one, the index, the headers and
            # the open shard handles all belong to one save (open handles keep their files after a rename)
            with directory_lock(checkpoint.files[0].parent, shared=True):
                self._refresh_index()
                self._read_safetensors_headers()
                for path in self.checkpoint.files:
                    self._handle(path)
                    self._fds[path] = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        else:
            self._read_bin_headers()

    def _refresh_index(self) -> None:
        if self.checkpoint.index_path is None:
            return
        known_digests = self.checkpoint.expected_sha256
        self.checkpoint = load_index(self.checkpoint.index_path)
        self.checkpoint.expected_sha256 = {**known_digests, **self.checkpoint.expected_sha256}

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
        from ._legacy import load_bin_file  # torch is needed only for legacy files

        for path in self.checkpoint.files:
            tensors = load_bin_file(path)
            self._bin_cache[path] = tensors
            for key, tensor in tensors.items():
                dtype = str(tensor.dtype).removeprefix("torch.")
                self._infos[key] = TensorInfo(
                    key, dtype, tuple(tensor.shape), path, tensor.numel() * tensor.element_size()
                )

    @property
    def metadata(self) -> dict[str, str]:
        """The safetensors `__metadata__` of the first shard (e.g. `{"format": "pt"}`)."""
        return dict(self._metadata)

    # -- reads
    def get(self, key: str) -> Any:
        """Read one tensor (a NumPy array, or a torch tensor when `framework="pt"`)."""
        info = self.info(key)
        if self.checkpoint.kind == "bin":
            tensor = self._bin_cache[info.file][key]
            return tensor if self.framework == "pt" else _torch_to_numpy(tensor)
        if self.framework != "pt" and info.dtype in _ML_DTYPES:  # NumPy knows them only through ml_dtypes
            buffer = np.empty(info.nbytes, np.uint8)
            if self.read_into(key, buffer):
                import ml_dtypes

                return buffer.view(getattr(ml_dtypes, info.dtype)).reshape(info.shape)
        handle = self._handle(info.file)
        self.bytes_read += info.nbytes
        try:
            return handle.get_tensor(key)
        except Exception as exc:  # safetensors raises its own error type for corrupt data
            raise CheckpointError(f"{info.file}: cannot read tensor {key!r}: {exc}") from exc

    def read_into(self, key: str, buffer: Any) -> bool:
        """Copy the raw bytes of tensor `key` straight from its file into `buffer` (a writable, C-contiguous buffer
        of exactly `info(key).nbytes` bytes): one copy, no intermediate array, the GIL released while reading.

        Returns False (nothing read) where the tensor is not a plain region of an open safetensors file (legacy
        `.bin`); the caller then uses `get(key)`.
        """
        info = self.info(key)
        fd = self._fds.get(info.file)
        if fd is None or info.offset is None:
            return False
        view = memoryview(buffer).cast("B")
        if view.nbytes != info.nbytes:
            raise ValueError(f"read_into({key!r}): the buffer holds {view.nbytes} bytes, the tensor {info.nbytes}")
        self._pread(fd, key, view, info.offset)
        return True

    def read_runs(self, key: str, runs: Iterable[tuple[int, int]], buffer: Any) -> bool:
        """Copy the byte runs `(offset within the tensor, nbytes)` of tensor `key` one after another into `buffer`
        (C-contiguous, exactly their total size): a rank's slice of a sharded load, without the rest of the tensor.
        Returns False (nothing read) where the tensor is not a plain region of a safetensors file."""
        info = self.info(key)
        fd = self._fds.get(info.file)
        if fd is None or info.offset is None:
            return False
        view = memoryview(buffer).cast("B")
        runs = list(runs)
        if sum(nbytes for _, nbytes in runs) != view.nbytes:
            raise ValueError(f"read_runs({key!r}): the buffer holds {view.nbytes} bytes, the runs more or less")
        position = 0
        for offset, nbytes in runs:
            if offset < 0 or offset + nbytes > info.nbytes:
                raise ValueError(f"read_runs({key!r}): run {offset}+{nbytes} is outside its {info.nbytes} bytes")
            self._pread(fd, key, view[position : position + nbytes], info.offset + offset)
            position += nbytes
        return True

    def _pread(self, fd: int, key: str, view: memoryview, offset: int) -> None:
        done = 0
        while done < view.nbytes:
            count = os.preadv(fd, [view[done:]], offset + done)
            if count <= 0:
                raise CheckpointError(f"{self._infos[key].file}: cannot read tensor {key!r}: the file ends early "
                                      "(truncated?)")
            done += count
        self.bytes_read += done

    def _handle(self, path: Path) -> Any:
        handle = self._handles.get(path)
        if handle is None:
            from safetensors import safe_open

            try:
                extra = {"backend": self.backend} if self.backend else {}
                handle = safe_open(str(path), framework=self.framework, **extra)
            except Exception as exc:
                raise CheckpointError(f"{path}: not a readable safetensors file: {exc}") from exc
            self._handles[path] = handle
        return handle

    def close(self) -> None:
        self._handles.clear()
        for fd in self._fds.values():
            os.close(fd)
        self._fds.clear()
        self._bin_cache.clear()


def _torch_to_numpy(tensor: Any) -> np.ndarray:
    import torch

    if tensor.dtype == torch.bfloat16:
        import ml_dtypes

        return tensor.view(torch.uint16).numpy().view(ml_dtypes.bfloat16)
    return tensor.numpy()
