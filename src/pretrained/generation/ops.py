"""The tensor operations generation needs, as one small interface each backend implements once.

Logits processors, stopping criteria, greedy / sampling / beam search are written once against
[`ArrayOps`][pretrained.generation.ops.ArrayOps] (the pattern of Keras 3's `backend/common`): PyTorch, TensorFlow and
JAX each supply the primitives (`topk`, `where`, `take_along_axis`, a loop, a sampler, ...), and the helpers below
(`put_column`, `column`, `isin`, ...) are built from them. Everything works on static shapes: a sequence buffer of
`max_length` columns whose first `cur_len` are filled, with `cur_len` a Python int (PyTorch) or a traced scalar
(TensorFlow under XLA, JAX under `jit`).

A processor called directly on tensors finds its backend with [`ops_for`][pretrained.generation.ops.ops_for]
(the backend module registers itself when first imported). The core never imports a framework.

Example:
    >>> from pretrained.generation.ops import ArrayOps, backend_of
    >>> backend_of([1, 2]) is None
    True
    >>> sorted(name for name in ArrayOps.__abstractmethods__)[:4]
    ['all', 'any', 'arange', 'argmax']
"""

from __future__ import annotations

import abc
import importlib
from collections.abc import Callable, Sequence
from typing import Any

# a tensor's top-level module -> the pretrained module that registers its ops
_BACKEND_MODULES = {"torch": "pretrained.torch.generation", "tensorflow": "pretrained.tf.generation",
                    "keras": "pretrained.tf.generation", "jax": "pretrained.flax.generation",
                    "jaxlib": "pretrained.flax.generation"}
_REGISTRY: dict[str, ArrayOps] = {}

NEG_INF = float("-inf")
FLOAT32_MAX = 3.4028234663852886e38


def register_ops(module: str, ops: ArrayOps) -> None:
    """Make `ops` serve the tensors of `module` (its backend's generation module calls this on import)."""
    _REGISTRY[module] = ops


def backend_of(tensor: Any) -> str | None:
    """The pretrained module serving `tensor`'s framework, or None for a non-tensor."""
    root = type(tensor).__module__.split(".", 1)[0]
    return _BACKEND_MODULES.get(root)


def ops_for(tensor: Any) -> ArrayOps:
    """The `ArrayOps` of `tensor`'s framework (imports that backend's generation module on first use)."""
    module = backend_of(tensor)
    if module is None:
        raise TypeError(f"expected a PyTorch, TensorFlow or JAX tensor, got {type(tensor).__name__}")
    if module not in _REGISTRY:
        importlib.import_module(module)
    return _REGISTRY[module].bind(tensor)


