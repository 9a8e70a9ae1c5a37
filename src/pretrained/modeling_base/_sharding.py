"""Sharded loads, planned once for every backend: which dimensions of each canonical tensor are split over which
mesh axes, and the slice (hence the byte runs) each device or rank reads.

A backend describes its mesh as axis names and sizes and its plan as `(pattern, spec)` rules — torch's `tp_plan`
becomes such rules through `tp_plan_rules`, jax's `partition_rules` are such rules, in the NNX layout. The first
rule whose pattern `re.search`es a variable's name decides its spec (one mesh axis, a tuple of axes or None per
backend dimension); unmatched variables are replicated. `plan_shards` checks everything before anything is
allocated: a rule that names no variable, a mesh axis that does not exist, a dimension the split does not divide.

Example:
    >>> from pretrained.layout import CanonicalVariable
    >>> variables = {"fc.weight": CanonicalVariable("fc.weight", (4, 6), "float32", transform="kernel")}
    >>> plan = plan_shards(variables, [(r"fc\\.weight", (None, "tp"))], {"tp": 2}, option="partition_rules")
    >>> split = plan["fc.weight"]
    >>> split.axes, split.index({"tp": 1}, {"tp": 2})     # NNX (in, out) split on out = canonical dim 0
    ((('tp',), ()), [(3, 6), (0, 4)])
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..checkpoint import natural_key
from ..errors import ConfigError
from ..layout import CanonicalVariable, canonical_axis_order

Spec = Sequence[str | Sequence[str] | None]
Rule = tuple[str, Spec]

TP_STYLES = ("colwise", "rowwise", "replicate")


@dataclass(frozen=True)
class ShardRules:
    """What a backend's `_shard_rules` hook gives the pipeline: the rules, the mesh's axis sizes (in mesh order),
    the option's name for messages, and the name rules are searched in (default: the canonical key)."""

    rules: Sequence[Rule]
    axis_sizes: Mapping[str, int]
    option: str
    name_of: Callable[[CanonicalVariable], str] = lambda variable: variable.key
    uneven: bool = False

    def plan(self, variables: Mapping[str, CanonicalVariable]) -> dict[str, TensorSplit]:
        """`plan_shards` of these rules over `variables`."""
        return plan_shards(variables, self.rules, self.axis_sizes, option=self.option, name_of=self.name_of,
                           uneven=self.uneven)


