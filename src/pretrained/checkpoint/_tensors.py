"""What the checkpoint writer writes: tensors already in host memory in canonical layout (`HostTensor`) and tensors
it reads only when it reaches them (`LazyTensor`). Both hand out their bytes in canonical (PyTorch) layout, chunk
by chunk: a contiguous tensor as one zero-copy view, a strided one (a transposed kernel) copied row band by row
band into small scratch buffers the writer recycles, so a save never holds a second copy of the model.

Example:
    >>> import numpy as np
    >>> from pretrained.checkpoint import LazyTensor
    >>> kernel = np.arange(6, dtype=np.float32).reshape(2, 3)  # a backend's (in, out) kernel
    >>> lazy = LazyTensor("float32", (3, 2), read=lambda: kernel.T)  # canonical (out, in), read on demand
    >>> lazy.nbytes, lazy.materialize().owner.tolist()
    (24, [[0.0, 3.0], [1.0, 4.0], [2.0, 5.0]])
"""

from __future__ import annotations

import ctypes
import math
import os
import threading
from collections.abc import Callable, Hashable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._format import DTYPES

ITEMSIZE = dict(DTYPES.values())  # dtype name -> bytes per element
CHUNK_BYTES = 2 << 20  # a strided tensor is copied out in row bands of about this many bytes
# A banded transpose copies this many source rows per step (1024- and 4096-wide float32 on the 2-core dev machine:
# 16 rows 2.3 / 11 ms for 1024x1024 / 4096x1024, 64 rows 4.5 / 18 ms), at most _BAND_BYTES of source per step.
_BAND_ROWS = 16
_BAND_BYTES = 1 << 20
_SPLIT_MIN_BYTES = 8 << 20  # a `parallel` banded copy this large is split over the copy threads
_COPY_THREADS = max(1, min(4, os.cpu_count() or 1))
_copy_pool: ThreadPoolExecutor | None = None
_copy_pool_lock = threading.Lock()

Scratch = Callable[[int], np.ndarray]  # nbytes -> a writable uint8 buffer of exactly that many bytes


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
        """A `HostTensor` of a NumPy array (made C-contiguous and little-endian first where it is not).

        >>> HostTensor.from_numpy(np.zeros((2, 3), np.float16)).nbytes
        12
        """
        array = np.require(array, requirements="C")
        if array.dtype.byteorder == ">":
            array = array.astype(array.dtype.newbyteorder("<"))
        return cls(array.dtype.name, tuple(array.shape), array.ctypes.data, array.nbytes, array)

    @property
    def alias(self) -> Hashable | None:
        """What two names of one tensor share (memory, dtype, shape, strides); None for empty or unaddressable ones."""
        if self.nbytes == 0 or not self.data_ptr:
            return None
        stride = getattr(self.owner, "stride", None)
        return (self.data_ptr, self.dtype, self.shape, tuple(stride()) if callable(stride) else None)

    def buffer(self) -> memoryview:
        """The tensor's bytes, without a copy (valid while `owner` lives)."""
        if self.nbytes == 0:
            return memoryview(b"")
        region = (ctypes.c_char * self.nbytes).from_address(self.data_ptr)
        region.owner = self.owner  # the view keeps the memory's owner alive (e.g. while a writer thread uses it)
        return memoryview(region).cast("B")

    def chunks(self, scratch: Scratch) -> Iterator[Any]:
        """The bytes in canonical layout: here one zero-copy view."""
        yield self.buffer()

    def materialize(self) -> HostTensor:
        return self


