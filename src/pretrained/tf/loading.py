"""Building a Keras model without random init, and streaming checkpoint tensors into its variables.

The loader builds a model inside [`deferred_variables`][pretrained.tf.loading.deferred_variables]: Keras 3 then
creates every variable *uninitialised* (its initializer is kept, no tensor is allocated), and
[`initialize_variable`][pretrained.tf.loading.initialize_variable] later creates each one directly from the
checkpoint tensor ([`tensor_for_variable`][pretrained.tf.loading.tensor_for_variable]: one copy from the file, kernels
transposed by TensorFlow), or from its own initializer when the checkpoint lacks it.

Example:
    >>> import numpy as np
    >>> from pretrained.tf.loading import to_variable_layout
    >>> to_variable_layout(np.zeros((4, 3), np.float32), "kernel", (3, 4)).shape  # a torch Linear weight -> kernel
    TensorShape([3, 4])
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from keras.src.backend.common import global_state
from keras.src.backend.common.stateless_scope import StatelessScope

from ..checkpoint import StreamedTensor, to_numpy
from ..layout import DEPTHWISE, IDENTITY, KERNEL, TRANSPOSE, from_canonical
from .variables import _CARRIERS, _FAST_DTYPES, _as_tensor

_REGISTRY = "uninitialized_variables"  # Keras 3's list of deferred variables (keras/src/backend/common/variables.py)


@contextlib.contextmanager
def deferred_variables() -> Iterator[list[Any]]:
    """Create Keras variables without initialising them; yields the list that receives them on exit.

    Inside, layers can be constructed and built (call them on `keras.KerasTensor`s: a symbolic call costs no
    compute); each variable keeps its initializer and holds no tensor. Every variable in the list must then go
    through [`initialize_variable`][pretrained.tf.variables.initialize_variable].

    Example:
        >>> import keras
        >>> from pretrained.tf.loading import deferred_variables, initialize_variable
        >>> with deferred_variables() as created:
        ...     dense = keras.layers.Dense(2)
        ...     dense.build((None, 3))
        >>> for variable in created:
        ...     initialize_variable(variable)
        >>> dense.kernel.shape
        TensorShape([3, 2])
    """
    before = global_state.get_global_attribute(_REGISTRY, [], set_to_default=True)
    global_state.set_global_attribute(_REGISTRY, _CheapPlaceholders())
    created: list[Any] = []
    try:
        with StatelessScope(initialize_variables=False):
            yield created
    finally:
        created.extend(global_state.get_global_attribute(_REGISTRY) or [])
        global_state.set_global_attribute(_REGISTRY, before)


class _CheapPlaceholders(list):
    """The deferred-variable registry while building: an uninitialised variable read during the symbolic trace
    yields `initializer(shape)`; swap in zeros for that (restored by `initialize_variable`)."""

    def append(self, variable: Any) -> None:
        variable._pretrained_initializer = variable._initializer
        variable._initializer = _zeros
        super().append(variable)


def _zeros(shape: Any, dtype: Any = None) -> Any:
    return tf.zeros(shape, dtype=dtype)


def is_initialized(variable: Any) -> bool:
    return getattr(variable, "_value", None) is not None


def initialize_variable(variable: Any, value: Any = None) -> None:
    """Give a deferred variable its first value: `value` (an array or tensor, cast to the variable's dtype), or its
    own initializer.

    A variable that already holds a value is assigned instead.
    """
    original = variable.__dict__.pop("_pretrained_initializer", None)
    if original is not None and not is_initialized(variable):
        variable._initializer = original
    if value is None:
        if not is_initialized(variable):
            variable._deferred_initialize()
        return
    if is_initialized(variable):
        variable.assign(_as_tensor(value, variable.dtype))
        return
    variable._initializer = lambda shape, dtype: _as_tensor(value, dtype)
    variable._deferred_initialize()


def to_variable_layout(array: Any, transform: str, shape: Sequence[int]) -> tf.Tensor:
    """A canonical (PyTorch-layout) array or tensor as a TF tensor in the variable's layout ([`pretrained.layout`]
    [pretrained.layout]'s `from_canonical`). Permutations run in TensorFlow (multi-threaded, no NumPy copy)."""
    tensor = array if tf.is_tensor(array) else None
    permuted = _permute_in_tf(tensor if tensor is not None else array, transform, shape)
    if permuted is not None:
        return permuted
    if tensor is not None:
        array = tensor.numpy()
    return tf.convert_to_tensor(np.ascontiguousarray(from_canonical(array, transform, shape=shape)))


def _axes(transform: str, ndim: int) -> tuple[int, ...]:
    """The permutation of `from_canonical(transform)` for a canonical array of rank `ndim`."""
    if transform == KERNEL and ndim >= 2:  # canonical (out, in, *spatial) -> Keras (*spatial, in, out)
        return (*range(2, ndim), 1, 0)
    if transform == TRANSPOSE:
        return tuple(range(ndim))[::-1]
    if transform == DEPTHWISE and ndim == 4:  # (out, 1, kh, kw) -> (kh, kw, 1, out), then split out
        return (2, 3, 1, 0)
    return tuple(range(ndim))


def _keeps_order(shape: Sequence[int], axes: Sequence[int]) -> bool:
    """Whether permuting `shape` by `axes` keeps the memory order (only size-1 axes move): a reshape, no copy."""
    moved = [axis for axis in axes if shape[axis] != 1]
    return moved == sorted(moved)


def _permute_in_tf(value: Any, transform: str, shape: Sequence[int]) -> tf.Tensor | None:
    """`from_canonical` done by TensorFlow where it is a transpose (+ reshape); None for other transforms."""
    ndim = len(value.shape)
    if transform == DEPTHWISE and ndim != 4 or transform not in (IDENTITY, KERNEL, TRANSPOSE, DEPTHWISE):
        return None
    axes = _axes(transform, ndim)
    if isinstance(value, np.ndarray) and not value.flags.c_contiguous:
        permuted = np.transpose(value, axes)
        if permuted.flags.c_contiguous:  # a view of a kernel already in Keras layout (e.g. from Flax): one copy
            value, axes = permuted, tuple(range(ndim))
    tensor = tf.convert_to_tensor(value)
    if axes != tuple(range(ndim)):
        tensor = tf.transpose(tensor, axes)
    if transform == DEPTHWISE:  # (kh, kw, 1, out) -> (kh, kw, out // mult, mult)
        kh, kw, _, out = (int(d) for d in tensor.shape)
        tensor = tf.reshape(tensor, (kh, kw, out // int(shape[-1]), int(shape[-1])))
    return tensor


# ----------------------------------------------------------------------------------------------- streamed reads
def tensor_for_variable(tensor: StreamedTensor, transform: str, shape: Sequence[int]) -> tuple[tf.Tensor, bool]:
    """A streamed checkpoint tensor as a TF tensor in a variable's layout, and whether `tensor.raw` was copied
    (so the stream may reuse it).

    The aligned buffer of a tensor stored as the variable holds it (biases, norms, embeddings) is adopted by
    TensorFlow through DLPack (no copy; `tf.Variable` then adopts the tensor, no copy either). A permuted tensor
    (kernels) is transposed by TensorFlow into a new buffer (multi-threaded) and its source buffer is recycled.
    Tensors without a buffer (in-memory states, legacy `.bin`, unusual dtypes) go through NumPy.
    """
    info = tensor.info
    if tensor.raw is None or info.dtype not in _FAST_DTYPES:
        return to_variable_layout(_to_numpy(tensor.value if tensor.raw is None else tensor.array()), transform,
                                  shape), False
    dtype = tf.as_dtype(info.dtype)
    carrier = tensor.raw.view(_CARRIERS[dtype.size])
    adopted = tf.experimental.dlpack.from_dlpack(carrier.__dlpack__())  # adopts the buffer, no copy
    if dtype != adopted.dtype:
        adopted = tf.bitcast(adopted, dtype)
    adopted = tf.reshape(adopted, info.shape)
    permuted = _permute_in_tf(adopted, transform, shape)
    if permuted is None:  # not a permutation: NumPy, on a copy
        array = from_canonical(adopted.numpy(), transform, shape=shape)
        return tf.convert_to_tensor(np.ascontiguousarray(array)), True
    copied = transform in (KERNEL, TRANSPOSE, DEPTHWISE) and not _keeps_order(info.shape, _axes(transform,
                                                                                              len(info.shape)))
    return permuted, copied


def _to_numpy(value: Any) -> Any:
    if isinstance(value, np.ndarray) or tf.is_tensor(value):
        return value
    return to_numpy(value)


def build_with_values(layer: keras.layers.Layer, input_shape: Any, values: Mapping[str, np.ndarray]) -> None:
    """Build `layer` for `input_shape` with each own variable set from `values` (by variable name), no random init.

    Example:
        >>> import keras, numpy as np
        >>> from pretrained.tf.loading import build_with_values
        >>> dense = keras.layers.Dense(2, name="fc")
        >>> build_with_values(dense, (None, 3), {"kernel": np.ones((3, 2)), "bias": np.zeros(2)})
        >>> dense.kernel.numpy().sum()
        np.float32(6.0)
    """
    with deferred_variables() as created:
        layer.build(input_shape)
    for variable in created:
        initialize_variable(variable, values.get(variable.name))


@contextlib.contextmanager
def dtype_policy(dtype: str | None) -> Iterator[None]:
    """Layers created inside use the Keras dtype policy `dtype` (`"float16"`, `"bfloat16"`, ...); None: unchanged.

    Example:
        >>> import keras
        >>> from pretrained.tf.loading import dtype_policy
        >>> with dtype_policy("float16"):
        ...     layer = keras.layers.Dense(2)
        >>> layer.dtype_policy.name
        'float16'
    """
    if dtype is None:
        yield
        return
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(str(dtype))
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)
