"""`pretrained diff`: compare two checkpoints key by key (tensors read one pair at a time)."""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ..checkpoint import to_numpy
from ..utils import progress
from ._common import Source, locate

HELP = "compare two checkpoints key by key"


def diff_sources(a: Source, b: Source, *, atol: float = 0.0) -> dict[str, Any]:
    """Keys only in A / only in B, shape or dtype differences, and the max abs value difference per shared key
    (tensors read one pair at a time)."""
    with a.open() as left, b.open() as right:
        keys_a, keys_b = set(left.keys()), set(right.keys())
        shared = [k for k in left.keys() if k in keys_b]
        layout = {}
        values: dict[str, float] = {}
        with progress.bar(total=len(shared), desc="Comparing tensors", unit="tensor",
                          enabled=left.total_bytes() > progress.MIN_BYTES_FOR_BAR) as bar:
            for key in shared:
                ia, ib = left.info(key), right.info(key)
                if (ia.shape, ia.dtype) != (ib.shape, ib.dtype):
                    layout[key] = {"a": [list(ia.shape), ia.dtype], "b": [list(ib.shape), ib.dtype]}
                if ia.shape == ib.shape:
                    delta = _max_abs_diff(left.get(key), right.get(key))
                    if delta > atol or math.isnan(delta):
                        values[key] = delta
                bar.update(1)
    return {
        "only_in_a": sorted(keys_a - keys_b),
        "only_in_b": sorted(keys_b - keys_a),
        "shape_or_dtype": layout,
        "values": values,
    }


def _max_abs_diff(x: Any, y: Any) -> float:
    a, b = to_numpy(x), to_numpy(y)
    if a.size == 0:
        return 0.0
    if a.dtype == np.bool_ or b.dtype == np.bool_:
        return float(np.count_nonzero(a != b))
    wide = np.float64 if (a.dtype.kind in "iu" or b.dtype.kind in "iu") else np.float32
    return float(np.max(np.abs(a.astype(wide) - b.astype(wide))))


def format_diff(result: dict[str, Any], a: str, b: str) -> str:
    """The human-readable form of [`diff_sources`][pretrained.cli.diff.diff_sources]'s result."""
    lines = []
    for title, keys in ((f"only in {a}", result["only_in_a"]), (f"only in {b}", result["only_in_b"])):
        if keys:
            lines.append(f"{title} ({len(keys)}):")
            lines += [f"  {k}" for k in keys]
    if result["shape_or_dtype"]:
        lines.append(f"shape or dtype differs ({len(result['shape_or_dtype'])}):")
        for key, sides in result["shape_or_dtype"].items():
            lines.append(f"  {key}: {sides['a'][0]} {sides['a'][1]} vs {sides['b'][0]} {sides['b'][1]}")
    if result["values"]:
        lines.append(f"values differ ({len(result['values'])}, max abs difference):")
        lines += [f"  {key}: {delta:.3g}" for key, delta in result["values"].items()]
    return "\n".join(lines) if lines else "no differences"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("a", metavar="A")
    parser.add_argument("b", metavar="B")
    parser.add_argument("--revision", help="branch, tag or commit (for repo ids)")
    parser.add_argument("--atol", type=float, default=0.0, help="ignore value differences up to this (default 0)")
    parser.add_argument("--json", action="store_true", help="print JSON for machines")


def run(args: argparse.Namespace, echo: Callable[[str], None]) -> int:
    """Exit code 1 when anything differs, 0 otherwise."""
    result = diff_sources(locate(args.a, revision=args.revision), locate(args.b, revision=args.revision),
                          atol=args.atol)
    echo(json.dumps(result, indent=2) if args.json else format_diff(result, args.a, args.b))
    return 1 if any(result.values()) else 0
