"""Reading part of a tensor: the byte runs a rectangular slice of a C-contiguous tensor occupies, and a read of
just those bytes — what a rank of a sharded load reads instead of the whole tensor.

A slice is one `(start, stop)` pair per dimension. The dimensions after the last one that is cut form contiguous
blocks, so a row slice of a matrix is one run of bytes and a column slice one run per row.

Example:
    >>> byte_runs((4, 6), 4, [(2, 4), (0, 6)])      # rows 2-3: one run
    [(48, 48)]
    >>> byte_runs((4, 6), 4, [(0, 2), (3, 6)])      # columns 3-5 of rows 0-1: one run per row
    [(12, 12), (36, 12)]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ._format import numpy_dtype
from ._memory import to_numpy

Index = Sequence[tuple[int, int]]


def full_index(shape: Sequence[int]) -> list[tuple[int, int]]:
    """The slice covering a whole tensor of `shape`.

    >>> full_index((2, 3))
    [(0, 2), (0, 3)]
    """
    return [(0, int(size)) for size in shape]


def byte_runs(shape: Sequence[int], itemsize: int, index: Index) -> list[tuple[int, int]]:
    """`(offset, nbytes)` of each contiguous run of bytes that the slice `index` of a C-contiguous tensor of `shape`
    occupies, in increasing offset order (offsets from the tensor's first byte)."""
    shape = [int(size) for size in shape]
    index = [(int(start), int(stop)) for start, stop in index]
    if len(index) != len(shape) or any(not 0 <= a <= b <= n for (a, b), n in zip(index, shape)):
        raise ValueError(f"slice {index} does not fit a tensor of shape {tuple(shape)}")
    if any(a == b for a, b in index):
        return []
    strides = [itemsize] * len(shape)
    for dim in range(len(shape) - 2, -1, -1):
        strides[dim] = strides[dim + 1] * shape[dim + 1]
    cut = max([dim for dim, ((a, b), n) in enumerate(zip(index, shape)) if (a, b) != (0, n)], default=-1)
    if cut < 0:
        return [(0, itemsize * int(np.prod(shape, dtype=np.int64)))]
    start, stop = index[cut]
    run = (stop - start) * strides[cut]
    offsets = np.zeros(1, np.int64)
    for dim in range(cut):
        a, b = index[dim]
        offsets = (offsets[:, None] + np.arange(a, b, dtype=np.int64)[None, :] * strides[dim]).reshape(-1)
    return [(int(offset) + start * strides[cut], run) for offset in offsets]


def read_slice(reader: Any, key: str, index: Index, *, empty: Callable[..., np.ndarray] = np.empty) -> np.ndarray:
    """The slice `index` of tensor `key` as a new C-contiguous NumPy array, reading only its bytes where the reader
    can (`read_runs`: a safetensors file) into `empty(shape, dtype)`; other readers (in memory, legacy `.bin`)
    slice the whole tensor.

    >>> from pretrained.checkpoint import MemoryReader
    >>> read_slice(MemoryReader({"w": np.arange(6).reshape(2, 3)}), "w", [(0, 2), (1, 2)]).tolist()
    [[1], [4]]
    """
    info = reader.info(key)
    dtype = np.dtype(numpy_dtype(info.dtype))
    shape = tuple(b - a for a, b in index)
    runs = byte_runs(info.shape, dtype.itemsize, index)
    if not runs:  # an empty slice (the last ranks of an uneven split)
        return np.empty(shape, dtype)
    if callable(getattr(reader, "read_runs", None)):
        out = empty(shape, dtype)
        if reader.read_runs(key, runs, out):
            return out
    whole = to_numpy(reader.get(key))
    return np.ascontiguousarray(whole[tuple(slice(a, b) for a, b in index)])
