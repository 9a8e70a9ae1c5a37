"""Canonical key <-> backend variable path, and tensor layout transforms (NumPy only).

Every backend names its sub-modules with the attribute names of the PyTorch module (`layer1`, `0`, `conv1`, ...),
so a backend variable path maps to a canonical (PyTorch `state_dict`) key mechanically: join the path with dots
and rename the leaf by one table. A model overrides a key only where its structure really differs, by declaring
[`LayoutOverride`][pretrained.layout.LayoutOverride]s; nothing is guessed from substrings.

| backend leaf                         | canonical       | transform to canonical              |
|--------------------------------------|-----------------|-------------------------------------|
| Dense / Linear `kernel` (in, out)    | `weight`        | transpose                           |
| Conv `kernel` (kh, kw, in/g, out)    | `weight`        | transpose (3, 2, 0, 1) (1-D, 3-D too) |
| Keras `depthwise_kernel` (kh, kw, in, m) | `weight` (in*m, 1, kh, kw) | reshape + transpose     |
| LayerNorm `gamma` / NNX `scale`      | `weight`        | —                                   |
| `beta` / `bias`                      | `bias`          | —                                   |
| BatchNorm `moving_mean` / NNX `mean` | `running_mean`  | —                                   |
| BatchNorm `moving_variance` / NNX `var` | `running_var` | —                                   |
| Embedding `embeddings` / NNX `embedding` | `weight`    | —                                   |
| (none)                               | `num_batches_tracked` | dropped on read, written as 0 |

Example:
    >>> import numpy as np
    >>> from pretrained.layout import path_to_key, to_canonical, from_canonical
    >>> key, transform = path_to_key(("layer1", 0, "conv1", "kernel"), backend="flax")
    >>> key, transform
    ('layer1.0.conv1.weight', 'kernel')
    >>> kernel = np.zeros((3, 3, 16, 32), np.float32)
    >>> to_canonical(kernel, transform).shape
    (32, 16, 3, 3)
    >>> from_canonical(to_canonical(kernel, transform), transform).shape
    (3, 3, 16, 32)
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

BACKENDS = ("torch", "tf", "flax")
NUM_BATCHES_TRACKED = "num_batches_tracked"

# transform names: how a backend tensor becomes a canonical (PyTorch-layout) one
IDENTITY = "identity"
KERNEL = "kernel"  # dense or convolution kernel, decided by rank
DEPTHWISE = "depthwise"  # Keras DepthwiseConv2D kernel
TRANSPOSE = "transpose"  # any 2-D transpose (e.g. a torch Conv1D-style linear stored the other way)

# backend leaf name -> (canonical leaf, transform)
LEAF_RULES: dict[str, dict[str, tuple[str, str]]] = {
    "tf": {
        "kernel": ("weight", KERNEL),
        "depthwise_kernel": ("weight", DEPTHWISE),
        "gamma": ("weight", IDENTITY),
        "beta": ("bias", IDENTITY),
        "bias": ("bias", IDENTITY),
        "moving_mean": ("running_mean", IDENTITY),
        "moving_variance": ("running_var", IDENTITY),
        "embeddings": ("weight", IDENTITY),
    },
    "flax": {
        "kernel": ("weight", KERNEL),
        "scale": ("weight", IDENTITY),
        "bias": ("bias", IDENTITY),
        "mean": ("running_mean", IDENTITY),
        "var": ("running_var", IDENTITY),
        "embedding": ("weight", IDENTITY),
    },
    "torch": {},
}

# leaves that only count as batch statistics (and so get a num_batches_tracked sibling on save)
RUNNING_MEAN = "running_mean"


@dataclass(frozen=True)
class LayoutOverride:
    """A declared exception to the leaf rules, for one family of variables.

    `pattern` is a regular expression matched (with `re.fullmatch`) against the backend path joined by dots,
    *relative to the module that declares it*: an override in the `_layout_overrides` of a sub-layer class applies
    below that layer, and a model's own overrides also apply below its `base_model_prefix` (so one declaration
    serves `GPT2Model` and `transformer.` inside `GPT2LMHeadModel`). `key` is the canonical key template (may use
    `\\1` groups), relative to the same place; `transform` is one of `"identity"`, `"kernel"`, `"depthwise"`,
    `"transpose"`. `prefix` (dotted) is where the override applies; the walk fills it in.

    Example:
        >>> from pretrained.layout import LayoutOverride, path_to_key
        >>> conv1d = LayoutOverride(r"h\\.(\\d+)\\.attn\\.c_attn\\.kernel", r"h.\\1.attn.c_attn.weight", "identity")
        >>> path_to_key(("h", 0, "attn", "c_attn", "kernel"), backend="tf", overrides=[conv1d])
        ('h.0.attn.c_attn.weight', 'identity')
        >>> path_to_key(("transformer", "h", 0, "attn", "c_attn", "kernel"), backend="tf",
        ...             overrides=[conv1d.below("transformer")])
        ('transformer.h.0.attn.c_attn.weight', 'identity')
    """

    pattern: str
    key: str
    transform: str = IDENTITY
    prefix: str = ""

    def match(self, dotted: str) -> str | None:
        """The canonical key for the dotted path `dotted`, or None when the override does not apply to it."""
        if self.prefix:
            if not dotted.startswith(self.prefix + "."):
                return None
            found = re.fullmatch(self.pattern, dotted[len(self.prefix) + 1:])
            return f"{self.prefix}.{found.expand(self.key)}" if found else None
        found = re.fullmatch(self.pattern, dotted)
        return found.expand(self.key) if found else None

    def below(self, prefix: str) -> LayoutOverride:
        """This override applied below the module at dotted path `prefix` (relative to where it was declared)."""
        if not prefix:
            return self
        return replace(self, prefix=f"{prefix}.{self.prefix}" if self.prefix else prefix)


def declared_overrides(modules: Iterable[tuple[Sequence[str | int], type]], *,
                       base_model_prefix: str = "") -> list[LayoutOverride]:
    """The overrides a model's module classes declare, each scoped to where its module sits.

    `modules` is `(path, class)` for the model (path `()`) and every sub-module, outermost first. A class declares
    `_layout_overrides` (a list of [`LayoutOverride`][pretrained.layout.LayoutOverride]s, relative to it) and / or
    `canonical_layout`, `{variable name: (canonical leaf, transform)}` — how a layer type stores its own variables
    (a Conv1D-style layer keeping PyTorch's `(in, out)` weight as a Keras `kernel`: `{"kernel": ("weight",
    "identity")}`). The model's own overrides come first (they also apply below `base_model_prefix`), then the
    sub-modules' overrides, then the layer types' `canonical_layout`; the first match wins.

    Example:
        >>> from pretrained.layout import declared_overrides, path_to_key
        >>> class Conv1DLike:
        ...     canonical_layout = {"kernel": ("weight", "identity")}
        >>> overrides = declared_overrides([((), object), (("h", 0, "c_attn"), Conv1DLike)])
        >>> path_to_key(("h", 0, "c_attn", "kernel"), backend="tf", overrides=overrides)
        ('h.0.c_attn.weight', 'identity')
    """
    modules = [(".".join(str(p) for p in path), cls) for path, cls in modules]
    scoped: list[LayoutOverride] = []
    typed: list[LayoutOverride] = []
    for prefix, cls in modules:
        own = list(getattr(cls, "_layout_overrides", ()) or ())
        scoped += [override.below(prefix) for override in own]
        if not prefix and base_model_prefix:
            scoped += [override.below(base_model_prefix) for override in own]
        for leaf, (canonical_leaf, transform) in (getattr(cls, "canonical_layout", None) or {}).items():
            typed.append(LayoutOverride(re.escape(leaf), canonical_leaf, transform, prefix))
    return scoped + typed


@dataclass
class CanonicalVariable:
    """One checkpointed variable of a model, as every backend describes it to the shared pipeline: its canonical
    key, its shape and dtype name in the backend's layout, the layout `transform` to canonical, the backend's own
    handle (`variable`: a `keras.Variable`, an `nnx.Variable`, a torch parameter slot) and its path in the model.

    Example:
        >>> from pretrained.layout import CanonicalVariable
        >>> v = CanonicalVariable("fc.weight", (4, 3), "float32", transform="kernel")
        >>> v.canonical_shape
        (3, 4)
    """

    key: str
    shape: tuple[int, ...]
    dtype: str
    transform: str = IDENTITY
    variable: Any = None
    path: tuple[Any, ...] = ()

    @property
    def canonical_shape(self) -> tuple[int, ...]:
        """The shape the checkpoint stores (PyTorch layout)."""
        return canonical_shape(self.shape, self.transform)


def path_to_key(
    path: Sequence[str | int], *, backend: str, overrides: Iterable[LayoutOverride] = ()
) -> tuple[str, str]:
    """Canonical key and transform name for a backend variable path (a tuple of attribute names / indices)."""
    parts = [str(p) for p in path]
    dotted = ".".join(parts)
    for override in overrides:
        key = override.match(dotted)
        if key is not None:
            return key, override.transform
    leaf, transform = LEAF_RULES[backend].get(parts[-1], (parts[-1], IDENTITY))
    return ".".join([*parts[:-1], leaf]), transform


def to_canonical(array: np.ndarray, transform: str) -> np.ndarray:
    """Backend layout -> PyTorch layout."""
    if transform == IDENTITY:
        return array
    if transform == TRANSPOSE:
        return np.transpose(array)
    if transform == DEPTHWISE:
        kh, kw, cin, mult = array.shape
        return np.transpose(array.reshape(kh, kw, 1, cin * mult), (3, 2, 0, 1))
    if transform == KERNEL:
        return np.transpose(array, _kernel_axes_to_canonical(array.ndim))
    raise ValueError(f"unknown layout transform {transform!r}")


def canonical_axis_order(transform: str, ndim: int) -> tuple[int, ...] | None:
    """For each canonical (PyTorch-layout) dimension, the backend dimension it is (`to_canonical` is then
    `np.transpose(array, order)`); None for transforms that are not a transpose (depthwise kernels reshape).

    >>> canonical_axis_order("kernel", 2), canonical_axis_order("kernel", 4), canonical_axis_order("identity", 1)
    ((1, 0), (3, 2, 0, 1), (0,))
    """
    if transform == IDENTITY:
        return tuple(range(ndim))
    if transform == TRANSPOSE:
        return tuple(reversed(range(ndim)))
    if transform == KERNEL:
        return tuple(_kernel_axes_to_canonical(ndim))
    return None


def from_canonical(array: np.ndarray, transform: str, *, shape: Sequence[int] | None = None) -> np.ndarray:
    """PyTorch layout -> backend layout (`shape`: the backend variable's shape, needed for depthwise kernels)."""
    if transform == IDENTITY:
        return array
    if transform == TRANSPOSE:
        return np.transpose(array)
    if transform == DEPTHWISE:
        out, _, kh, kw = array.shape
        kernel = np.transpose(array, (2, 3, 1, 0))
        mult = shape[-1] if shape is not None else 1
        return kernel.reshape(kh, kw, out // mult, mult)
    if transform == KERNEL:
        return np.transpose(array, _kernel_axes_from_canonical(array.ndim))
    raise ValueError(f"unknown layout transform {transform!r}")


def canonical_shape(shape: Sequence[int], transform: str) -> tuple[int, ...]:
    """The canonical shape of a backend variable of `shape` (without touching data)."""
    shape = tuple(int(d) for d in shape)
    if transform == IDENTITY:
        return shape
    if transform == TRANSPOSE:
        return shape[::-1]
    if transform == DEPTHWISE:
        kh, kw, cin, mult = shape
        return (cin * mult, 1, kh, kw)
    if transform == KERNEL:
        return tuple(shape[axis] for axis in _kernel_axes_to_canonical(len(shape)))
    raise ValueError(f"unknown layout transform {transform!r}")


def _kernel_axes_to_canonical(ndim: int) -> tuple[int, ...]:
    if ndim == 1:
        return (0,)
    if ndim == 2:  # (in, out) -> (out, in)
        return (1, 0)
    # (*spatial, in, out) -> (out, in, *spatial)
    return (ndim - 1, ndim - 2, *range(ndim - 2))


def _kernel_axes_from_canonical(ndim: int) -> tuple[int, ...]:
    if ndim == 1:
        return (0,)
    if ndim == 2:
        return (1, 0)
    # (out, in, *spatial) -> (*spatial, in, out)
    return (*range(2, ndim), 1, 0)


def is_num_batches_tracked(key: str) -> bool:
    return key.rsplit(".", 1)[-1] == NUM_BATCHES_TRACKED


def num_batches_tracked_key(running_mean_key: str) -> str | None:
    """`bn.running_mean` -> `bn.num_batches_tracked` (what torch's BatchNorm also stores)."""
    prefix, _, leaf = running_mean_key.rpartition(".")
    if leaf != RUNNING_MEAN:
        return None
    return f"{prefix}.{NUM_BATCHES_TRACKED}" if prefix else NUM_BATCHES_TRACKED
