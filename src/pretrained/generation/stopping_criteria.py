"""Stopping criteria, written once for PyTorch, TensorFlow and JAX (transformers v4's names).

A criterion returns one bool per row: True where that sequence is done. `generate()` always adds
`MaxLengthCriteria` and, when an end-of-sequence token is known, `EosTokenCriteria`; yours are added after them.

Example:
    >>> import torch
    >>> from pretrained.generation.stopping_criteria import EosTokenCriteria, MaxLengthCriteria, StoppingCriteriaList
    >>> criteria = StoppingCriteriaList([MaxLengthCriteria(max_length=4), EosTokenCriteria(eos_token_id=2)])
    >>> criteria(torch.tensor([[5, 6, 2], [5, 6, 7]]), None)
    tensor([ True, False])
    >>> criteria.max_length
    4
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from ..errors import ConfigError
from .ops import ArrayOps, ops_for


class StoppingCriteria:
    """Base class: `criteria(input_ids, scores)` (PyTorch) or `criteria(input_ids, scores, cur_len)` (TF / Flax)
    returns a (batch,) bool tensor. Override `__call__` in your own criteria; built-ins implement `apply`."""

    def __call__(self, input_ids: Any, scores: Any, cur_len: Any = None, **kwargs: Any) -> Any:
        xp = ops_for(input_ids)
        return self.apply(xp, input_ids, scores, xp.shape(input_ids)[-1] if cur_len is None else cur_len)

    def apply(self, xp: ArrayOps, input_ids: Any, scores: Any, cur_len: Any) -> Any:
        """(rows,) bools for `input_ids` (rows, length) whose first `cur_len` columns are filled."""
        raise NotImplementedError(f"{type(self).__name__} must implement `__call__` (or `apply`)")


class StoppingCriteriaList(list):
    """Criteria combined with a logical or."""

    def __call__(self, input_ids: Any, scores: Any, cur_len: Any = None, **kwargs: Any) -> Any:
        done = None
        for criteria in self:
            result = criteria(input_ids, scores, **kwargs) if cur_len is None else criteria(input_ids, scores, cur_len)
            done = result if done is None else done | result
        if done is None:
            xp = ops_for(input_ids)
            return xp.full((xp.shape(input_ids)[0],), False, "bool")
        return done

    @property
    def max_length(self) -> int | None:
        """The `max_length` of the list's `MaxLengthCriteria`, if any."""
        for criteria in self:
            if isinstance(criteria, MaxLengthCriteria):
                return criteria.max_length
        return None


class MaxLengthCriteria(StoppingCriteria):
    """Done once the sequence (prompt included) has `max_length` tokens."""

    def __init__(self, max_length: int, max_position_embeddings: int | None = None) -> None:
        if isinstance(max_length, bool) or not isinstance(max_length, int) or max_length < 1:
            raise ConfigError(f"`max_length` has to be a positive integer, but is {max_length!r}")
        self.max_length = max_length
        self.max_position_embeddings = max_position_embeddings

    def apply(self, xp: ArrayOps, input_ids: Any, scores: Any, cur_len: Any) -> Any:
        return xp.batch_full(xp.shape(input_ids)[0], cur_len >= self.max_length)


class EosTokenCriteria(StoppingCriteria):
    """Done once the last token is one of `eos_token_id`."""

    def __init__(self, eos_token_id: int | Sequence[int]) -> None:
        ids = [eos_token_id] if isinstance(eos_token_id, int) else list(eos_token_id)
        if not ids or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
            raise ConfigError(f"`eos_token_id` has to be an int or a list of ints, but is {eos_token_id!r}")
        self.eos_token_id = ids

    def apply(self, xp: ArrayOps, input_ids: Any, scores: Any, cur_len: Any) -> Any:
        return xp.isin(xp.column(input_ids, cur_len - 1), self.eos_token_id)


class MaxTimeCriteria(StoppingCriteria):
    """Done once `max_time` seconds passed since `initial_timestamp` (default: now). Wall-clock time is read on
    the host, so this criterion needs an eager loop (PyTorch, or TensorFlow outside `tf.function`)."""

    def __init__(self, max_time: float, initial_timestamp: float | None = None) -> None:
        self.max_time = max_time
        self.initial_timestamp = time.time() if initial_timestamp is None else initial_timestamp

    def apply(self, xp: ArrayOps, input_ids: Any, scores: Any, cur_len: Any) -> Any:
        if xp.host_int(cur_len) is None:
            raise ValueError("MaxTimeCriteria needs an eager generation loop (not `tf.function` / `jax.jit`).")
        return xp.batch_full(xp.shape(input_ids)[0], time.time() - self.initial_timestamp > self.max_time)


__all__ = ["EosTokenCriteria", "MaxLengthCriteria", "MaxTimeCriteria", "StoppingCriteria", "StoppingCriteriaList"]
