"""Keras variables <-> canonical (PyTorch `state_dict`) keys, the container layers that name them, and reading a
variable out in canonical layout.

A Keras model built for `pretrained` names every layer explicitly with the attribute name of the PyTorch module
(`layer1`, `0`, `conv1`, ...), and numbered children live in a [`LayerList`][pretrained.tf.variables.LayerList].
Walking the layers by those names gives the path `("layer1", "0", "conv1", "kernel")`, which the leaf-rule table of
[`pretrained.layout`][pretrained.layout] maps to `layer1.0.conv1.weight`. Save, load and conversion all use
[`canonical_variables`][pretrained.tf.variables.canonical_variables]; Keras' own `variable.path` is never parsed.

Building without random init and streaming tensors in live in [`pretrained.tf.loading`][pretrained.tf.loading].

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
import functools
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from keras.src.utils.naming import to_snake_case

from ..checkpoint import HostTensor, LazyTensor
from ..layout import (
    DEPTHWISE,
    IDENTITY,
    KERNEL,
    TRANSPOSE,
    CanonicalVariable,
    LayoutOverride,
    declared_overrides,
    path_to_key,
    to_canonical,
)


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
def is_auto_named(layer: keras.layers.Layer) -> bool:
    """Whether `layer.name` is the one Keras made up (`dense`, `dense_3`: no `name=` given)."""
    base = to_snake_case(type(layer).__name__)
    return layer.name == base or re.fullmatch(re.escape(base) + r"_\d+", layer.name) is not None


def child_layers(layer: keras.layers.Layer) -> list[tuple[tuple[str, ...], keras.layers.Layer]]:
    """The direct sub-layers of `layer` with their path below it, as PyTorch would name them.

    A sub-layer is named by the attribute it is assigned to (`self.fc = Dense(...)` -> `fc`); lists and tuples
    of layers add `0`, `1`, ... and dicts their keys (`self.h = [Block() for ...]` -> `h.0`, `h.1`); the children
    of a `LayerList` or a `keras.Sequential` are `0`, `1`, .... An explicit
    `name=` (anything but Keras' made-up `dense_3`) wins over the attribute. A layer Keras tracks that no
    attribute holds any more (replaced by plain assignment) is skipped unless it has an explicit name.
    """
    found: list[tuple[tuple[str, ...], keras.layers.Layer]] = []
    if isinstance(layer, (LayerList, keras.Sequential)):
        items = layer.items if isinstance(layer, LayerList) else layer.layers
        found = [((str(index),), child) for index, child in enumerate(items)]
    else:
        for attribute, value in vars(layer).items():
            if attribute not in _KERAS_INTERNALS and not attribute.startswith("_self_"):
                found += _held_layers(value, (attribute,))
    seen = {id(child) for _, child in found}
    found = [(_named(path, child), child) for path, child in found]
    used = {path[0] for path, _ in found}
    for child in layer._layers:  # tracked, yet held by no attribute: kept under an explicit name only
        if id(child) not in seen and not is_auto_named(child) and child.name not in used:
            found.append(((child.name,), child))
    return found


_KERAS_INTERNALS = frozenset({"_layers", "_tracker", "_inbound_nodes", "_outbound_nodes"})


def _held_layers(value: Any, path: tuple[str, ...]) -> list[tuple[tuple[str, ...], keras.layers.Layer]]:
    if isinstance(value, keras.layers.Layer):
        return [(path, value)]
    if isinstance(value, (list, tuple)):
        return [entry for index, item in enumerate(value) for entry in _held_layers(item, (*path, str(index)))]
    if isinstance(value, Mapping):
        return [entry for name, item in value.items() for entry in _held_layers(item, (*path, str(name)))]
    return []


def _named(path: tuple[str, ...], child: keras.layers.Layer) -> tuple[str, ...]:
    return path if is_auto_named(child) else (*path[:-1], child.name)


def iter_layers(layer: keras.layers.Layer, prefix: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...],
                                                                                          keras.layers.Layer]]:
    """`(path, layer)` for `layer` (path `prefix`) and every sub-layer below it, depth first
    ([`child_layers`][pretrained.tf.variables.child_layers] names each step)."""
    yield from _walk(layer, prefix, set())


def _walk(layer: keras.layers.Layer, prefix: tuple[str, ...], visited: set[int]) -> Iterator[tuple[tuple[str, ...],
                                                                                                 keras.layers.Layer]]:
    yield prefix, layer
    visited.add(id(layer))
    for path, child in child_layers(layer):
        if id(child) in visited:  # shared (a tied head) or a back-reference: its variables are listed already
            continue
        yield from _walk(child, (*prefix, *path), visited)


def iter_layer_variables(layer: keras.layers.Layer, prefix: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """`(path, variable)` for every variable a layer owns, then its sub-layers' (depth first).

    Only variables created with `add_weight` count (not seed-generator state); a variable reachable twice (a tied
    or shared layer) is yielded every time: [`canonical_variables`][pretrained.tf.variables.canonical_variables]
    keeps the first path.
    """
    for path, owner in iter_layers(layer, prefix):
        depthwise = isinstance(owner, keras.layers.DepthwiseConv2D)
        for variable in [*owner._trainable_variables, *owner._non_trainable_variables]:
            # Keras 3 calls the depthwise kernel "kernel"; the layout table knows it by its Keras 2 name
            name = "depthwise_kernel" if depthwise and variable.name == "kernel" else variable.name
            yield (*path, name), variable


def forget_replaced_layers(layer: keras.layers.Layer) -> None:
    """Stop Keras tracking sub-layers that no attribute holds any more (`self.wte = new_embedding` leaves the old
    one in Keras' list, so its variables would still count as weights)."""
    for _, owner in iter_layers(layer):
        if isinstance(owner, keras.Sequential):
            continue
        kept = {id(child) for _, child in child_layers(owner)}
        for child in list(owner._layers):
            if id(child) not in kept:
                _untrack(owner, child)


@contextlib.contextmanager
def replacing_layers(layer: keras.layers.Layer) -> Iterator[None]:
    """Inside, sub-layers of the built `layer` may be replaced by plain assignment (`self.wte = new`), which Keras
    refuses once a layer is built; on exit the replaced ones are untracked.

    Example:
        >>> import keras
        >>> from pretrained.tf.variables import replacing_layers
        >>> class Net(keras.layers.Layer):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.fc = keras.layers.Dense(2)
        ...     def call(self, x):
        ...         return self.fc(x)
        >>> net = Net()
        >>> _ = net(keras.ops.ones((1, 3)))
        >>> with replacing_layers(net):
        ...     net.fc = keras.layers.Dense(4)
        >>> len(net._layers)
        1
    """
    trackers = [owner._tracker for _, owner in iter_layers(layer) if getattr(owner, "_tracker", None) is not None]
    locked = [tracker for tracker in trackers if tracker.locked]
    for tracker in locked:
        tracker.unlock()
    try:
        yield
    finally:
        forget_replaced_layers(layer)
        for tracker in locked:
            tracker.lock()


def _untrack(parent: keras.layers.Layer, child: keras.layers.Layer) -> None:
    tracker = parent._tracker
    locked = tracker.locked
    tracker.unlock()
    try:
        parent._layers.remove(child)
    finally:
        if locked:
            tracker.lock()


def canonical_variables(
    model: keras.layers.Layer, *, overrides: Iterable[LayoutOverride] = ()
) -> list[CanonicalVariable]:
    """Every checkpointed variable of `model` once (shared variables under their first path), with its key.

    The model's own name is not part of the path. `overrides` come first, then those the model's layer classes
    declare (`_layout_overrides`, `canonical_layout`: [`declared_overrides`][pretrained.layout.declared_overrides]).
    Two variables that map to the same key are a naming bug in the model and raise `ValueError` naming both paths.
    """
    modules = [(path, type(owner)) for path, owner in iter_layers(model)]
    overrides = [*overrides, *declared_overrides(modules, base_model_prefix=getattr(model, "base_model_prefix", ""))]
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
        shape = tuple(int(d) for d in variable.shape)
        by_key[key] = CanonicalVariable(key, shape, str(variable.dtype), transform, variable, path)
    return list(by_key.values())


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
_CARRIERS = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}  # same-width ints that cross DLPack
_FAST_DTYPES = frozenset({"float16", "bfloat16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8",
                          "uint16", "uint32", "uint64"})



def _as_tensor(value: Any, dtype: str) -> tf.Tensor:
    tensor = value if tf.is_tensor(value) else tf.convert_to_tensor(np.ascontiguousarray(value))
    return tensor if tensor.dtype.name == str(dtype) else tf.cast(tensor, dtype)




def read_canonical(variable: CanonicalVariable, *, views: bool, lazy: bool = False) -> Any:
    """A variable's value in canonical layout, for saving: a `HostTensor` (no NumPy copies: shared buffers where
    the layouts match, kernels transposed by TensorFlow), or with `views=True` a NumPy array sharing the variable's
    buffer through DLPack (copy on write), possibly a strided view. With `lazy=True`, a `LazyTensor` that takes
    that view only when the streaming writer reaches it (which transposes it in bounded bands)."""
    if lazy:
        return LazyTensor(str(variable.dtype), variable.canonical_shape,
                          read=functools.partial(read_canonical, variable, views=True),
                          alias=("variable", id(variable.variable)))
    if views:
        return to_canonical(_host_numpy(tf.convert_to_tensor(variable.variable.value)), variable.transform)
    return HostTensor.from_numpy(to_canonical_array(variable.variable.value, variable.transform))


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
