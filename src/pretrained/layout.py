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
from dataclasses import dataclass

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

    `pattern` is a regular expression matched (with `re.fullmatch`) against the backend path joined by dots
    (`"h.0.attn.c_attn.kernel"`); `key` is the canonical key template (may use `\\1` groups); `transform` is one
    of `"identity"`, `"kernel"`, `"depthwise"`, `"transpose"`.

    Example:
        >>> from pretrained.layout import LayoutOverride, path_to_key
        >>> conv1d = LayoutOverride(r"h\\.(\\d+)\\.attn\\.c_attn\\.kernel", r"h.\\1.attn.c_attn.weight", "identity")
        >>> path_to_key(("h", 0, "attn", "c_attn", "kernel"), backend="tf", overrides=[conv1d])
        ('h.0.attn.c_attn.weight', 'identity')
    """

    pattern: str
    key: str
    transform: str = IDENTITY

    def match(self, dotted: str) -> str | None:
        found = re.fullmatch(self.pattern, dotted)
        return found.expand(self.key) if found else None


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
