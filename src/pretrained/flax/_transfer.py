"""Host-side tensor moves for Flax loads and saves: checkpoint bytes -> JAX arrays and back, one copy each way.

Loading a dense kernel means a transpose (PyTorch `(out, in)` -> NNX `(in, out)`). A plain `np.ascontiguousarray`
of the transposed view walks one side with a large stride (30 ms for a 4096 x 1024 float32 matrix); JAX's
`jnp.asarray` of it is slower still. Copying it in bands of 16 source rows keeps both sides in cache (~5 ms), so
the transposes of a BERT-large load drop from ~3.5 s to ~0.4 s. Buffers are 64-byte aligned so that
`jax.device_put` on CPU adopts them instead of copying, and identity tensors are read by the reader straight into
the buffer that becomes the JAX array.
"""

from __future__ import annotations

import mmap
import threading
from collections.abc import Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ..layout import IDENTITY, KERNEL, TRANSPOSE, from_canonical, to_canonical
from ..utils import progress
from .loading import is_float

_ALIGN = 64  # XLA:CPU adopts host buffers aligned to this many bytes (no copy in device_put)
_BAND_ROWS = 16  # rows per band of a banded transpose (measured best for 1024- and 4096-wide float32 matrices)
_MAP_MIN_BYTES = 1 << 20  # buffers this large are anonymous mappings (see aligned_empty)
_MAP_FLAGS = (mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS) if hasattr(mmap, "MAP_ANONYMOUS") else None
_PREFETCH_WINDOW = 1 << 30  # bytes read ahead of the consumer at most
_BAND_LIMIT = 1 << 20  # bytes: wider bands than this gain nothing from banding


