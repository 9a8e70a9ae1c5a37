"""Key plans and loading reports: how a model's canonical keys line up with a checkpoint's, and what a load says
about it. Framework-free; the pipeline that uses them is [`pretrained.modeling_base`][pretrained.modeling_base].

Example:
    >>> from pretrained.loading import plan_keys
    >>> plan = plan_keys(["bert.pooler.weight", "cls.bias"], ["pooler.weight", "extra"], base_model_prefix="bert")
    >>> plan.to_load, plan.missing, plan.unexpected
    ({'bert.pooler.weight': 'pooler.weight'}, ['cls.bias'], ['extra'])
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .checkpoint import FLOAT_DTYPES, natural_key
from .configuration import dtype_name
from .errors import ConfigError, CorruptCheckpointError, IncompleteLoadError, ShapeMismatchError
from .layout import is_num_batches_tracked
from .utils import logging

logger = logging.get_logger(__name__)

Mismatch = tuple[str, tuple[int, ...], tuple[int, ...]]  # (checkpoint key, checkpoint shape, model shape)
# the last component of a key that holds a module's extra state (PyTorch's get_extra_state / set_extra_state), not a
# weight: any shape loads
EXTRA_STATE = "_extra_state"


def is_extra_state(key: str) -> bool:
    """Whether `key` names a module's extra state (`<module>._extra_state`).

    >>> is_extra_state("encoder.norm._extra_state"), is_extra_state("encoder.norm.weight")
    (True, False)
    """
    return key.rpartition(".")[2] == EXTRA_STATE


# --------------------------------------------------------------------------------------------- dtype
def resolve_dtype(dtype: Any, reader: Any, *, config_dtype: str | None = None) -> str | None:
    """`None` -> None (the backend default); `"auto"` -> the `dtype` recorded in `config.json` (`config_dtype`, as
    transformers v4 did), else the one floating dtype stored in the checkpoint; anything else -> its name. With no
    recorded dtype, a checkpoint of several floating dtypes and `dtype="auto"` is an error."""
    if dtype is None:
        return None
    if isinstance(dtype, str) and dtype == "auto":
        if config_dtype is not None:
            return dtype_name(config_dtype)
        if reader is None:
            return None
        found: dict[str, str] = {}
        for key in reader.keys():
            info = reader.info(key)
            if info.dtype in FLOAT_DTYPES:
                found.setdefault(info.dtype, key)
        if len(found) > 1:
            examples = ", ".join(f"{d} (e.g. {k!r})" for d, k in sorted(found.items()))
            raise ConfigError(
                f"dtype='auto' is ambiguous: {reader.checkpoint.files[0]} stores several floating dtypes: {examples}. "
                "Pass an explicit dtype."
            )
        return next(iter(found), None)
    return dtype_name(dtype)


# --------------------------------------------------------------------------------------------- key matching
@dataclass
class KeyPlan:
    """How the model's canonical keys line up with the checkpoint's keys."""

    to_load: dict[str, str]  # model key -> checkpoint key
    missing: list[str]
    unexpected: list[str]
    prefix_action: str | None = None  # "strip": base checkpoint into a head model; "add": the reverse
    probably_renamed: list[tuple[str, str]] = field(default_factory=list)  # (missing, unexpected), one shape
    renamed: dict[str, str] = field(default_factory=dict)  # legacy checkpoint key -> the model key it loads into


# transformers v4's legacy names, renamed on load: whole last components only (a `gamma` parameter of the model, e.g.
# a LayerScale, still loads from `gamma`), and only when the model has no key of the checkpoint's name
LEGACY_LEAF_RENAMES = {"gamma": "weight", "beta": "bias"}
_WEIGHT_NORM = {"weight_g": "parametrizations.weight.original0", "weight_v": "parametrizations.weight.original1"}


def legacy_alternatives(key: str) -> list[str]:
    """The current names a legacy checkpoint key may stand for: `LayerNorm.gamma` / `.beta` (TF-era BERT
    checkpoints) -> `.weight` / `.bias`; weight norm's `weight_g` / `weight_v` <-> PyTorch's
    `parametrizations.weight.original0` / `original1`, both ways.

    >>> legacy_alternatives("encoder.LayerNorm.gamma"), legacy_alternatives("conv.weight_v")
    (['encoder.LayerNorm.weight'], ['conv.parametrizations.weight.original1'])
    >>> legacy_alternatives("conv.parametrizations.weight.original0")
    ['conv.weight_g']
    """
    stem, dot, leaf = key.rpartition(".")
    alternatives = []
    if leaf in LEGACY_LEAF_RENAMES:
        alternatives.append(f"{stem}{dot}{LEGACY_LEAF_RENAMES[leaf]}")
    if leaf in _WEIGHT_NORM:
        alternatives.append(f"{stem}{dot}{_WEIGHT_NORM[leaf]}")
    for old, new in _WEIGHT_NORM.items():
        if key == new or key.endswith(f".{new}"):
            alternatives.append(key[: len(key) - len(new)] + old)
    return alternatives


def plan_keys(
    model_keys: Iterable[str],
    checkpoint_keys: Iterable[str],
    *,
    base_model_prefix: str = "",
    ignore_missing: Iterable[str] = (),
    ignore_unexpected: Iterable[str] = (),
    tied_groups: Iterable[Iterable[str]] = (),
    source: str = "the checkpoint",
) -> KeyPlan:
    """Match model keys to checkpoint keys, adding or stripping `base_model_prefix` on the model side.

    `num_batches_tracked` is never reported (TF and Flax have no such variable). Keys in a tied group are not
    missing when another member of the group is loaded. `ignore_*` are regular expressions (`re.search`). Legacy
    names ([`legacy_alternatives`][pretrained.loading.legacy_alternatives]) load into the model key they stand for
    (listed in `plan.renamed`). A checkpoint whose base keys lack the prefix but that also holds the head's keys is
    refused (`CorruptCheckpointError` naming `source` and the keys), as v4 does.

    >>> plan = plan_keys(["bert.embeddings.weight", "cls.bias"], ["embeddings.weight"], base_model_prefix="bert")
    >>> plan.to_load, plan.missing, plan.prefix_action
    ({'bert.embeddings.weight': 'embeddings.weight'}, ['cls.bias'], 'strip')
    """
    model_keys = list(model_keys)
    checkpoint_keys = list(checkpoint_keys)
    checkpoint_set = set(checkpoint_keys)
    dotted = f"{base_model_prefix}." if base_model_prefix else ""
    has_prefix = bool(dotted) and any(k.startswith(dotted) for k in checkpoint_keys)
    expects_prefix = bool(dotted) and any(k.startswith(dotted) for k in model_keys)
    action = None
    if expects_prefix and not has_prefix:
        action = "strip"
    elif has_prefix and not expects_prefix:
        action = "add"

    if action == "strip":
        head_keys = [k for k in checkpoint_keys if k in set(model_keys) and not k.startswith(dotted)]
        if head_keys:
            raise CorruptCheckpointError(
                f"{source}: the checkpoint is corrupted: its base-model keys have no {dotted!r} prefix, yet it also "
                f"holds head keys of the model: {head_keys[:10]}. Was it saved from one model?"
            )

    def source_key(model_key: str) -> str:
        if action == "strip" and model_key.startswith(dotted):
            return model_key[len(dotted):]
        if action == "add":
            return dotted + model_key
        return model_key

    legacy = {alt: key for key in checkpoint_keys for alt in legacy_alternatives(key) if alt not in checkpoint_set}
    to_load: dict[str, str] = {}
    renamed: dict[str, str] = {}
    missing: list[str] = []
    for key in model_keys:
        wanted = source_key(key)
        if wanted in checkpoint_set:
            to_load[key] = wanted
        elif wanted in legacy:
            to_load[key] = legacy[wanted]
            renamed[legacy[wanted]] = key
        else:
            missing.append(key)
    used = set(to_load.values())
    unexpected = [k for k in checkpoint_keys if k not in used]
    for group in tied_groups:
        group = list(group)
        if any(member in to_load for member in group):
            missing = [k for k in missing if k not in group]
    missing = [k for k in missing if not is_num_batches_tracked(k) and not matches_any(k, ignore_missing)]
    unexpected = [k for k in unexpected if not is_num_batches_tracked(k) and not matches_any(k, ignore_unexpected)]
    return KeyPlan(to_load=to_load, missing=missing, unexpected=unexpected, prefix_action=action, renamed=renamed)


def matches_any(key: str, patterns: Iterable[str]) -> bool:
    """True when one of the regular expressions `patterns` is found in `key` (`re.search`): the meaning of every
    `_keys_to_ignore_*` list.

    >>> matches_any("bert.pooler.dense.weight", [r"pooler"]), matches_any("x", [])
    (True, False)
    """
    return any(re.search(pattern, key) for pattern in patterns or ())


def find_mismatched(
    plan: KeyPlan, model_shapes: Mapping[str, tuple[int, ...]], reader: Any
) -> list[Mismatch]:
    """`(checkpoint key, checkpoint shape, model shape)` for every planned key whose shapes differ (keys without a
    model shape, such as PyTorch's extra state, take any shape)."""
    mismatched = []
    for model_key, checkpoint_key in plan.to_load.items():
        if model_key not in model_shapes:
            continue
        stored = tuple(reader.info(checkpoint_key).shape)
        wanted = tuple(model_shapes[model_key])
        if stored != wanted:
            mismatched.append((checkpoint_key, stored, wanted))
    return mismatched


def drop_mismatched(
    plan: KeyPlan,
    mismatched: list[Mismatch],
    *,
    ignore_mismatched_sizes: bool,
    source: str,
    model_class: str,
    layouts: Mapping[str, tuple[str, str]] | None = None,
) -> None:
    """With `ignore_mismatched_sizes`, remove mismatched keys from the plan (they get initialised instead);
    without it, raise one error listing every key and both shapes.

    A tensor stored as the exact transpose of the model's is a layout mismatch, not a size change: it is refused
    (even with `ignore_mismatched_sizes`, which would leave a wrongly initialised model) with the declaration that
    fixes it. `layouts` maps a checkpoint key to the model variable's backend path and layout transform.
    """
    if not mismatched:
        return
    transposed = [entry for entry in mismatched if is_transposed(entry[1], entry[2])]
    if transposed:
        raise ShapeMismatchError(layout_mismatch_message(transposed, layouts or {}, model_class=model_class,
                                                         source=source))
    if not ignore_mismatched_sizes:
        lines = "\n".join(f"  - {key}: checkpoint {list(a)} vs model {list(b)}" for key, a, b in mismatched)
        raise ShapeMismatchError(
            f"Error(s) in loading weights for {model_class} from {source}: shapes do not match:\n{lines}\n"
            "Pass ignore_mismatched_sizes=True to initialise these weights instead."
        )
    dropped = {key for key, _, _ in mismatched}
    for model_key, checkpoint_key in list(plan.to_load.items()):
        if checkpoint_key in dropped:
            del plan.to_load[model_key]


def is_transposed(stored: tuple[int, ...], wanted: tuple[int, ...]) -> bool:
    """Whether a checkpoint tensor of shape `stored` is the model's `wanted` one stored the other way round.

    >>> is_transposed((8, 24), (24, 8)), is_transposed((8, 8), (8, 8)), is_transposed((3,), (4,))
    (True, False, False)
    """
    return len(stored) >= 2 and tuple(stored) != tuple(wanted) and tuple(stored) == tuple(wanted)[::-1]


_FIXING_TRANSFORM = {"identity": "transpose", "kernel": "identity", "transpose": "identity"}


def layout_mismatch_message(transposed: list[Mismatch], layouts: Mapping[str, tuple[str, str]], *,
                            model_class: str, source: str) -> str:
    """The error for tensors stored transposed: each key, both shapes, and the layout declaration that fixes it.

    >>> message = layout_mismatch_message([("h.0.c_attn.weight", (8, 24), (24, 8))],
    ...                                   {"h.0.c_attn.weight": ("h.0.c_attn.kernel", "kernel")},
    ...                                   model_class="TFNet", source="ckpt")
    >>> print(message.splitlines()[2])
        declare its layout: canonical_layout = {"kernel": ("weight", "identity")} on its layer class
    """
    lines = []
    for key, stored, wanted in transposed:
        path, transform = layouts.get(key, (key, "identity"))
        fix = _FIXING_TRANSFORM.get(transform, "identity")
        leaf, canonical_leaf = path.rsplit(".", 1)[-1], key.rsplit(".", 1)[-1]
        lines.append(
            f"  - layout mismatch for {key}: the checkpoint stores {list(stored)}, the model's {path} is "
            f"{list(wanted)} in PyTorch layout (transform {transform!r});\n"
            f'    declare its layout: canonical_layout = {{"{leaf}": ("{canonical_leaf}", "{fix}")}} on its layer class'
            f"\n    (or a LayoutOverride with transform {fix!r} in the model's _layout_overrides)"
        )
    return (f"Error(s) in loading weights for {model_class} from {source}: tensors stored transposed (a layout "
            "mismatch, not a size change: ignore_mismatched_sizes would give a wrong model):\n" + "\n".join(lines))


def probable_renames(plan: KeyPlan, model_shapes: Mapping[str, tuple[int, ...]],
                     checkpoint_shapes: Mapping[str, tuple[int, ...]]) -> list[tuple[str, str]]:
    """`(missing key, unexpected key)` pairs that are probably one weight under two names: the only missing and
    the only unexpected key of their shape (and, among several, the ones with the same last name).

    >>> plan = KeyPlan(to_load={}, missing=["h.0.attn.weight"], unexpected=["h.0.attention.weight"])
    >>> probable_renames(plan, {"h.0.attn.weight": (4, 4)}, {"h.0.attention.weight": (4, 4)})
    [('h.0.attn.weight', 'h.0.attention.weight')]
    """
    pairs = []
    for shape in {tuple(model_shapes[key]) for key in plan.missing if key in model_shapes}:
        missing = [key for key in plan.missing if tuple(model_shapes.get(key, ())) == shape]
        unexpected = [key for key in plan.unexpected if tuple(checkpoint_shapes.get(key, ())) == shape]
        if len(missing) == 1 and len(unexpected) == 1:
            pairs.append((missing[0], unexpected[0]))
        elif len(missing) == len(unexpected) <= 8:  # pair by leaf name and position (h.0 with h.0)
            by_leaf = sorted(missing, key=natural_key), sorted(unexpected, key=natural_key)
            pairs += [(a, b) for a, b in zip(*by_leaf) if a.rsplit(".", 1)[-1] == b.rsplit(".", 1)[-1]]
    return sorted(pairs, key=lambda pair: natural_key(pair[0]))


# --------------------------------------------------------------------------------------------- reports
@dataclass
class LoadingReport:
    """What a load did: `missing_keys` (initialised from scratch), `unexpected_keys` (in the checkpoint, unused),
    `mismatched_keys` (`(key, checkpoint shape, model shape)`, initialised instead), `error_msgs`."""

    missing_keys: list[str] = field(default_factory=list)
    unexpected_keys: list[str] = field(default_factory=list)
    mismatched_keys: list[Mismatch] = field(default_factory=list)
    error_msgs: list[str] = field(default_factory=list)
    probably_renamed: list[tuple[str, str]] = field(default_factory=list)  # (missing, unexpected): one weight?

    @classmethod
    def from_plan(cls, plan: KeyPlan, mismatched: list[Mismatch]) -> LoadingReport:
        """The report of a plan, keys in natural order (`layer.2` before `layer.10`): the same in every backend."""
        return cls(missing_keys=sorted(plan.missing, key=natural_key),
                   unexpected_keys=sorted(plan.unexpected, key=natural_key),
                   mismatched_keys=sorted(mismatched, key=lambda m: natural_key(m[0])),
                   probably_renamed=list(plan.probably_renamed))

    def as_dict(self) -> dict[str, list]:
        """transformers v4's `output_loading_info` dict."""
        return {
            "missing_keys": list(self.missing_keys),
            "unexpected_keys": list(self.unexpected_keys),
            "mismatched_keys": list(self.mismatched_keys),
            "error_msgs": list(self.error_msgs),
        }

    def __getitem__(self, key: str) -> list:  # lets v4 code index the report like a dict
        return self.as_dict()[key]

    @property
    def is_complete(self) -> bool:
        return not (self.missing_keys or self.unexpected_keys or self.mismatched_keys or self.error_msgs)

    def messages(self, *, model_class: str, source: str) -> list[tuple[str, str]]:
        """`(part, text)` for each incomplete part (`"missing"`, `"unexpected"`, `"mismatched"`, `"renamed"` (a
        hint pairing missing and unexpected keys of one shape), `"errors"`), in
        transformers v4's wording (tests written against v4 match these phrases)."""
        train = ("You should probably TRAIN this model on a down-stream task before using it for predictions and "
                 "inference.")
        parts = []
        if self.missing_keys:
            parts.append(("missing", (
                f"Some weights of {model_class} were not initialized from the model checkpoint at {source} and are "
                f"newly initialized: {self.missing_keys}\n{train}")))
        if self.unexpected_keys:
            parts.append(("unexpected", (
                f"Some weights of the model checkpoint at {source} were not used when initializing {model_class}: "
                f"{self.unexpected_keys}\n- This IS expected if {model_class} is initialized from the checkpoint of "
                "a model trained on another task or with another architecture (e.g. a pretraining checkpoint into a "
                f"classification model).\n- This IS NOT expected if the checkpoint comes from a model that should "
                f"match {model_class} exactly.")))
        if self.mismatched_keys:
            lines = "\n".join(f"- {key}: found shape {tuple(a)} in the checkpoint and {tuple(b)} in the model "
                              "instantiated" for key, a, b in self.mismatched_keys)
            parts.append(("mismatched", (
                f"Some weights of {model_class} were not initialized from the model checkpoint at {source} and are "
                f"newly initialized because the shapes did not match:\n{lines}\n{train}")))
        if self.probably_renamed:
            pairs = "; ".join(f"{a} <-> {b}" for a, b in self.probably_renamed)
            parts.append(("renamed", (
                f"Same shapes, different names: probably renamed: {pairs} (model <-> checkpoint). Rename the "
                "attribute (or the layer's name=), or declare the key with a LayoutOverride.")))
        parts.extend(("errors", text) for text in self.error_msgs)
        return parts

    def message(self, *, model_class: str, source: str) -> str:
        """Every incomplete part of the load, as one text (what `strict=True` raises).

        >>> LoadingReport(missing_keys=["cls.bias"]).message(model_class="M", source="ckpt").splitlines()[0]
        "Some weights of M were not initialized from the model checkpoint at ckpt and are newly initialized: ['cls.bias']"
        """
        return "\n".join(text for _, text in self.messages(model_class=model_class, source=source))

    def finish(self, *, model_class: str, source: str, strict: bool, warn_unexpected: bool = True) -> None:
        """Raise `IncompleteLoadError` (with `strict=True`) or log each incomplete part as a warning, except unused
        checkpoint weights with `warn_unexpected=False`: info (v4 warns about them only when the model's class is
        among the checkpoint's `config.architectures`; a checkpoint of another architecture holds weights the class
        is not expected to use).

        >>> LoadingReport().finish(model_class="M", source="ckpt", strict=True)
        """
        if self.is_complete:
            logger.info("All the weights of %s were initialized from the model checkpoint at %s.", model_class, source)
            return
        if strict:
            raise IncompleteLoadError(f"strict=True: {self.message(model_class=model_class, source=source)}")
        for part, text in self.messages(model_class=model_class, source=source):
            if part == "unexpected" and not warn_unexpected:
                logger.info(text)
            else:
                logger.warning(text)
