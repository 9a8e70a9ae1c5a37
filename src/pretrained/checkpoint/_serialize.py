"""Writing one safetensors file as a stream: the header from dtypes and shapes alone, then each tensor's bytes in
order, written on a background thread while the caller's thread produces the next chunk (a transposed kernel's
next row band) and feeds the sha256.

The format (https://github.com/huggingface/safetensors#format): 8 bytes little-endian header length N, N bytes of
JSON `{"__metadata__": {...}, key: {"dtype", "shape", "data_offsets": [begin, end]}, ...}` padded with spaces so the
data starts on an 8-byte boundary, then the tensors' bytes back to back. Tensors are laid out by element size
(largest first) and in natural key order within a size, so every tensor starts aligned to its element size.

Example:
    >>> import numpy as np, tempfile, os
    >>> from safetensors import safe_open
    >>> from pretrained.checkpoint import HostTensor
    >>> path = os.path.join(tempfile.mkdtemp(), "t.safetensors")
    >>> _ = write_safetensors(path, {"b": HostTensor.from_numpy(np.arange(3, dtype=np.int64))})
    >>> with safe_open(path, framework="np") as f:
    ...     f.get_tensor("b").tolist(), f.metadata()
    ([0, 1, 2], {'format': 'pt'})
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
import queue
import struct
import sys
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np

from ..errors import CheckpointError
from ._format import DTYPE_CODES, natural_key
from ._tensors import CHUNK_BYTES, ITEMSIZE, HostTensor, LazyTensor

Tensor = HostTensor | LazyTensor

_POOL_BUFFERS = 3  # scratch buffers in flight: one being filled, up to two being written
_QUEUE_DEPTH = 4
_MAX_WRITE = 1 << 30  # bytes per write() call
_WRITEBACK_BYTES = 64 << 20  # start writing back to disk every this many bytes, so the final fsync waits little
_write = os.write  # tests replace it to simulate a full disk


def _load_sync_file_range() -> Callable[[int, int, int], None] | None:
    """Linux's `sync_file_range(fd, offset, nbytes, SYNC_FILE_RANGE_WRITE)`: start writeback of a range without
    waiting for it (the fsync at the end of the file is what waits). None elsewhere."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        function = libc.sync_file_range
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
    function.restype = ctypes.c_int
    return lambda fd, offset, nbytes: function(fd, offset, nbytes, 2)  # 2 = SYNC_FILE_RANGE_WRITE


_start_writeback = _load_sync_file_range()


def file_order(tensors: Mapping[str, Tensor]) -> list[str]:
    """The order of the tensors in a file: element size descending, then natural key order.

    >>> from pretrained.checkpoint import HostTensor
    >>> file_order({"b.weight": HostTensor("float16", (1,), 0, 2), "a.x": HostTensor("int64", (), 0, 8),
    ...             "a.weight": HostTensor("float16", (1,), 0, 2)})
    ['a.x', 'a.weight', 'b.weight']
    """
    return sorted(tensors, key=lambda key: (-ITEMSIZE.get(tensors[key].dtype, 1), natural_key(key)))


def safetensors_header(tensors: Mapping[str, Tensor], order: Iterable[str], metadata: Mapping[str, str]) -> bytes:
    """The 8-byte length and the JSON header (space-padded to an 8-byte boundary) of a file holding `tensors` in
    `order`.

    >>> from pretrained.checkpoint import HostTensor
    >>> raw = safetensors_header({"w": HostTensor("float32", (2,), 0, 8)}, ["w"], {"format": "pt"})
    >>> len(raw) % 8, raw[8:].decode().strip()
    (0, '{"__metadata__":{"format":"pt"},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}')
    """
    header: dict[str, Any] = {"__metadata__": dict(metadata)} if metadata else {}
    offset = 0
    for key in order:
        tensor = tensors[key]
        header[key] = {"dtype": DTYPE_CODES[tensor.dtype], "shape": [int(d) for d in tensor.shape],
                       "data_offsets": [offset, offset + tensor.nbytes]}
        offset += tensor.nbytes
    raw = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    raw += b" " * (-len(raw) % 8)
    return struct.pack("<Q", len(raw)) + raw


def check_tensors(path: os.PathLike | str, tensors: Mapping[str, Tensor]) -> None:
    """Refuse, before anything is written, tensors safetensors cannot store (naming the file and the key).

    >>> from pretrained.checkpoint import HostTensor
    >>> check_tensors("m.safetensors", {"x": HostTensor("complex64", (1,), 0, 8)})
    Traceback (most recent call last):
    ...
    pretrained.errors.CheckpointError: m.safetensors: tensor 'x' has dtype 'complex64', which safetensors cannot store (known: ...)
    """
    for key, tensor in tensors.items():
        if not isinstance(key, str) or not key:
            raise CheckpointError(f"{path}: tensor names must be non-empty strings, got {key!r}")
        if tensor.dtype not in DTYPE_CODES:
            raise CheckpointError(f"{path}: tensor {key!r} has dtype {tensor.dtype!r}, which safetensors cannot store "
                                  f"(known: {', '.join(DTYPE_CODES)})")
        if any(int(d) < 0 for d in tensor.shape):
            raise CheckpointError(f"{path}: tensor {key!r} has an invalid shape {list(tensor.shape)}")