def aligned_empty(shape: Sequence[int], dtype: Any) -> np.ndarray:
    """An uninitialised C-contiguous array whose data is `_ALIGN`-byte aligned.

    Large ones are private anonymous mappings: page-aligned, returned to the OS when the array dies, and without
    the `MADV_HUGEPAGE` NumPy asks for on big allocations (with THP in `madvise` mode, first-touching 1.3 GB of
    huge pages cost 0.2-2 s here against a steady ~0.5 s for small pages, and it was the largest term of a load).
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
    raw = np.empty(nbytes + _ALIGN, np.uint8)
    start = (-raw.ctypes.data) % _ALIGN
    return raw[start : start + nbytes].view(dtype).reshape(shape)


def _result_dtype(source: Any, target: Any) -> np.dtype:
    """The loaded dtype: the variable's when both are floating (a cast on the way), else the checkpoint's."""
    return np.dtype(target) if is_float(target) and is_float(source) else np.dtype(source)


def _moves_first_axis_last(transform: str, ndim: int) -> bool:
    """True when the layout transform sends axis 0 of its input to the last axis of its output (a transpose that a
    banded copy speeds up): dense / conv kernels and 2-D transposes."""
    return ndim >= 2 and transform in (KERNEL, TRANSPOSE)


def _band(row_bytes: int) -> int:
    return _BAND_ROWS if row_bytes * _BAND_ROWS <= _BAND_LIMIT else 1


def to_backend(
    array: np.ndarray, transform: str, shape: Sequence[int], dtype: Any, *, pool: _BufferPool | None = None
) -> np.ndarray:
    """Canonical (PyTorch-layout) `array` -> an aligned C-contiguous array in the NNX layout of a variable of
    `shape` / `dtype` (floating tensors are cast to `dtype`; others keep their dtype), in one pass. An array that
    needs nothing (identity, same dtype, contiguous and aligned) is returned as it is."""
    result_dtype = _result_dtype(array.dtype, dtype)
    view = from_canonical(array, transform, shape=shape)
    if view is array and array.dtype == result_dtype and array.flags.c_contiguous and array.ctypes.data % _ALIGN == 0:
        return array
    out = pool.get(view.shape, result_dtype) if pool is not None else aligned_empty(view.shape, result_dtype)
    if _moves_first_axis_last(transform, array.ndim) and array.shape[0] > 1:
        band = _band(array[:1].nbytes)
        for start in range(0, array.shape[0], band):  # source rows `start:start+band` = the output's last axis
            np.copyto(out[..., start : start + band], from_canonical(array[start : start + band], transform),
                      casting="unsafe")
    else:
        np.copyto(out, view, casting="unsafe")
    return out


def to_canonical_host(value: Any, transform: str) -> np.ndarray:
    """A JAX / NumPy array in NNX layout -> a C-contiguous NumPy array in the canonical (PyTorch) layout: a zero-copy
    view where no transpose is needed (on CPU), else one copy (banded for 2-D kernels)."""
    array = np.asarray(value)
    view = to_canonical(array, transform)
    if view.flags.c_contiguous:
        return view
    out = aligned_empty(view.shape, array.dtype)
    if array.ndim == 2 and transform in (KERNEL, TRANSPOSE):
        band = _band(array[:1].nbytes)
        for start in range(0, array.shape[0], band):  # NNX rows `start:start+band` = canonical columns
            out[:, start : start + band] = array[start : start + band].T
    else:
        np.copyto(out, view)
    return out


def _file_order(reader: Any, keys: list[str]) -> list[str]:
    """`keys` sorted as the bytes lie on disk (shard, then offset): sequential reads."""
    files = list(getattr(getattr(reader, "checkpoint", None), "files", None) or [])

    def order(key: str) -> tuple[int, int, str]:
        info = reader.info(key)
        offset = getattr(info, "offset", None)
        return (files.index(info.file) if info.file in files else 0, offset if offset is not None else 0, key)

    return sorted(keys, key=order)


class Prefetcher:
    """Reads checkpoint tensors, in file order, into fresh aligned buffers on one background thread, at most
    `window` bytes ahead of what `take` has consumed.

    `from_pretrained` starts it before building the abstract model: the build is Python-bound (it holds the GIL),
    reading and first-touching fresh memory are not (`read_into` releases the GIL), so on two cores the checkpoint
    arrives while the model is built. Only readers with `read_into` (open safetensors files) are prefetched.
    """

    def __init__(self, reader: Any, *, window: int = _PREFETCH_WINDOW) -> None:
        self.reader = reader
        self.keys = _file_order(reader, list(reader.keys()))
        self.window = window
        self._ready: dict[str, np.ndarray | BaseException] = {}
        self._pending = 0  # bytes read and not yet taken
        self._condition = threading.Condition()
        self._skip: set[str] = set()  # keys the consumer dropped before they were read
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="pretrained-prefetch", daemon=True)

    @classmethod
    def start(cls, reader: Any) -> Prefetcher | None:
        if getattr(reader, "read_into", None) is None or not len(reader):
            return None
        prefetcher = cls(reader)
        prefetcher._thread.start()
        return prefetcher

    def _run(self) -> None:
        for key in self.keys:
            nbytes = self.reader.info(key).nbytes
            with self._condition:
                while not self._stop and self._pending > 0 and self._pending + nbytes > self.window:
                    self._condition.wait()
                if self._stop:
                    return
                if key in self._skip:
                    continue
            try:
                buffer: np.ndarray | BaseException = aligned_empty((nbytes,), np.uint8)
                if not self.reader.read_into(key, buffer):
                    buffer = _NotReadable(key)
            except BaseException as exc:  # handed to the consumer, raised where it takes this key
                buffer = exc
            with self._condition:
                self._ready[key] = buffer
                if isinstance(buffer, np.ndarray):
                    self._pending += buffer.nbytes
                self._condition.notify_all()

    def take(self, key: str) -> np.ndarray | None:
        """The raw bytes of `key` (a uint8 array; waits for them), or None where they cannot be read this way."""
        with self._condition:
            while key not in self._ready:
                if not self._thread.is_alive():
                    return None
                self._condition.wait(0.1)
            buffer = self._ready.pop(key)
            if isinstance(buffer, np.ndarray):
                self._pending -= buffer.nbytes
            self._condition.notify_all()
        if isinstance(buffer, _NotReadable):
            return None
        if isinstance(buffer, BaseException):
            raise buffer
        return buffer

    def discard(self, key: str) -> None:
        """Drop a tensor the load does not use (unexpected or mismatched): freed if read, else never read."""
        with self._condition:
            buffer = self._ready.pop(key, None)
            if isinstance(buffer, np.ndarray):
                self._pending -= buffer.nbytes
            elif buffer is None:
                self._skip.add(key)
            self._condition.notify_all()

    def close(self) -> None:
        with self._condition:
            self._stop = True
            self._condition.notify_all()
        self._thread.join()
        self._ready.clear()

    def __enter__(self) -> Prefetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _NotReadable(Exception):
    pass


class _BufferPool:
    """At most one spare buffer per byte size: the consumed raw buffer of one transposed tensor becomes the output
    of the next one of the same size, so a load first-touches about one checkpoint's worth of fresh memory."""

    def __init__(self) -> None:
        self._free: dict[int, np.ndarray] = {}

    def get(self, shape: Sequence[int], dtype: Any) -> np.ndarray:
        dtype = np.dtype(dtype)
        nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        spare = self._free.pop(nbytes, None)
        if spare is None:
            return aligned_empty(shape, dtype)
        return spare.view(dtype).reshape(shape)

    def put(self, buffer: np.ndarray) -> None:
        self._free.setdefault(buffer.nbytes, buffer.reshape(-1).view(np.uint8))


