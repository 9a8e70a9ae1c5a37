"""Streaming checkpoint tensors into a model, one at a time, in file order — the read half every backend shares.

[`TensorStream`][pretrained.checkpoint.TensorStream] hands out [`StreamedTensor`][pretrained.checkpoint.StreamedTensor]s
in the order their bytes lie on disk. Where the reader can copy a tensor's bytes into a caller's buffer (`read_into`:
an open safetensors file) each tensor arrives as a fresh, 64-byte-aligned buffer that a backend can adopt without a
copy (TensorFlow through DLPack, `jax.device_put` on CPU); with `read_ahead=True` a background thread reads up to a
window of bytes ahead (reading releases the GIL, so the checkpoint arrives while Python builds the model). A backend
that copied a tensor out of its buffer (a transposed kernel) gives the buffer back with `recycle`, so the next tensor
of the same size reuses it instead of first-touching new memory. Readers without `read_into` (in-memory states,
legacy `.bin`) or a stream opened with `mode="get"` (PyTorch: zero-copy views of the memory-mapped file) yield what
`reader.get` returns.

Example:
    >>> import numpy as np, tempfile
    >>> from pretrained.checkpoint import CheckpointReader, HostTensor, TensorStream, find_weights, write_checkpoint
    >>> d = tempfile.mkdtemp()
    >>> _ = write_checkpoint(d, {"b": HostTensor.from_numpy(np.ones(3, np.float32)),
    ...                          "a": HostTensor.from_numpy(np.zeros((2, 2), np.float32))})
    >>> with CheckpointReader(find_weights(d)) as reader, TensorStream(reader, read_ahead=True) as stream:
    ...     [(t.key, t.array().shape, t.raw is not None) for t in stream.tensors(["a", "b"])]
    [('a', (2, 2), True), ('b', (3,), True)]
"""

from __future__ import annotations

import mmap
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..utils import progress
from ._format import TensorInfo, numpy_dtype
from ._memory import to_numpy
from ._slices import Index, read_slice

ALIGN = 64  # TensorFlow (EIGEN_MAX_ALIGN_BYTES) and XLA:CPU adopt host buffers aligned to this many bytes
_MAP_MIN_BYTES = 1 << 20  # buffers this large are anonymous mappings (see aligned_empty)
_MAP_FLAGS = (mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS) if hasattr(mmap, "MAP_ANONYMOUS") else None
READ_AHEAD_BYTES = 1 << 30  # a read-ahead stream holds at most this many bytes read and not yet consumed


def aligned_empty(shape: Sequence[int], dtype: Any) -> np.ndarray:
    """An uninitialised C-contiguous array whose data is `ALIGN`-byte aligned.

    Large ones are private anonymous mappings: page-aligned, returned to the OS when the array dies, and without
    the `MADV_HUGEPAGE` NumPy asks for on big allocations (with THP in `madvise` mode, first-touching 1.3 GB of
    huge pages cost 0.2-2 s here against a steady ~0.5 s for small pages, and it was the largest term of a load).

    >>> aligned_empty((3, 5), np.float32).ctypes.data % ALIGN
    0
    """
    dtype = np.dtype(dtype)
    shape = tuple(int(d) for d in shape)
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if nbytes >= _MAP_MIN_BYTES and _MAP_FLAGS is not None:
        try:
            region = mmap.mmap(-1, nbytes, flags=_MAP_FLAGS)
        except (OSError, ValueError):
            pass
        else:
            return np.frombuffer(region, np.uint8, nbytes).view(dtype).reshape(shape)
    raw = np.empty(nbytes + ALIGN, np.uint8)
    start = (-raw.ctypes.data) % ALIGN
    return raw[start : start + nbytes].view(dtype).reshape(shape)