def write_safetensors(
    path: os.PathLike | str,
    tensors: Mapping[str, Tensor],
    *,
    metadata: Mapping[str, str] | None = None,
    digest: bool = False,
    progress: Callable[[int], None] | None = None,
    label: os.PathLike | str | None = None,
) -> str | None:
    """Write `tensors` to a new file at `path` (which must not exist) as one streamed pass, fsync it, and return
    its sha256 when `digest` (computed from the bytes on their way out, not by reading the file back).

    Memory: zero-copy for contiguous tensors; strided ones pass through three reused buffers of about
    `CHUNK_BYTES`. Raises `CheckpointError` naming `path` (or `label`, the name the file will have) for bad input
    or a failed write (disk full, ...); the partial file is then left for the caller to delete.

    >>> import numpy as np, tempfile, os
    >>> from pretrained.checkpoint import LazyTensor
    >>> path = os.path.join(tempfile.mkdtemp(), "k.safetensors")
    >>> kernel = np.ones((4, 2), np.float32)
    >>> write_safetensors(path, {"w": LazyTensor("float32", (2, 4), read=lambda: kernel.T)}, digest=True)[:8]
    '578938bb'
    """
    metadata = {"format": "pt"} if metadata is None else metadata
    label = path if label is None else label
    check_tensors(label, tensors)
    order = file_order(tensors)
    header = safetensors_header(tensors, order, metadata)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0),
                 0o666)
    try:
        pipe = _Pipe(fd, digest=digest)
        try:
            pipe.put(header)
            for key in order:
                _write_tensor(pipe, label, key, tensors[key])
                if progress is not None:
                    progress(tensors[key].nbytes)
        except BaseException:
            pipe.close(check=False)
            raise
        pipe.close()
        os.fsync(fd)
    except OSError as exc:
        raise CheckpointError(f"{label}: could not write the file ({exc})") from exc
    finally:
        os.close(fd)
    return pipe.hexdigest()


def _write_tensor(pipe: _Pipe, path: os.PathLike | str, key: str, tensor: Tensor) -> None:
    written = 0
    try:
        for chunk in tensor.chunks(pipe.scratch):
            written += pipe.put(chunk)
    except (ValueError, TypeError) as exc:
        raise CheckpointError(f"{path}: cannot write tensor {key!r}: {exc}") from exc
    if written != tensor.nbytes:
        raise CheckpointError(f"{path}: tensor {key!r} produced {written} bytes, its header says {tensor.nbytes}")


class _Pipe:
    """Writes buffers to `fd` in order on a background thread (`os.write` releases the GIL, so the caller's thread
    meanwhile copies the next band or hashes this one). Scratch buffers come from a small pool and return to it
    once written."""

    def __init__(self, fd: int, *, digest: bool) -> None:
        self._fd = fd
        self._hash = hashlib.sha256() if digest else None
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=_QUEUE_DEPTH)
        self._free: queue.Queue[np.ndarray] = queue.Queue()
        self._pooled: dict[int, np.ndarray] = {}
        self._error: BaseException | None = None
        self._written = self._flushed = 0  # bytes written; bytes whose writeback was started
        self._thread = threading.Thread(target=self._run, name="pretrained-save-writer", daemon=True)
        self._thread.start()

    def scratch(self, nbytes: int) -> np.ndarray:
        """A writable uint8 buffer of `nbytes` that the pipe recycles after writing it."""
        if nbytes > CHUNK_BYTES:
            return np.empty(nbytes, np.uint8)  # a row wider than a band: not pooled
        if len(self._pooled) < _POOL_BUFFERS and self._free.empty():
            buffer = np.empty(CHUNK_BYTES, np.uint8)
            self._pooled[buffer.ctypes.data] = buffer
        else:
            buffer = self._take()
        return buffer[:nbytes]

    def _take(self) -> np.ndarray:
        while True:
            self._raise_if_failed()
            try:
                return self._free.get(timeout=0.1)
            except queue.Empty:
                continue

    def put(self, chunk: Any) -> int:
        """Queue `chunk` (any buffer) for writing; returns its size in bytes."""
        self._raise_if_failed()
        view = chunk if isinstance(chunk, memoryview) else memoryview(chunk)
        view = view.cast("B") if view.format != "B" or view.ndim != 1 else view
        if view.nbytes == 0:
            return 0
        pooled = chunk.ctypes.data if isinstance(chunk, np.ndarray) and chunk.ctypes.data in self._pooled else None
        while True:
            self._raise_if_failed()
            try:
                self._queue.put((view, pooled), timeout=0.1)
                break
            except queue.Full:
                continue
        if self._hash is not None:
            self._hash.update(view)  # releases the GIL: overlaps the write of the same bytes
        return view.nbytes

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            view, pooled = item
            if self._error is None:
                try:
                    done = 0
                    while done < view.nbytes:
                        done += _write(self._fd, view[done : done + _MAX_WRITE])
                    self._written += done
                    if _start_writeback is not None and self._written - self._flushed >= _WRITEBACK_BYTES:
                        _start_writeback(self._fd, self._flushed, self._written - self._flushed)
                        self._flushed = self._written
                except BaseException as exc:  # noqa: BLE001 - handed to the producer thread
                    self._error = exc
            if pooled is not None:
                self._free.put(self._pooled[pooled])

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise self._error

    def close(self, *, check: bool = True) -> None:
        """Wait for every queued write; raise the first write error (with `check`)."""
        self._queue.put(None)
        self._thread.join()
        if check:
            self._raise_if_failed()

    def hexdigest(self) -> str | None:
        return None if self._hash is None else self._hash.hexdigest()