def load_into(
    variables: Mapping[str, Any], model_key_of: Mapping[str, str], reader: Any, prefetcher: Prefetcher | None = None
) -> None:
    """Stream the checkpoint tensors `model_key_of` names (checkpoint key -> model key) into the `nnx.Variable`s of
    `variables` (`CanonicalVariable`s), in file order.

    Where the reader can copy a tensor's bytes into a caller's buffer (`read_into`: an open safetensors file), each
    tensor is read into an aligned buffer (by `prefetcher` when given, ahead of time): identity tensors are used
    in place, transposed / cast ones are copied once into their final buffer. Otherwise `reader.get` supplies them.
    Each final buffer becomes the JAX array without a copy on CPU.
    """
    read_into = getattr(reader, "read_into", None)
    wanted = [k for k in model_key_of if k in reader]
    keys = prefetcher.keys if prefetcher is not None else (_file_order(reader, wanted) if read_into else wanted)
    wanted_set = set(wanted)
    pool = _BufferPool()
    scratch: np.ndarray | None = None
    bar = progress.bar(total=len(wanted), desc="Loading weights", unit="tensor",
                       enabled=reader.total_bytes() > progress.MIN_BYTES_FOR_BAR)
    with bar:
        for key in keys:
            if key not in wanted_set:
                if prefetcher is not None:
                    prefetcher.discard(key)
                continue
            var = variables[model_key_of[key]]
            shape, dtype = var.shape, var.dtype
            array = None
            raw = None
            if prefetcher is not None:
                raw = prefetcher.take(key)
            elif read_into is not None:
                info = reader.info(key)
                identity = var.transform == IDENTITY and _result_dtype(info.dtype, dtype) == np.dtype(info.dtype)
                if not identity and (scratch is None or scratch.nbytes < info.nbytes):
                    scratch = aligned_empty((info.nbytes,), np.uint8)
                raw = aligned_empty((info.nbytes,), np.uint8) if identity else scratch[: info.nbytes]
                if not read_into(key, raw):
                    raw = None
            if raw is not None:
                info = reader.info(key)
                source = raw.view(jnp.dtype(info.dtype)).reshape(info.shape)
                array = to_backend(source, var.transform, shape, dtype, pool=pool)
                if array is not source and prefetcher is not None:  # consumed: the next output of its size
                    pool.put(raw)
            if array is None:
                from ..checkpoint import to_numpy

                value = to_numpy(reader.get(key))
                array = to_backend(value, var.transform, shape, dtype)
                if array is value:  # in-memory tensors (another model's): never adopted, the JAX array gets a copy
                    array = aligned_empty(value.shape, value.dtype)
                    np.copyto(array, value)
            var.variable.set_value(jax.device_put(array))
            del array, raw
            bar.update(1)
