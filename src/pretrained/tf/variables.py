"""Keras variables <-> canonical (PyTorch `state_dict`) keys, and variables created without random init.

A Keras model built for `pretrained` names every layer explicitly with the attribute name of the PyTorch module
(`layer1`, `0`, `conv1`, ...), and numbered children live in a [`LayerList`][pretrained.tf.variables.LayerList].
Walking the layers by those names gives the path `("layer1", "0", "conv1", "kernel")`, which the leaf-rule table of
[`pretrained.layout`][pretrained.layout] maps to `layer1.0.conv1.weight`. Save, load and conversion all use
[`canonical_variables`][pretrained.tf.variables.canonical_variables]; Keras' own `variable.path` is never parsed.

The loader builds a model inside [`deferred_variables`][pretrained.tf.variables.deferred_variables]: Keras 3 then
creates every variable *uninitialised* (its initializer is kept, no tensor is allocated), and
[`initialize_variable`][pretrained.tf.variables.initialize_variable] later creates each one directly from the
checkpoint tensor, or from its own initializer when the checkpoint lacks it.

Example:
    >>> import keras
    >>> from pretrained.tf.variables import LayerList, canonical_variables
    >>> class Net(keras.Model):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.layer = LayerList([keras.layers.Dense(3, name="0"), keras.layers.Dense(2, name="1")], name="layer")
    ...     def call(self, x):
    ...         return self.layer(x)
    >>> net = Net()
    >>> _ = net(keras.ops.ones((1, 4)))
    >>> [(v.key, v.canonical_shape) for v in canonical_variables(net)]
    [('layer.0.weight', (3, 4)), ('layer.0.bias', (3,)), ('layer.1.weight', (2, 3)), ('layer.1.bias', (2,))]
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from keras.src.backend.common import global_state
from keras.src.backend.common.stateless_scope import StatelessScope

from ..layout import (
    DEPTHWISE,
    IDENTITY,
    KERNEL,
    TRANSPOSE,
    LayoutOverride,
    canonical_shape,
    from_canonical,
    path_to_key,
    to_canonical,
)

_REGISTRY = "uninitialized_variables"  # Keras 3's list of deferred variables (keras/src/backend/common/variables.py)


@dataclass
class CanonicalVariable:
    """One checkpointed Keras variable: its layer path, canonical key, layout transform and the variable."""

    path: tuple[str, ...]
    key: str
    transform: str
    variable: Any  # keras.Variable

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(int(d) for d in self.variable.shape)

    @property
    def dtype(self) -> str:
        return str(self.variable.dtype)

    @property
    def canonical_shape(self) -> tuple[int, ...]:
        return canonical_shape(self.shape, self.transform)


def declare_input_shape(layer: keras.layers.Layer, shape: Any) -> keras.layers.Layer:
    """Record the input shape `layer` is built for, so its container builds it without a forward pass.

    Example:
        >>> import keras
        >>> from pretrained.tf.variables import declare_input_shape
        >>> dense = declare_input_shape(keras.layers.Dense(4, name="query"), (None, None, 32))
    """
    object.__setattr__(layer, "_pretrained_input_shape", shape)  # plain attribute, outside Keras' tracking
    return layer


def build_declared(layer: keras.layers.Layer) -> None:
    """Build `layer`'s sub-layers from their declared input shapes (containers recursively); others stay lazy."""
    for child in layer._layers:
        if child.built:
            continue
        if isinstance(child, ContainerLayer):
            child.build(None)
        elif hasattr(child, "_pretrained_input_shape"):
            child.build(child._pretrained_input_shape)


def unbuilt_layers(layer: keras.layers.Layer) -> list[keras.layers.Layer]:
    """Sub-layers (at any depth) that are not built yet."""
    return [child for child in layer._flatten_layers(include_self=False) if not child.built]


class ContainerLayer(keras.layers.Layer):
    """A layer made of sub-layers. Its `build` builds every sub-layer whose input shape was declared (see
    [`declare_input_shape`][pretrained.tf.variables.declare_input_shape]) — no forward pass, no trace — and
    leaves the others to build on their first call.

    (A Keras layer without its own `build` is first traced symbolically to build it, which for nested layers
    repeats the trace at every depth.)
    """

    def build(self, input_shape: Any = None) -> None:
        build_declared(self)