@dataclass(frozen=True)
class LazyTensor:
    """A tensor the writer reads only when it reaches it: its dtype and shape up front (so headers, shard plans and
    the index are computed without touching data) and `read()`, which returns the value in canonical layout: a
    `HostTensor`, or a NumPy array that may be a strided view (a transposed kernel is not copied until written).

    `alias` identifies the memory behind the tensor (two keys with the same alias are one tensor, saved once).

    >>> lazy = LazyTensor("int64", (), read=lambda: np.zeros((), np.int64))
    >>> lazy.nbytes, b"".join(bytes(c) for c in lazy.chunks(lambda n: np.empty(n, np.uint8)))
    (8, b'\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00')
    """

    dtype: str
    shape: tuple[int, ...]
    read: Callable[[], HostTensor | np.ndarray] = field(repr=False)
    alias: Hashable | None = None

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * ITEMSIZE.get(self.dtype, 0)

    def value(self) -> HostTensor | np.ndarray:
        """`read()`, checked against the dtype and shape this tensor promised."""
        value = self.read()
        if isinstance(value, HostTensor):
            dtype, shape, nbytes = value.dtype, tuple(value.shape), value.nbytes
        else:
            value = np.asarray(value)
            dtype, shape, nbytes = value.dtype.name, tuple(value.shape), value.nbytes
        if dtype != self.dtype or shape != tuple(self.shape) or nbytes != self.nbytes:
            raise ValueError(f"the tensor read is {dtype} {list(shape)}, but {self.dtype} {list(self.shape)} was "
                             "announced (did the model change during the save?)")
        return value

    def chunks(self, scratch: Scratch) -> Iterator[Any]:
        """The bytes in canonical layout, in order: one zero-copy view when the value is contiguous, else row bands
        copied into buffers from `scratch`."""
        value = self.value()
        if isinstance(value, HostTensor):
            yield value.buffer()
        else:
            yield from array_chunks(value, scratch)

    def materialize(self) -> HostTensor:
        """The whole tensor in host memory, contiguous (zero-copy where the value already is)."""
        value = self.value()
        if isinstance(value, HostTensor):
            return value
        if value.flags.c_contiguous and value.dtype.byteorder != ">":
            return HostTensor.from_numpy(value)
        out = np.empty(value.shape, value.dtype.newbyteorder("<"))
        copy_banded(value, out)
        return HostTensor.from_numpy(out)


def array_chunks(array: np.ndarray, scratch: Scratch, *, chunk_bytes: int = CHUNK_BYTES) -> Iterator[Any]:
    """The bytes of `array` in C order and little-endian: the array itself when it is contiguous, else bands of rows
    (axis 0) of about `chunk_bytes`, each copied into a fresh `scratch` buffer.

    >>> a = np.arange(12, dtype=np.int32).reshape(3, 4)
    >>> out = b"".join(bytes(c) for c in array_chunks(a.T, lambda n: np.empty(n, np.uint8), chunk_bytes=16))
    >>> np.frombuffer(out, np.int32).reshape(4, 3).tolist() == a.T.tolist()
    True
    """
    if array.nbytes == 0:
        return
    if array.flags.c_contiguous and array.dtype.byteorder != ">":
        yield array.reshape(-1).view(np.uint8)
        return
    if array.ndim == 0:
        array = array.reshape(1)
    rows = array.shape[0]
    per = max(1, chunk_bytes // max(1, array.nbytes // rows))
    dtype = array.dtype.newbyteorder("<")
    for start in range(0, rows, per):
        part = array[start : start + per]
        buffer = scratch(part.nbytes)
        copy_banded(part, buffer.view(dtype).reshape(part.shape))
        yield buffer


def copy_banded(source: np.ndarray, out: np.ndarray, *, casting: str | None = None, parallel: bool = False) -> None:
    """`out[...] = source` (same shape). A view whose last axis has the largest stride (a transposed kernel: the
    canonical `(out, in)` rows of a backend's `(in, out)` kernel, or the reverse) is copied in bands along that
    axis, each a block of consecutive rows of the underlying array, which keeps both sides in cache (several times
    faster than one strided copy). With `parallel`, a large one is split over a few threads (NumPy's copy releases
    the GIL). `casting` as in `np.copyto` (default: the same dtype up to byte order).

    >>> kernel = np.arange(6, dtype=np.float32).reshape(3, 2)
    >>> out = np.empty((2, 3), np.float32); copy_banded(kernel.T, out); out.tolist()
    [[0.0, 2.0, 4.0], [1.0, 3.0, 5.0]]
    """
    casting = casting or ("no" if out.dtype == source.dtype else "equiv")
    columns = source.shape[-1] if source.ndim >= 2 else 0
    if columns <= 1 or abs(source.strides[-1]) < max(abs(stride) for stride in source.strides):
        np.copyto(out, source, casting=casting)
        return
    column_bytes = source.nbytes // columns
    band = _BAND_ROWS if column_bytes * _BAND_ROWS <= _BAND_BYTES else 1

    def copy(low: int, high: int) -> None:
        for start in range(low, high, band):
            stop = min(start + band, high)
            np.copyto(out[..., start:stop], source[..., start:stop], casting=casting)

    parts = _COPY_THREADS if parallel and source.nbytes >= _SPLIT_MIN_BYTES else 1
    step = -(-columns // parts // band) * band
    if parts == 1 or step >= columns:
        copy(0, columns)
        return
    futures = [_pool().submit(copy, low, min(low + step, columns)) for low in range(step, columns, step)]
    copy(0, step)
    for future in futures:
        future.result()


def _pool() -> ThreadPoolExecutor:
    global _copy_pool
    with _copy_pool_lock:
        if _copy_pool is None:
            _copy_pool = ThreadPoolExecutor(_COPY_THREADS, thread_name_prefix="pretrained-copy")
        return _copy_pool
