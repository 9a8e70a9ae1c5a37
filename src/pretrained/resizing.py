"""Framework-free rules of `resize_token_embeddings`, shared by the three backends.

Example:
    >>> import numpy as np
    >>> from pretrained.resizing import new_vocab_size, resized_rows
    >>> new_vocab_size(10, 13, pad_to_multiple_of=8)
    16
    >>> old = np.random.default_rng(0).normal(size=(10, 4)).astype(np.float32)
    >>> resized_rows(old, 12, mean_resizing=True, rng=np.random.default_rng(0)).shape
    (12, 4)
"""

from __future__ import annotations

import numpy as np

from .utils import logging

logger = logging.get_logger(__name__)


def new_vocab_size(current: int, new_num_tokens: int | None, *, pad_to_multiple_of: int | None) -> int:
    """The size an embedding is resized to: `new_num_tokens` (or the current size) rounded up to the multiple."""
    if pad_to_multiple_of is not None:
        if isinstance(pad_to_multiple_of, bool) or not isinstance(pad_to_multiple_of, int):
            raise ValueError(
                f"Asking to pad the embedding matrix to a multiple of `{pad_to_multiple_of}`, which is not and integer. "
                "Please make sure to pass an integer"
            )
        if pad_to_multiple_of <= 0:
            raise ValueError(f"pad_to_multiple_of must be a positive integer, got {pad_to_multiple_of}")
    target = current if new_num_tokens is None else new_num_tokens
    if isinstance(target, bool) or not isinstance(target, int) or target <= 0:
        raise ValueError(f"new_num_tokens must be a positive integer, got {new_num_tokens!r}")
    if pad_to_multiple_of is not None:
        target = -(-target // pad_to_multiple_of) * pad_to_multiple_of
    return target


def resized_rows(
    old: np.ndarray,
    new_rows: int,
    *,
    mean_resizing: bool,
    rng: np.random.Generator | None = None,
    init: np.ndarray | None = None,
) -> np.ndarray:
    """A `(new_rows, dim)` matrix: the first rows copied from `old`; added rows drawn from a normal with the old
    rows' mean and 1e-9 x their covariance (`mean_resizing=True`, transformers v4.46+) or taken from `init`
    (the model's own initialiser, `mean_resizing=False`)."""
    old_rows, dim = old.shape
    keep = min(old_rows, new_rows)
    out = np.empty((new_rows, dim), dtype=old.dtype)
    out[:keep] = old[:keep]
    added = new_rows - old_rows
    if added <= 0:
        return out
    if mean_resizing:
        out[old_rows:] = sample_like_rows(old, added, rng=rng).astype(old.dtype)
    else:
        if init is None or init.shape != (new_rows, dim):
            raise ValueError("resized_rows(mean_resizing=False) needs `init` of the new shape")
        out[old_rows:] = init[old_rows:]
    return out


def sample_like_rows(old: np.ndarray, count: int, *, rng: np.random.Generator | None = None) -> np.ndarray:
    """`count` rows from N(mean(old), 1e-9 * cov(old)), computed in float32; the mean when cov is not PD."""
    rng = rng or np.random.default_rng()
    weights = np.asarray(old, dtype=np.float32)
    mean = weights.mean(axis=0)
    centered = weights - mean
    covariance = centered.T @ centered / weights.shape[0]
    try:
        lower = np.linalg.cholesky((1e-9 * covariance).astype(np.float64))
    except np.linalg.LinAlgError:
        logger.info("covariance of the old embeddings is not positive definite: new rows are set to the mean")
        return np.tile(mean, (count, 1))
    noise = rng.standard_normal((count, weights.shape[1]))
    return (mean + noise @ lower.T).astype(np.float32)


def resized_bias(old: np.ndarray, new_size: int, *, mean_resizing: bool, rng: np.random.Generator | None = None) -> np.ndarray:
    """An output bias resized like its embedding: kept entries, new ones ~ N(mean, 1e-9 * std) or zero."""
    out = np.zeros((new_size,), dtype=old.dtype)
    keep = min(old.shape[0], new_size)
    out[:keep] = old[:keep]
    added = new_size - old.shape[0]
    if added > 0 and mean_resizing:
        rng = rng or np.random.default_rng()
        values = np.asarray(old, dtype=np.float32)
        out[old.shape[0]:] = rng.normal(values.mean(), 1e-9 * values.std(), size=added).astype(old.dtype)
    return out
