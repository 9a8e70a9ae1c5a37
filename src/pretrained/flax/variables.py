"""NNX state paths <-> canonical (PyTorch `state_dict`) keys: what save, load and conversion use.

An NNX module names its sub-modules like the PyTorch module (`nnx.List` for numbered children), so the state path
`('layer1', 0, 'bn1', 'mean')` maps to the canonical key `layer1.0.bn1.running_mean` by the leaf-rule table in
[`pretrained.layout`][pretrained.layout]. The `mean` / `var` renames apply to `nnx.BatchStat` leaves only: a
`nnx.Param` that happens to be called `mean` keeps its name.

Example:
    >>> from flax import nnx
    >>> from pretrained.flax.variables import canonical_variables
    >>> bn = nnx.BatchNorm(4, rngs=nnx.Rngs(0))
    >>> sorted(v.key for v in canonical_variables(bn))
    ['bias', 'running_mean', 'running_var', 'weight']
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import jax
import numpy as np
from flax import nnx

from ..layout import IDENTITY, CanonicalVariable, LayoutOverride, declared_overrides, path_to_key

# the variable types that are part of a checkpoint (everything else, e.g. RNG state, is runtime state)
PERSISTENT_TYPES: tuple[type, ...] = (nnx.Param, nnx.BatchStat)
_STAT_LEAVES = ("mean", "var")


def key_for(
    path: tuple[Any, ...], variable: nnx.Variable | type, overrides: Iterable[LayoutOverride] = ()
) -> tuple[str, str]:
    """Canonical key and transform of the variable at `path` (an NNX state path)."""
    parts = tuple(str(p) for p in path)
    kind = variable if isinstance(variable, type) else type(variable)
    if parts[-1] in _STAT_LEAVES and not issubclass(kind, nnx.BatchStat):
        dotted = ".".join(parts)
        overrides = [*overrides, LayoutOverride(re.escape(dotted), dotted, IDENTITY)]
    return path_to_key(path, backend="flax", overrides=overrides)


def canonical_variables(
    module: nnx.Module,
    *,
    overrides: Iterable[LayoutOverride] = (),
    types: tuple[type, ...] = PERSISTENT_TYPES,
) -> list[CanonicalVariable]:
    """Every persistent variable of `module` (shared variables once), with its canonical key.

    `overrides` come first, then those the module classes declare (`_layout_overrides`, `canonical_layout`:
    [`declared_overrides`][pretrained.layout.declared_overrides]).
    """
    overrides = [*overrides, *module_overrides(module)]
    out = []
    for path, variable in nnx.to_flat_state(nnx.state(module, types)):
        key, transform = key_for(path, variable, overrides)
        out.append(_described(tuple(path), key, transform, variable))
    return out


def module_overrides(module: nnx.Module) -> list[LayoutOverride]:
    """The layout overrides `module`'s sub-module classes declare, scoped to where each sits."""
    modules = [(tuple(path), type(node)) for path, node in nnx.iter_graph(module) if isinstance(node, nnx.Module)]
    modules.sort(key=lambda entry: len(entry[0]))  # outermost first
    return declared_overrides(modules, base_model_prefix=getattr(module, "base_model_prefix", "") or "")


def state_variables(state: nnx.State, *, overrides: Iterable[LayoutOverride] = (),
                    types: tuple[type, ...] = PERSISTENT_TYPES) -> Iterator[CanonicalVariable]:
    """Like [`canonical_variables`][pretrained.flax.variables.canonical_variables], on an `nnx.State`."""
    for path, variable in nnx.to_flat_state(state):
        if isinstance(variable, types):
            key, transform = key_for(path, variable, overrides)
            yield _described(tuple(path), key, transform, variable)


def _described(path: tuple[Any, ...], key: str, transform: str, variable: nnx.Variable) -> CanonicalVariable:
    value = variable.get_value()
    return CanonicalVariable(key, tuple(int(d) for d in value.shape), np.dtype(value.dtype).name, transform, variable,
                             path)


def is_abstract(value: Any) -> bool:
    """True for a leaf of an abstract model (a `jax.ShapeDtypeStruct`, no data)."""
    return isinstance(value, jax.ShapeDtypeStruct)


def to_host(value: Any) -> np.ndarray:
    """A NumPy view (zero-copy on CPU where JAX allows it) of a JAX array."""
    return np.asarray(value)


def flatten_pure(tree: Mapping[Any, Any], prefix: tuple[Any, ...] = ()) -> dict[tuple[Any, ...], Any]:
    """`{'a': {'0': x}}` -> `{('a', '0'): x}` (keys as given)."""
    flat: dict[tuple[Any, ...], Any] = {}
    for name, value in tree.items():
        if isinstance(value, Mapping):
            flat.update(flatten_pure(value, (*prefix, name)))
        else:
            flat[(*prefix, name)] = value
    return flat


def normalise_path(path: Iterable[Any]) -> tuple[str, ...]:
    """A path with every part as a string (pure dicts may use `0` or `'0'` for list indices)."""
    return tuple(str(p) for p in path)
