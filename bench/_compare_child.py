"""Child process of bench/compare.py: run one workload once, print one JSON line; or print the versions.

    python bench/_compare_child.py run LIB WORKLOAD CHECKPOINT_DIR SCRATCH_DIR
    python bench/_compare_child.py profile LIB WORKLOAD CHECKPOINT_DIR SCRATCH_DIR [TOP]   # cProfile the action
    python bench/_compare_child.py versions

LIB is `v4` (.venv-anchor), `ours` or `raw` (.venv). Only the standard library is imported before the workload's
set-up, so interpreter start-up and framework imports are never part of a measurement.
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import sys
from importlib import metadata

MODULES = {"v4": "_compare_v4", "ours": "_compare_ours", "raw": "_compare_raw"}
DISTRIBUTIONS = ("transformers", "pretrained", "torch", "torchvision", "timm", "tensorflow-cpu", "tf-keras", "keras",
                 "jax", "jaxlib", "flax", "safetensors", "huggingface-hub", "numpy")


def run(lib: str, workload: str, checkpoint: str, scratch: str) -> None:
    """Measure one workload in this fresh process and print its figures as JSON."""
    from _compare_common import measure

    module = importlib.import_module(MODULES[lib])
    os.makedirs(scratch, exist_ok=True)
    try:
        result = measure(module.WORKLOADS[workload], checkpoint, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(json.dumps(result))


def profile(lib: str, workload: str, checkpoint: str, scratch: str, top: str = "30") -> None:
    """cProfile the measured action of one workload; print the top functions by cumulative and own time."""
    import cProfile
    import pstats

    module = importlib.import_module(MODULES[lib])
    os.makedirs(scratch, exist_ok=True)
    try:
        action = module.WORKLOADS[workload](checkpoint, scratch)
        profiler = cProfile.Profile()
        profiler.runcall(action)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    stats = pstats.Stats(profiler).strip_dirs()
    for key in ("cumulative", "tottime"):
        stats.sort_stats(key).print_stats(int(top))


def versions() -> None:
    """Print the installed versions of the relevant distributions (no import needed) and Python's."""
    found = {"python": sys.version.split()[0]}
    for name in DISTRIBUTIONS:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    print(json.dumps(found))


def main(argv: list[str]) -> None:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    if argv[:1] == ["versions"]:
        versions()
    elif argv[:1] == ["run"] and len(argv) == 5:
        run(*argv[1:])
    elif argv[:1] == ["profile"] and len(argv) in (5, 6):
        profile(*argv[1:])
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
