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

from ..layout import IDENTITY, KERNEL, LayoutOverride, canonical_shape, from_canonical, path_to_key

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
    for variable in [*layer._trainable_variables, *layer._non_trainable_variables]:
        yield (*prefix, variable.name), variable
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


def to_variable_layout(array: np.ndarray, transform: str, shape: Sequence[int]) -> tf.Tensor:
    """A canonical (PyTorch-layout) array as a TF tensor in the variable's layout ([`pretrained.layout`]
    [pretrained.layout]'s `from_canonical`). Kernels are transposed by TensorFlow (multi-threaded, no NumPy copy)."""
    if transform == KERNEL and array.ndim >= 2:
        # canonical (out, in, *spatial) -> Keras (*spatial, in, out); (out, in) -> (in, out)
        axes = (1, 0) if array.ndim == 2 else (*range(2, array.ndim), 1, 0)
        return tf.transpose(tf.convert_to_tensor(array), axes)
    if transform == IDENTITY:
        return tf.convert_to_tensor(array)
    return tf.convert_to_tensor(np.ascontiguousarray(from_canonical(array, transform, shape=shape)))


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