@dataclass
class StreamedTensor:
    """One checkpoint tensor on its way into a model.

    `raw` is the tensor's bytes in a fresh aligned `uint8` buffer (readers with `read_into`), which the backend may
    adopt as the variable's memory; otherwise `value` is what `reader.get(key)` returned (a NumPy array, or the
    backend's own tensor type for readers opened for one framework). `array()` is a NumPy view of either. A tensor
    streamed as `sliced` (a sharded load) holds neither: `read(index)` reads the part a rank holds.
    """

    key: str
    info: TensorInfo
    raw: np.ndarray | None = None
    value: Any = None
    reader: Any = None
    stream: TensorStream | None = field(default=None, repr=False)

    def empty(self, shape: Sequence[int], dtype: Any) -> np.ndarray:
        """An aligned buffer for this tensor's converted value (e.g. its transpose): a buffer recycled by the stream
        where one of the same size is free (its pages are already touched), else a new one."""
        return self.stream.empty(shape, dtype) if self.stream is not None else aligned_empty(shape, dtype)

    def read(self, index: Index) -> np.ndarray:
        """The slice `index` (one `(start, stop)` per canonical dimension) as a new aligned array, reading only its
        bytes from the file."""
        if self.raw is not None or self.value is not None:
            return np.ascontiguousarray(self.array()[tuple(slice(a, b) for a, b in index)])
        return read_slice(self.reader, self.key, index, empty=aligned_empty)

    def array(self) -> np.ndarray:
        """The tensor as a NumPy array in canonical layout (a view of `raw`, or of `value` where possible)."""
        if self.raw is not None:
            return self.raw.view(np.dtype(numpy_dtype(self.info.dtype))).reshape(self.info.shape)
        return to_numpy(self.value)


def file_order(reader: Any, keys: Iterable[str]) -> list[str]:
    """`keys` sorted as their bytes lie on disk (shard, then offset): sequential reads. Keys of in-memory readers
    keep their order."""
    files = {path: i for i, path in enumerate(getattr(getattr(reader, "checkpoint", None), "files", None) or [])}

    def position(item: tuple[int, str]) -> tuple[int, int, int]:
        index, key = item
        info = reader.info(key)
        offset = info.offset
        return (files.get(info.file, 0), offset if offset is not None else index, index)

    return [key for _, key in sorted(enumerate(keys), key=position)]


