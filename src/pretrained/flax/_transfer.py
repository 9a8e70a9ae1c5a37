"""Host-side tensor moves for Flax loads and saves: checkpoint bytes -> JAX arrays and back, one copy each way.

Loading a dense kernel means a transpose (PyTorch `(out, in)` -> NNX `(in, out)`). A plain `np.ascontiguousarray`
of the transposed view walks one side with a large stride (30 ms for a 4096 x 1024 float32 matrix); JAX's
`jnp.asarray` of it is slower still. Copying it in bands of source rows keeps both sides in cache (~11 ms, split over
the copy threads: `pretrained.checkpoint.copy_banded`, which saves use too). Buffers are 64-byte aligned so that
`jax.device_put` on CPU adopts them instead of copying, and identity tensors are read by the reader straight into
the buffer that becomes the JAX array.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..checkpoint import ALIGN, LazyTensor, aligned_empty, copy_banded
from ..layout import CanonicalVariable, from_canonical, to_canonical
from .loading import is_float


def _result_dtype(source: Any, target: Any) -> np.dtype:
    """The loaded dtype: the variable's when both are floating (a cast on the way), else the checkpoint's."""
    return np.dtype(target) if is_float(target) and is_float(source) else np.dtype(source)


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
    copy_banded(view, out, casting="unsafe", parallel=True)
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
    view where no transpose is needed (on CPU), else one banded copy."""
    array = np.asarray(value)
    view = to_canonical(array, transform)
    if view.flags.c_contiguous:
        return view
    out = aligned_empty(view.shape, array.dtype)
    copy_banded(view, out)
    return out