class ArrayOps(abc.ABC):
    """Primitives every backend implements (last-axis semantics unless stated), plus helpers built on them.

    `static` is False for PyTorch (eager, Python `cur_len`, scores kept as tuples, user processors see
    `input_ids[:, :cur_len]`) and True for TensorFlow and JAX (fixed buffers, traceable loop, user processors get
    `(input_ids, scores, cur_len)` as in transformers v4's TF / Flax). Dtype names: "int", "float", "bool".
    """

    static: bool = True

    def bind(self, tensor: Any) -> ArrayOps:
        """These ops, set up for `tensor` (e.g. to create new tensors on its device)."""
        return self

    # ---------------------------------------------------------------------------------------- creation
    @abc.abstractmethod
    def asarray(self, value: Any, dtype: str) -> Any:
        """A tensor from a Python list / NumPy array."""

    @abc.abstractmethod
    def full(self, shape: Sequence[int], value: Any, dtype: str) -> Any:
        """A tensor of `shape` filled with `value` (a Python number or a scalar tensor)."""

    @abc.abstractmethod
    def arange(self, n: int) -> Any:
        """`0 .. n-1` as ints."""

    @abc.abstractmethod
    def scalar(self, value: int) -> Any:
        """The loop counter `cur_len`: a Python int (eager backends) or an int scalar tensor."""

    # ---------------------------------------------------------------------------------------- elementwise
    @abc.abstractmethod
    def where(self, cond: Any, x: Any, y: Any) -> Any:
        """`x` where `cond`, else `y` (broadcasting)."""

    @abc.abstractmethod
    def cast(self, x: Any, dtype: str) -> Any:
        """`x` as "int", "float" or "bool"."""

    @abc.abstractmethod
    def shape(self, x: Any) -> tuple[int, ...]:
        """The static shape (Python ints)."""

    @abc.abstractmethod
    def reshape(self, x: Any, shape: Sequence[int]) -> Any:
        """`x` reshaped."""

    @abc.abstractmethod
    def concat(self, xs: Sequence[Any], axis: int) -> Any:
        """Concatenation along `axis`."""

    @abc.abstractmethod
    def repeat(self, x: Any, repeats: int) -> Any:
        """Each row of `x` repeated `repeats` times along axis 0 (`repeat_interleave`)."""

    # ---------------------------------------------------------------------------------------- reductions
    @abc.abstractmethod
    def any(self, x: Any, axis: int | None = None, keepdims: bool = False) -> Any:
        """Logical or."""

    @abc.abstractmethod
    def all(self, x: Any, axis: int | None = None, keepdims: bool = False) -> Any:
        """Logical and."""

    @abc.abstractmethod
    def sum(self, x: Any, axis: int | None = None, keepdims: bool = False) -> Any:
        """Sum."""

    @abc.abstractmethod
    def max(self, x: Any, axis: int | None = None, keepdims: bool = False) -> Any:
        """Maximum."""

    @abc.abstractmethod
    def min(self, x: Any, axis: int | None = None, keepdims: bool = False) -> Any:
        """Minimum."""

    @abc.abstractmethod
    def argmax(self, x: Any) -> Any:
        """Index of the maximum along the last axis (first one on ties)."""

    # ---------------------------------------------------------------------------------------- numerics
    @abc.abstractmethod
    def softmax(self, x: Any) -> Any:
        """Softmax over the last axis."""

    @abc.abstractmethod
    def log_softmax(self, x: Any) -> Any:
        """Log-softmax over the last axis."""

    @abc.abstractmethod
    def cumsum(self, x: Any) -> Any:
        """Cumulative sum over the last axis."""

    # ---------------------------------------------------------------------------------------- selection
    @abc.abstractmethod
    def topk(self, x: Any, k: int) -> tuple[Any, Any]:
        """The `k` largest values (descending) and their indices; lower index first on ties."""

    @abc.abstractmethod
    def sort(self, x: Any) -> tuple[Any, Any]:
        """Values sorted ascending and the indices that sort them."""

    @abc.abstractmethod
    def take_along_axis(self, x: Any, indices: Any) -> Any:
        """`x[..., indices]` row by row (indices have `x`'s rank)."""

    @abc.abstractmethod
    def take(self, x: Any, indices: Any, axis: int) -> Any:
        """Slices of `x` along `axis` at `indices` (an int tensor, or a scalar index that drops the axis)."""

    @abc.abstractmethod
    def gather_beams(self, x: Any, indices: Any) -> Any:
        """`x[b, indices[b]]` for `x` of shape (batch, beams, ...) and `indices` (batch, k)."""

    @abc.abstractmethod
    def token_presence(self, ids: Any, valid: Any, vocab_size: int) -> Any:
        """(batch, vocab) bools: which tokens occur in `ids` (batch, n) at the positions where `valid` is True."""

    # ---------------------------------------------------------------------------------------- control
    @abc.abstractmethod
    def while_loop(self, cond: Callable[[Any], Any], body: Callable[[Any], Any], state: Any) -> Any:
        """Run `state = body(state)` while `cond(state)`."""

    @abc.abstractmethod
    def sample(self, rng: Any, logits: Any, num_samples: int) -> tuple[Any, Any]:
        """Draw `num_samples` indices per row from `softmax(logits)` (without replacement); returns the next rng
        state and the (batch, num_samples) indices."""

    @abc.abstractmethod
    def callback(self, fn: Callable[[Any], None], value: Any) -> None:
        """Call `fn(value)` on the host, in step order (a streamer)."""

    @abc.abstractmethod
    def host_int(self, value: Any) -> int | None:
        """`value` as a Python int, or None while tracing (the value is not known yet)."""

    # ---------------------------------------------------------------------------------------- helpers
    def update_step(self, buffer: Any, step: Any, value: Any) -> Any:
        """Write `value` (rows, ...) into `buffer` (rows, steps, ...) at `step` (backends may override)."""
        steps = self.shape(buffer)[1]
        selector = self.reshape(self.arange(steps) == step, (1, steps, *([1] * (len(self.shape(buffer)) - 2))))
        expanded = self.reshape(value, (self.shape(value)[0], 1, *self.shape(value)[1:]))
        return self.where(selector, expanded, buffer)

    def put_column(self, buffer: Any, index: Any, values: Any) -> Any:
        """`buffer` with `buffer[..., index] = values` (`index` may be traced)."""
        return self.where(self.arange(self.shape(buffer)[-1]) == index, values[..., None], buffer)

    def column(self, buffer: Any, index: Any) -> Any:
        """`buffer[..., index]` for a possibly traced `index` (0 where `index` is out of range)."""
        hit = self.arange(self.shape(buffer)[-1]) == index
        return self.sum(self.where(hit, buffer, 0), axis=-1)

    def isin(self, x: Any, values: Sequence[int]) -> Any:
        """Bools: which elements of `x` are among the ints `values`."""
        return self.any(x[..., None] == self.asarray(list(values), "int"), axis=-1)

    def vocab_mask(self, vocab_size: int, tokens: Sequence[int]) -> Any:
        """(vocab,) bools, True at `tokens`."""
        return self.isin(self.arange(vocab_size), tokens)

    def batch_full(self, rows: int, value: Any) -> Any:
        """(rows,) copies of a possibly traced bool."""
        return self.full((rows,), value, "bool")


__all__ = ["FLOAT32_MAX", "NEG_INF", "ArrayOps", "backend_of", "ops_for", "register_ops"]