class TensorStream:
    """Reads checkpoint tensors for a load (see the module docstring). Use as a context manager.

    `mode="into"` (default) reads through `read_into` where the reader has it; `mode="get"` always uses
    `reader.get`. `read_ahead=True` starts a background reader of every key in file order right away (keys the
    load does not want are dropped unread or freed).
    """

    def __init__(self, reader: Any, *, mode: str = "into", read_ahead: bool = False,
                 window: int = READ_AHEAD_BYTES) -> None:
        if mode not in ("into", "get"):
            raise ValueError(f"TensorStream mode must be 'into' or 'get', got {mode!r}")
        self.reader = reader
        self.direct = mode == "into" and callable(getattr(reader, "read_into", None))
        self._spares: dict[int, np.ndarray] = {}  # recycled buffers, one per byte size
        self._lock = threading.Lock()
        self._prefetcher: _Prefetcher | None = None
        if self.direct and read_ahead and len(reader):
            self._prefetcher = _Prefetcher(self, file_order(reader, reader.keys()), window)

    # -- buffers
    def empty(self, shape: Sequence[int], dtype: Any) -> np.ndarray:
        """An aligned C-contiguous array: a recycled buffer of the same byte size where one is free, else new."""
        dtype = np.dtype(dtype)
        nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        with self._lock:
            spare = self._spares.pop(nbytes, None)
        if spare is None:
            return aligned_empty(shape, dtype)
        return spare.view(dtype).reshape(tuple(int(d) for d in shape))

    def recycle(self, tensor: StreamedTensor) -> None:
        """Give back the buffer of a tensor whose bytes were copied out (e.g. transposed into a new array): the next
        tensor of the same size is read into it. Never recycle a buffer a variable adopted."""
        raw, tensor.raw = tensor.raw, None
        if raw is not None:
            with self._lock:
                self._spares.setdefault(raw.nbytes, raw)

    def _read(self, key: str, *, fresh: bool = False) -> np.ndarray | None:
        """The bytes of `key` in a recycled buffer, or in a new one when `fresh` (the read-ahead thread: it
        first-touches new memory while the model is built, and leaves the recycled buffers to the consumer's
        outputs, which would otherwise first-touch new memory on the main thread)."""
        info = self.reader.info(key)
        if info.nbytes == 0:
            return None
        buffer = aligned_empty((info.nbytes,), np.uint8) if fresh else self.empty((info.nbytes,), np.uint8)
        return buffer if self.reader.read_into(key, buffer) else None

    # -- streaming
    def tensors(self, keys: Iterable[str], *, desc: str = "Loading weights", sliced: Iterable[str] = ()
                ) -> Iterator[StreamedTensor]:
        """Yield the tensors of `keys` that the checkpoint holds, in file order, with a progress bar. Keys in
        `sliced` are not read: the consumer reads the parts it holds with `StreamedTensor.read` (open the stream
        without read-ahead for such loads: the read-ahead thread starts before the keys are known)."""
        reader = self.reader
        sliced = set(sliced)
        wanted = [key for key in keys if key in reader]
        ordered = file_order(reader, wanted) if self.direct else wanted
        bar = progress.bar(total=len(ordered), desc=desc, unit="tensor",
                           enabled=reader.total_bytes() > progress.MIN_BYTES_FOR_BAR)
        prefetcher, self._prefetcher = self._prefetcher, None  # read-ahead serves the first pass only
        if prefetcher is not None:
            prefetcher.keep(set(ordered) - sliced)
        try:
            with bar:
                for key in ordered:
                    info = reader.info(key)
                    raw = None
                    if key in sliced:
                        yield StreamedTensor(key, info, reader=reader, stream=self)
                        bar.update(1)
                        continue
                    if prefetcher is not None:
                        raw = prefetcher.take(key)
                    elif self.direct:
                        raw = self._read(key)
                    yield StreamedTensor(key, info, raw, None if raw is not None else reader.get(key), reader, self)
                    bar.update(1)
        finally:
            if prefetcher is not None:
                prefetcher.close()

    def close(self) -> None:
        if self._prefetcher is not None:
            self._prefetcher.close()
            self._prefetcher = None
        self._spares.clear()

    def __enter__(self) -> TensorStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Prefetcher:
    """Reads the stream's tensors into buffers on one thread, at most `window` bytes ahead of what was taken."""

    def __init__(self, stream: TensorStream, keys: list[str], window: int) -> None:
        self.stream = stream
        self.keys = keys
        self.window = window
        self._ready: dict[str, np.ndarray | BaseException | None] = {}
        self._pending = 0  # bytes read and not yet taken
        self._wanted: set[str] | None = None  # None until the load says which keys it wants
        self._condition = threading.Condition()
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="pretrained-read-ahead", daemon=True)
        self._thread.start()

    def keep(self, wanted: set[str]) -> None:
        """The keys the load wants: read ones it does not want are freed, unread ones skipped."""
        with self._condition:
            self._wanted = wanted
            for key in [k for k in self._ready if k not in wanted]:
                buffer = self._ready.pop(key)
                if isinstance(buffer, np.ndarray):
                    self._pending -= buffer.nbytes
            self._condition.notify_all()

    def _run(self) -> None:
        reader = self.stream.reader
        for key in self.keys:
            nbytes = reader.info(key).nbytes
            with self._condition:
                while not self._stop and self._pending > 0 and self._pending + nbytes > self.window:
                    self._condition.wait()
                if self._stop:
                    return
                if self._wanted is not None and key not in self._wanted:
                    continue
            try:
                buffer: np.ndarray | BaseException | None = self.stream._read(key, fresh=True)
            except BaseException as exc:  # handed to the consumer, raised where it takes this key
                buffer = exc
            with self._condition:
                if self._wanted is not None and key not in self._wanted:
                    continue
                self._ready[key] = buffer
                if isinstance(buffer, np.ndarray):
                    self._pending += buffer.nbytes
                self._condition.notify_all()

    def take(self, key: str) -> np.ndarray | None:
        """The bytes of `key` (waits for them), or None where they cannot be read into a buffer."""
        with self._condition:
            while key not in self._ready:
                if not self._thread.is_alive():
                    return self.stream._read(key)
                self._condition.wait(0.1)
            buffer = self._ready.pop(key)
            if isinstance(buffer, np.ndarray):
                self._pending -= buffer.nbytes
            self._condition.notify_all()
        if isinstance(buffer, BaseException):
            raise buffer
        return buffer

    def close(self) -> None:
        with self._condition:
            self._stop = True
            self._condition.notify_all()
        self._thread.join()
        self._ready.clear()