class LayerList(ContainerLayer):
    """Numbered children named `"0"`, `"1"`, ... (PyTorch's `nn.Sequential` / `nn.ModuleList`).

    Calling it applies the children in order, passing `training` on to those that accept it.

    Example:
        >>> import keras
        >>> from pretrained.tf.variables import LayerList
        >>> stack = LayerList([keras.layers.Dense(4, name="0"), keras.layers.ReLU(name="1")], name="head")
        >>> [layer.name for layer in stack], len(stack)
        (['0', '1'], 2)
    """

    def __init__(self, layers: Sequence[keras.layers.Layer] = (), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.items = list(layers)

    def __getitem__(self, index: int) -> keras.layers.Layer:
        return self.items[index]

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[keras.layers.Layer]:
        return iter(self.items)

    def call(self, inputs: Any, training: bool = False) -> Any:
        for layer in self.items:
            inputs = layer(inputs, training=training) if _accepts_training(layer) else layer(inputs)
        return inputs


def _accepts_training(layer: keras.layers.Layer) -> bool:
    return "training" in layer._call_signature.parameters


# ----------------------------------------------------------------------------------------------- walking
def iter_layer_variables(layer: keras.layers.Layer, prefix: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """`(path, variable)` for every variable a layer owns, then its sub-layers' (depth first, by layer name).

    Only variables created with `add_weight` count (not seed-generator state); a variable reachable twice (a tied
    or shared layer) is yielded every time: [`canonical_variables`][pretrained.tf.variables.canonical_variables]
    keeps the first path.
    """
    depthwise = isinstance(layer, keras.layers.DepthwiseConv2D)
    for variable in [*layer._trainable_variables, *layer._non_trainable_variables]:
        # Keras 3 calls the depthwise kernel "kernel"; the layout table knows it by its Keras 2 name
        name = "depthwise_kernel" if depthwise and variable.name == "kernel" else variable.name
        yield (*prefix, name), variable
    for child in layer._layers:
        yield from iter_layer_variables(child, (*prefix, child.name))


def canonical_variables(
    model: keras.layers.Layer, *, overrides: Iterable[LayoutOverride] = ()
) -> list[CanonicalVariable]:
    """Every checkpointed variable of `model` once (shared variables under their first path), with its key.

    The model's own name is not part of the path; layer names are. Two variables that map to the same key are a
    naming bug in the model and raise `ValueError` naming both paths.
    """
    overrides = list(overrides)
    seen: set[int] = set()
    by_key: dict[str, CanonicalVariable] = {}
    for path, variable in iter_layer_variables(model):
        if id(variable) in seen:
            continue
        seen.add(id(variable))
        key, transform = path_to_key(path, backend="tf", overrides=overrides)
        if key in by_key:
            raise ValueError(
                f"two variables of {type(model).__name__} map to the canonical key {key!r}: "
                f"{'/'.join(by_key[key].path)} and {'/'.join(path)}; give their layers distinct names"
            )
        by_key[key] = CanonicalVariable(path, key, transform, variable)
    return list(by_key.values())


# ----------------------------------------------------------------------------------------------- deferred init
@contextlib.contextmanager
def deferred_variables() -> Iterator[list[Any]]:
    """Create Keras variables without initialising them; yields the list that receives them on exit.

    Inside, layers can be constructed and built (call them on `keras.KerasTensor`s: a symbolic call costs no
    compute); each variable keeps its initializer and holds no tensor. Every variable in the list must then go
    through [`initialize_variable`][pretrained.tf.variables.initialize_variable].

    Example:
        >>> import keras
        >>> from pretrained.tf.variables import deferred_variables, initialize_variable
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


def _as_tensor(value: Any, dtype: str) -> tf.Tensor:
    tensor = value if tf.is_tensor(value) else tf.convert_to_tensor(np.ascontiguousarray(value))
    return tensor if tensor.dtype.name == str(dtype) else tf.cast(tensor, dtype)


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


def to_canonical_array(value: Any, transform: str) -> np.ndarray:
    """A variable's value (or a tensor) in canonical (PyTorch) layout as a NumPy array, for saving.

    Layouts that match share the variable's buffer through DLPack (a snapshot: TensorFlow copies on write if the
    variable is assigned later); permutations run in TensorFlow (multi-threaded), one copy.
    """
    tensor = tf.convert_to_tensor(value)
    ndim = len(tensor.shape)
    if transform == IDENTITY or (transform in (KERNEL, TRANSPOSE) and ndim < 2):
        return _host_numpy(tensor)
    if transform == KERNEL:  # Keras (*spatial, in, out) -> canonical (out, in, *spatial)
        return _host_numpy(tf.transpose(tensor, (ndim - 1, ndim - 2, *range(ndim - 2))))
    if transform == TRANSPOSE:
        return _host_numpy(tf.transpose(tensor))
    if transform == DEPTHWISE and ndim == 4:  # (kh, kw, cin, mult) -> (cin * mult, 1, kh, kw)
        kh, kw, cin, mult = (int(d) for d in tensor.shape)
        return _host_numpy(tf.transpose(tf.reshape(tensor, (kh, kw, 1, cin * mult)), (3, 2, 0, 1)))
    return np.ascontiguousarray(to_canonical(tensor.numpy(), transform))


def _host_numpy(tensor: tf.Tensor) -> np.ndarray:
    """A NumPy view of a host tensor (no copy where DLPack carries the dtype; bfloat16 / float8 via same-width
    unsigned ints)."""
    name = tensor.dtype.name
    if name in _FAST_DTYPES and name not in _NUMPY_EXTENSION_DTYPES:
        try:
            return np.from_dlpack(tensor)
        except (RuntimeError, TypeError, BufferError):  # e.g. a tensor on another device
            return tensor.numpy()
    if name in _NUMPY_EXTENSION_DTYPES:
        import ml_dtypes

        carrier = tf.bitcast(tensor, tf.as_dtype(_CARRIERS[tensor.dtype.size]))
        try:
            return np.from_dlpack(carrier).view(getattr(ml_dtypes, name))
        except (RuntimeError, TypeError, BufferError):
            return tensor.numpy()
    return tensor.numpy()


_NUMPY_EXTENSION_DTYPES = frozenset({"bfloat16", "float8_e4m3fn", "float8_e5m2"})  # ml_dtypes, not DLPack


# ----------------------------------------------------------------------------------------------- fast reads
_ALIGN = 64  # TensorFlow's alignment for a tensor it does not copy (EIGEN_MAX_ALIGN_BYTES)
_CARRIERS = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}  # same-width ints that cross DLPack
_FAST_DTYPES = frozenset({"float16", "bfloat16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8",
                          "uint16", "uint32", "uint64"})


def _aligned_bytes(nbytes: int) -> np.ndarray:
    raw = np.empty(nbytes + _ALIGN, np.uint8)
    start = (-raw.ctypes.data) % _ALIGN
    return raw[start:start + nbytes]


Layout = tuple[str, Sequence[int]]  # (layout transform, variable shape)


class TensorReader:
    """Reads checkpoint tensors as TensorFlow tensors in the variables' layouts, with one copy from the file.

    A tensor stored as the variable holds it (biases, norms, embeddings) is read by the reader's `read_into` straight
    into a fresh 64-byte-aligned buffer, which TensorFlow adopts through DLPack (no copy; `tf.Variable` then adopts
    the tensor, no copy either). A permuted tensor (kernels) is read into a scratch buffer reused from tensor to
    tensor (its pages stay mapped: no page faults) and TensorFlow transposes it into the variable's own buffer
    (multi-threaded). Peak memory: the model plus the largest permuted tensor. Readers without `read_into`
    (in-memory states, legacy `.bin`) and unusual dtypes take `reader.get`.
    """

    def __init__(self, reader: Any) -> None:
        self.reader = reader
        self._direct = callable(getattr(reader, "read_into", None))
        self._scratch = np.empty(0, np.uint8)

    def stream(self, wanted: Mapping[str, Sequence[Layout]]) -> Iterator[tuple[str, list[tf.Tensor]]]:
        """For each checkpoint key of `wanted` (key -> the layouts of the variables it fills) that the checkpoint
        holds: `(key, [tensor in each layout])`, in file order, with the reader's progress bar."""
        if not self._direct:  # in-memory / legacy readers: their own order and arrays
            for key, array in self.reader.iter_tensors(list(wanted)):
                array = _to_numpy(array)
                yield key, [to_variable_layout(array, transform, shape) for transform, shape in wanted[key]]
            return
        from ..utils import progress

        reader = self.reader
        files = {path: i for i, path in enumerate(reader.checkpoint.files)}
        infos = [reader.info(key) for key in wanted if key in reader]
        infos.sort(key=lambda info: (files.get(info.file, len(files)), info.offset or 0, info.key))
        bar = progress.bar(total=len(infos), desc="Loading weights", unit="tensor",
                           enabled=reader.total_bytes() > progress.MIN_BYTES_FOR_BAR)
        with bar:
            for info in infos:
                buffer = self._read_bytes(info, wanted[info.key])
                yield info.key, [self._convert(info, buffer, transform, shape) for transform, shape in wanted[info.key]]
                bar.update(1)

    def _read_bytes(self, info: Any, layouts: Sequence[Layout]) -> np.ndarray | None:
        """The raw bytes of one tensor (None: read it with `reader.get`)."""
        if info.dtype not in _FAST_DTYPES or info.nbytes == 0:
            return None
        # scratch only where every variable gets a new tensor (a transpose that merely reshapes aliases its input)
        ndim = len(info.shape)
        scratch = all(
            transform in (KERNEL, TRANSPOSE, DEPTHWISE) and not _keeps_order(info.shape, _axes(transform, ndim))
            for transform, _ in layouts
        )
        buffer = self._scratch_bytes(info.nbytes) if scratch else _aligned_bytes(info.nbytes)
        return buffer if self.reader.read_into(info.key, buffer) else None

    def _convert(self, info: Any, buffer: np.ndarray | None, transform: str, shape: Sequence[int]) -> tf.Tensor:
        if buffer is None:
            return to_variable_layout(_to_numpy(self.reader.get(info.key)), transform, shape)
        dtype = tf.as_dtype(info.dtype)
        carrier = buffer.view(_CARRIERS[dtype.size])
        tensor = tf.experimental.dlpack.from_dlpack(carrier.__dlpack__())  # adopts the buffer, no copy
        if dtype != tensor.dtype:
            tensor = tf.bitcast(tensor, dtype)
        tensor = tf.reshape(tensor, info.shape)
        permuted = _permute_in_tf(tensor, transform, shape)
        if permuted is None:  # not a permutation: NumPy, on a copy (the buffer may be scratch)
            array = from_canonical(tensor.numpy(), transform, shape=shape)
            permuted = tf.convert_to_tensor(np.ascontiguousarray(array))
        return permuted

    def _scratch_bytes(self, nbytes: int) -> np.ndarray:
        if self._scratch.size < nbytes:
            self._scratch = _aligned_bytes(nbytes)
        return self._scratch[:nbytes]


def _to_numpy(value: Any) -> Any:
    if isinstance(value, np.ndarray) or tf.is_tensor(value):
        return value
    from ..checkpoint import to_numpy

    return to_numpy(value)


def build_with_values(layer: keras.layers.Layer, input_shape: Any, values: Mapping[str, np.ndarray]) -> None:
    """Build `layer` for `input_shape` with each own variable set from `values` (by variable name), no random init.

    Example:
        >>> import keras, numpy as np
        >>> from pretrained.tf.variables import build_with_values
        >>> dense = keras.layers.Dense(2, name="fc")
        >>> build_with_values(dense, (None, 3), {"kernel": np.ones((3, 2)), "bias": np.zeros(2)})
        >>> dense.kernel.numpy().sum()
        np.float32(6.0)
    """
    with deferred_variables() as created:
        layer.build(input_shape)
    for variable in created:
        initialize_variable(variable, values.get(variable.name))


# ----------------------------------------------------------------------------------------------- replacing
def replace_layer(parent: keras.layers.Layer, attribute: str, new: keras.layers.Layer) -> None:
    """Swap the sub-layer stored at `parent.<attribute>` for `new` (same place in the walk, old one untracked)."""
    old = getattr(parent, attribute)
    tracker = parent._tracker
    locked = tracker.locked
    tracker.unlock()
    try:
        if tracker.is_in_store("layers", old):
            tracker.replace_tracked_value("layers", old, new)
        setattr(parent, attribute, new)
    finally:
        if locked:
            tracker.lock()


def replace_variable(layer: keras.layers.Layer, attribute: str, value: np.ndarray) -> Any:
    """Replace the variable `layer.<attribute>` by a new one (same name, dtype, trainability) holding `value`."""
    old = getattr(layer, attribute)
    layer._untrack_variable(old)
    tracker = layer._tracker
    locked = tracker.locked
    tracker.unlock()
    try:
        new = layer.add_weight(
            shape=tuple(value.shape),
            initializer=lambda shape, dtype: _as_tensor(value, dtype),
            dtype=old.dtype,
            trainable=old.trainable,
            name=old.name,
        )
        setattr(layer, attribute, new)
    finally:
        if locked:
            tracker.lock()
    return new