@dataclass(frozen=True)
class TensorSplit:
    """How one canonical tensor is split: `axes[d]` are the mesh axes dimension `d` (canonical layout) is split
    over (empty: whole on every device); `rule` is the pattern that chose it; canonical dimension `d` is dimension
    `order[d]` of the backend's variable. `uneven` splits as `torch.chunk` does (FSDP2): pieces of
    `ceil(size / ways)`, the last ones shorter or empty."""

    key: str
    shape: tuple[int, ...]
    axes: tuple[tuple[str, ...], ...]
    rule: str
    order: tuple[int, ...] = ()
    uneven: bool = False

    def backend_spec(self) -> tuple[tuple[str, ...] | None, ...]:
        """The split in the backend's dimension order, a `PartitionSpec`'s entries (None: not split).

        >>> TensorSplit("w", (6, 4), (("tp",), ()), "w", order=(1, 0)).backend_spec()
        (None, ('tp',))
        """
        order = self.order or tuple(range(len(self.shape)))
        spec: list[tuple[str, ...] | None] = [None] * len(order)
        for dim, axes in zip(order, self.axes):
            spec[dim] = axes or None
        return tuple(spec)

    def canonical_index(self, backend_index: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
        """A slice given in the backend's dimension order, in canonical order."""
        order = self.order or tuple(range(len(self.shape)))
        return [tuple(backend_index[dim]) for dim in order]

    def index(self, coords: Mapping[str, int], axis_sizes: Mapping[str, int]) -> list[tuple[int, int]]:
        """The `(start, stop)` per canonical dimension held by the device at `coords` (its position on each axis).

        >>> TensorSplit("w", (8, 3), (("a", "b"), ()), "w").index({"a": 1, "b": 1}, {"a": 2, "b": 2})
        [(6, 8), (0, 3)]
        """
        index = []
        for size, axes in zip(self.shape, self.axes):
            position, ways = 0, 1
            for axis in axes:  # the first axis is the major one, as in a PartitionSpec
                position = position * axis_sizes[axis] + coords[axis]
                ways *= axis_sizes[axis]
            step = -(-size // ways) if self.uneven else size // ways
            start = min(position * step, size)
            index.append((start, min(start + step, size)))
        return index

    @property
    def is_split(self) -> bool:
        return any(self.axes)


def plan_shards(
    variables: Mapping[str, CanonicalVariable],
    rules: Sequence[Rule],
    axis_sizes: Mapping[str, int],
    *,
    option: str,
    name_of: Callable[[CanonicalVariable], str] = lambda variable: variable.key,
    uneven: bool = False,
) -> dict[str, TensorSplit]:
    """`{key: TensorSplit}` for the variables a rule splits (first matching rule wins; `name_of(variable)` is the
    name patterns are searched in, and specs are in the variable's backend layout). Raises `ConfigError` naming
    `option`, the rule, the key and the shapes for a rule matching no variable, an unknown mesh axis, a spec longer
    than the tensor's rank, an axis used twice, or a split that does not divide a dimension (unless `uneven`).

    Example:
        >>> from pretrained.layout import CanonicalVariable
        >>> v = {"w": CanonicalVariable("w", (3, 2), "float32")}
        >>> [plan_shards(v, [("w", ("dp",))], {"dp": 2}, option="o", uneven=True)["w"].index({"dp": r}, {"dp": 2})
        ...  for r in range(2)]
        [[(0, 2), (0, 2)], [(2, 3), (0, 2)]]
    """
    compiled = [(_compile(pattern, option), pattern, tuple(spec)) for pattern, spec in rules]
    used: set[str] = set()
    plan: dict[str, TensorSplit] = {}
    for key in sorted(variables, key=natural_key):  # canonical order: the same first error in every backend
        variable = variables[key]
        name = name_of(variable)
        for regex, pattern, spec in compiled:
            if regex.search(name):
                used.add(pattern)
                split = _split(variable, pattern, spec, axis_sizes, option, uneven)
                if split.is_split:
                    plan[key] = split
                break
    unused = [pattern for _, pattern, _ in compiled if pattern not in used]
    if unused:
        names = [name_of(v) for v in variables.values()]
        raise ConfigError(f"{option}: rule {unused[0]!r} matches no parameter of the model (names look like "
                          f"{names[:3]})")
    return plan


def _compile(pattern: str, option: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ConfigError(f"{option}: rule {pattern!r} is not a regular expression: {exc}") from None


def _split(variable: CanonicalVariable, pattern: str, spec: tuple, axis_sizes: Mapping[str, int],
           option: str, uneven: bool) -> TensorSplit:
    shape = tuple(variable.shape)
    if len(spec) > len(shape):
        raise ConfigError(f"{option}: rule {pattern!r} gives {variable.key} (shape {shape}) a spec of {len(spec)} "
                          f"dimensions {spec}")
    entries = [*spec, *[None] * (len(shape) - len(spec))]
    backend_axes = [() if entry is None else (entry,) if isinstance(entry, str) else tuple(entry) for entry in entries]
    order = canonical_axis_order(variable.transform, len(shape))
    if order is None:
        if any(backend_axes):
            raise ConfigError(f"{option}: {variable.key} has layout {variable.transform!r}, which cannot be split")
        order = tuple(range(len(shape)))
    canonical = tuple(shape[d] for d in order)
    seen: set[str] = set()
    for dim, backend_dim in enumerate(order):  # messages speak of the canonical (checkpoint) dimensions and shape
        axes = backend_axes[backend_dim]
        for axis in axes:
            if axis not in axis_sizes:
                raise ConfigError(f"{option}: rule {pattern!r} names mesh axis {axis!r}, but the mesh has the axes "
                                  f"{list(axis_sizes)}")
            if axis in seen:
                raise ConfigError(f"{option}: rule {pattern!r} uses mesh axis {axis!r} twice for {variable.key}")
            seen.add(axis)
        ways = math.prod(axis_sizes[axis] for axis in axes)
        if canonical[dim] % ways and not uneven:
            raise ConfigError(f"{option}: rule {pattern!r} splits dimension {dim} of {variable.key} (shape "
                              f"{canonical}) {ways} ways over mesh axes {list(axes)}; {canonical[dim]} is not "
                              f"divisible by {ways}")
    return TensorSplit(variable.key, canonical, tuple(backend_axes[d] for d in order), pattern, tuple(order),
                       uneven)


def tp_plan_rules(tp_plan: Mapping[str, str], keys: Sequence[str], *, axis: str, prefix: str = "",
                  embeddings: Sequence[str] = ()) -> list[Rule]:
    """Rules (in canonical layout) of a transformers-style tensor-parallel plan `{module pattern: style}` over the
    model's parameter `keys` (`*` matches one module index; an optional `prefix.` — the base model's — may
    precede): `"colwise"` splits a linear layer's outputs (weight dim 0, bias), `"rowwise"` its inputs (weight dim
    1; the bias is replicated), `"replicate"` nothing. For modules named in `embeddings` (nn.Embedding) colwise
    splits the embedding dimension and rowwise the vocabulary, as torch's parallel styles do. A pattern that
    matches no parameter, or an unknown style, is a `ConfigError` naming it.

    Example:
        >>> rules = tp_plan_rules({"layer.*.fc": "colwise"}, ["layer.0.fc.weight"], axis="tp")
        >>> [(re.search(pattern, "layer.0.fc.weight") is not None, spec) for pattern, spec in rules]
        [(True, ('tp', None))]
    """
    rules: list[Rule] = []
    for pattern, style in tp_plan.items():
        if style not in TP_STYLES:
            raise ConfigError(f"tp_plan: {pattern!r} has style {style!r}; expected one of {list(TP_STYLES)}")
        module = re.escape(pattern).replace(r"\*", r"\d+")
        if prefix:
            module = f"(?:{re.escape(prefix)}\\.)?{module}"
        embedding = any(re.fullmatch(module, name) for name in embeddings)
        weight: tuple[Any, ...] = {"colwise": (axis, None), "rowwise": (None, axis), "replicate": ()}[style]
        if embedding and style != "replicate":
            weight = weight[::-1]
        candidates = [(f"^(?:{module})\\.weight$", weight)]
        if not embedding:
            candidates.append((f"^(?:{module})\\.bias$", (axis,) if style == "colwise" else ()))
        matched = [rule for rule in candidates if any(re.search(rule[0], key) for key in keys)]
        if not matched:
            raise ConfigError(f"tp_plan: module pattern {pattern!r} matches no parameter of the model (keys look "
                              f"like {list(keys)[:3]})")
        rules.extend(matched)
    return rules


__all__ = ["TP_STYLES", "ShardRules", "TensorSplit", "plan_shards", "tp_plan_rules"]
