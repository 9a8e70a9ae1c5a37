"""Host-side tensor moves for Flax loads and saves: checkpoint bytes -> JAX arrays and back, one copy each way.

Loading a dense kernel means a transpose (PyTorch `(out, in)` -> NNX `(in, out)`). A plain `np.ascontiguousarray`
of the transposed view walks one side with a large stride (30 ms for a 4096 x 1024 float32 matrix); JAX's
`jnp.asarray` of it is slower still. Copying it in bands of 16 source rows keeps both sides in cache (~5 ms), so
the transposes of a BERT-large load drop from ~3.5 s to ~0.4 s. Buffers are 64-byte aligned so that
`jax.device_put` on CPU adopts them instead of copying, and identity tensors are read by the reader straight into
the buffer that becomes the JAX array.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from ..checkpoint import ALIGN, LazyTensor, aligned_empty
from ..layout import KERNEL, TRANSPOSE, CanonicalVariable, from_canonical, to_canonical
from .loading import is_float

_BAND_ROWS = 16  # rows per band of a banded transpose (measured best for 1024- and 4096-wide float32 matrices)
_BAND_LIMIT = 1 << 20  # bytes: wider bands than this gain nothing from banding
_SPLIT_MIN_BYTES = 8 << 20  # transposes this large are split over the copy threads (NumPy's copy drops the GIL)
_COPY_THREADS = max(1, min(4, os.cpu_count() or 1))
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _copy_pool() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(_COPY_THREADS, thread_name_prefix="pretrained-transpose")
        return _pool


def _banded_copy(out: np.ndarray, array: np.ndarray, transform: str) -> None:
    """`out[...] = from_canonical(array, transform)` for a transform that sends the source's first axis last, copied
    in bands of source rows; large arrays are split by rows over `_COPY_THREADS` threads."""
    rows = array.shape[0]
    band = _band(array[:1].nbytes)

    def copy(lo: int, hi: int) -> None:
        for start in range(lo, hi, band):  # source rows `start:start+band` = the output's last axis
            stop = min(start + band, hi)
            np.copyto(out[..., start:stop], from_canonical(array[start:stop], transform), casting="unsafe")

    parts = _COPY_THREADS if array.nbytes >= _SPLIT_MIN_BYTES and rows >= 2 * band * _COPY_THREADS else 1
    if parts == 1:
        copy(0, rows)
        return
    step = -(-rows // parts // band) * band
    futures = [_copy_pool().submit(copy, lo, min(lo + step, rows)) for lo in range(step, rows, step)]
    copy(0, min(step, rows))
    for future in futures:
        future.result()


def _result_dtype(source: Any, target: Any) -> np.dtype:
    """The loaded dtype: the variable's when both are floating (a cast on the way), else the checkpoint's."""
    return np.dtype(target) if is_float(target) and is_float(source) else np.dtype(source)


def _moves_first_axis_last(transform: str, ndim: int) -> bool:
    """True when the layout transform sends axis 0 of its input to the last axis of its output (a transpose that a
    banded copy speeds up): dense / conv kernels and 2-D transposes."""
    return ndim >= 2 and transform in (KERNEL, TRANSPOSE)


def _band(row_bytes: int) -> int:
    return _BAND_ROWS if row_bytes * _BAND_ROWS <= _BAND_LIMIT else 1


def to_backend(array: np.ndarray, transform: str, shape: Sequence[int], dtype: Any, *,
               empty: Callable[[Sequence[int], Any], np.ndarray] = aligned_empty) -> np.ndarray:
    """Canonical (PyTorch-layout) `array` -> an aligned C-contiguous array in the NNX layout of a variable of
    `shape` / `dtype` (floating tensors are cast to `dtype`; others keep their dtype), in one pass, into a buffer
    from `empty(shape, dtype)`. An array that needs nothing (identity, same dtype, contiguous and aligned) is
    returned as it is."""
    result_dtype = _result_dtype(array.dtype, dtype)
    view = from_canonical(array, transform, shape=shape)
    if view is array and array.dtype == result_dtype and array.flags.c_contiguous and array.ctypes.data % ALIGN == 0:
        return array
    out = empty(view.shape, result_dtype)
    if _moves_first_axis_last(transform, array.ndim) and array.shape[0] > 1:
        _banded_copy(out, array, transform)
    else:
        np.copyto(out, view, casting="unsafe")
    return out


def lazy_canonical(variable: CanonicalVariable, dtype: str) -> LazyTensor:
    """A `LazyTensor` of an NNX variable for the streaming writer: the value is viewed as NumPy (zero-copy on CPU)
    in canonical layout only when the writer reaches it, which copies a transposed view out in bounded bands.

    >>> from flax import nnx
    >>> from pretrained.flax import canonical_variables
    >>> kernel = [v for v in canonical_variables(nnx.Linear(3, 2, rngs=nnx.Rngs(0))) if v.key == "weight"][0]
    >>> lazy = lazy_canonical(kernel, "float32"); lazy.shape, lazy.materialize().shape
    ((2, 3), (2, 3))
    """

    def read() -> np.ndarray:
        return to_canonical(np.asarray(variable.variable.get_value()), variable.transform)

    return LazyTensor(dtype, variable.canonical_shape, read=read, alias=("variable", id(variable.variable)))


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
