"""Side by side with transformers v4: load and save times and peak RSS growth, `pretrained` vs transformers 4.57.6.

    bench/anchor.sh                       # once: .venv-anchor with transformers 4.57.6 (never mixed into .venv)
    .venv/bin/python bench/compare.py [--runs 3] [--quick] [--only resnet_load,bert_load,bert_save]
    .venv/bin/python bench/compare.py --report-only     # re-render the page from the saved results

Workloads (each run a fresh process; v4 and ours alternate run by run; raw `safetensors` reads as the reference):
ResNet-50d `from_pretrained` (the custom-models guide's timm wrapper in both libraries); a BERT-large-layout
checkpoint (~1.34 GB fp32, PyTorch format) loaded in torch, TensorFlow and Flax then every weight read once; saving
it from each backend. Checkpoints are made once in `bench/.work/compare/`; results go to
`bench/.work/compare/results.json`, the page and charts to `docs/benchmarks/` (`--quick`: `bench/.work/compare/quick/`).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORK = HERE / ".work" / "compare"
CHILD = HERE / "_compare_child.py"
DOCS = ROOT / "docs" / "benchmarks"

GROUPS: dict[str, dict[str, Any]] = {
    "resnet_load": {
        "title": "ResNet-50d: from_pretrained (PyTorch)",
        "description": "The custom-models guide's `ResnetModelForImageClassification` (timm's ResNet-50d as "
                       "`self.model`), identical state dict in both libraries: `from_pretrained` + one read of "
                       "every weight.",
        "checkpoint": "resnet50d", "workloads": ["resnet_load"], "raw": ["read_torch_mmap", "read_numpy"],
    },
    "bert_load": {
        "title": "BERT-large layout: load in each backend",
        "description": "One PyTorch-format checkpoint. transformers v4: `BertModel.from_pretrained`, "
                       "`TFBertModel.from_pretrained(from_pt=True)`, `FlaxBertModel.from_pretrained(from_pt=True)`; "
                       "pretrained: `BertModel` / `TFBertModel` / `FlaxBertModel` from `pretrained.models.bert`, no "
                       "flag. Time = `from_pretrained` + one read of every weight (torch: `tensor.sum()`, TF: "
                       "`tf.reduce_sum`, Flax: NumPy sum of each array). ours ÷ raw is against the raw "
                       "`safetensors.torch.load_file` read of the same file.",
        "checkpoint": "bert", "workloads": ["bert_load_torch", "bert_load_tf", "bert_load_flax"],
        "raw": ["read_torch_mmap", "read_numpy"],
    },
    "bert_save": {
        "title": "BERT-large layout: save_pretrained from each backend",
        "description": "The model is loaded first (not timed); the time is `save_pretrained` alone. v4 saves with "
                       "`safe_serialization=True` (its TF / Flax files are in v4's own TF / Flax layout, which "
                       "PyTorch cannot read without conversion); pretrained writes the one canonical checkpoint from "
                       "every backend. RSS growth is over the RSS with the model loaded. ours ÷ raw is against "
                       "`safetensors.numpy.save_file` of the same arrays.",
        "checkpoint": "bert", "workloads": ["bert_save_torch", "bert_save_tf", "bert_save_flax"],
        "raw": ["save_numpy"],
    },
}
METHOD = [
    "Every cell runs in a fresh Python process; set-up (imports, a one-op warm-up of the framework, and for saves "
    "the load) is not timed.",
    "Runs alternate: odd runs v4 first, even runs ours first; the raw references run in every round.",
    "Before each group the checkpoint file is read once so every run sees it in the page cache.",
    "Figures are medians over the runs; brackets hold min–max. 1 GB = 10^9 bytes.",
    "Goals (issue 8): torch ≤ 1.05× the raw torch read; TF and Flax ≤ 1.5× the raw torch read and peak RSS growth "
    "≤ 1.2× the checkpoint; every row at least as fast as transformers v4.",
]


# ------------------------------------------------------------------------------------------------ child runs
def child_env() -> dict[str, str]:
    """Quiet, deterministic environment for the workers."""
    return {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PRETRAINED_DISABLE_PROGRESS_BARS": "1",
            "TRANSFORMERS_VERBOSITY": "error", "TRANSFORMERS_NO_ADVISORY_WARNINGS": "1", "HF_HUB_OFFLINE": "1",
            "PYTHONWARNINGS": "ignore", "JAX_PLATFORMS": "cpu", "CUDA_VISIBLE_DEVICES": ""}


def run_child(python: str, lib: str, workload: str, checkpoint: Path, timeout: float) -> dict[str, Any]:
    """One measured run in a fresh process; failures come back as `{"ok": False, "error": ...}`."""
    scratch = WORK / "scratch" / f"{lib}-{workload}-{os.getpid()}"
    command = [python, str(CHILD), "run", lib, workload, str(checkpoint), str(scratch)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, env=child_env(), timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return {"ok": False, "error": f"timed out after {timeout:.0f} s"}
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        return {"ok": False, "error": f"exit {done.returncode}: {done.stderr[-2000:]}"}
    return {"ok": True, **json.loads(lines[-1])}


def versions(python: str) -> dict[str, str]:
    """Package versions in one environment (no framework import)."""
    done = subprocess.run([python, str(CHILD), "versions"], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def warm_page_cache(directory: Path) -> None:
    """Read the weights once so every measured run sees them in the page cache."""
    for path in directory.glob("*.safetensors"):
        with open(path, "rb") as handle:
            while handle.read(64 << 20):
                pass


# ------------------------------------------------------------------------------------------------ the driver
def measure(groups: dict[str, dict], pythons: dict[str, str], runs: int, timeout: float) -> list[dict[str, Any]]:
    """All runs of all groups, in alternating order; progress on stderr."""
    results = []
    for name, spec in groups.items():
        checkpoint = Path(spec["checkpoint_dir"])
        warm_page_cache(checkpoint)
        for run in range(runs):
            order = ("v4", "ours") if run % 2 == 0 else ("ours", "v4")
            cells = [(lib, w) for w in spec["workloads"] for lib in order] + [("raw", w) for w in spec["raw"]]
            for lib, workload in cells:
                record = run_child(pythons[lib], lib, workload, checkpoint, timeout)
                results.append({"group": name, "lib": lib, "workload": workload, "run": run, **record})
                _progress(results[-1])
    return results


def _progress(record: dict[str, Any]) -> None:
    if record["ok"]:
        seconds = record.get("save_s", record["seconds"])
        text = f"{seconds:7.2f} s  RSS +{record['rss_growth'] / 1e9:.2f} GB"
    else:
        text = "FAILED: " + record["error"].strip().splitlines()[-1][:200] if record["error"].strip() else "FAILED"
    print(f"[{record['group']} run {record['run'] + 1}] {record['lib']:>4} {record['workload']:<16} {text}",
          file=sys.stderr, flush=True)


def machine() -> dict[str, Any]:
    """Cores, memory, CPU model, platform and load average of this machine."""
    import psutil

    model = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        names = [line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines() if line.startswith("model name")]
        model = names[0] if names else model
    return {"cpu_model": model, "cores": os.cpu_count(), "memory_gb": psutil.virtual_memory().total / 1e9,
            "platform": platform.platform(), "loadavg": " / ".join(f"{x:.1f}" for x in os.getloadavg())}


def selected_groups(only: str | None, checkpoints: dict[str, Path]) -> dict[str, dict]:
    """The groups to run, each with its checkpoint directory and size filled in."""
    from _compare_fixtures import checkpoint_bytes

    names = [n.strip() for n in only.split(",")] if only else list(GROUPS)
    unknown = sorted(set(names) - set(GROUPS))
    if unknown:
        raise SystemExit(f"unknown group(s) {unknown}; choose from {sorted(GROUPS)}")
    out = {}
    for name in names:
        directory = checkpoints[GROUPS[name]["checkpoint"]]
        out[name] = {**GROUPS[name], "checkpoint": directory.name, "checkpoint_dir": str(directory),
                     "checkpoint_bytes": checkpoint_bytes(directory)}
    return out


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per cell, each a fresh process (default 3)")
    parser.add_argument("--quick", action="store_true", help="smoke mode: 1 run, a 2-layer BERT, report to .work")
    parser.add_argument("--only", help="comma-separated groups: " + ",".join(GROUPS))
    parser.add_argument("--anchor-python", default=str(ROOT / ".venv-anchor" / "bin" / "python"))
    parser.add_argument("--python", default=sys.executable, help="the project's interpreter (ours and raw)")
    parser.add_argument("--out", type=Path, help="report directory (default docs/benchmarks, --quick: .work)")
    parser.add_argument("--timeout", type=float, default=900, help="seconds per run before it counts as failed")
    parser.add_argument("--report-only", action="store_true", help="re-render the report from the saved results")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    sys.path.insert(0, str(HERE))
    from _compare_fixtures import checkpoints
    from _compare_report import render

    args = parse_args(argv)
    runs = 1 if args.quick else args.runs
    out = args.out or (WORK / "quick" if args.quick else DOCS)
    results_path = WORK / ("results-quick.json" if args.quick else "results.json")
    if args.report_only:
        print(render(json.loads(results_path.read_text(encoding="utf-8")), out))
        return
    if not Path(args.anchor_python).exists():
        raise SystemExit(f"{args.anchor_python} is missing: run bench/anchor.sh first (or `make bench`)")
    WORK.mkdir(parents=True, exist_ok=True)
    groups = selected_groups(args.only, checkpoints(WORK, args.quick))
    pythons = {"v4": args.anchor_python, "ours": args.python, "raw": args.python}
    meta: dict[str, Any] = {"runs": runs, "machine": machine(), "method": METHOD,
                            "versions": {"ours": versions(args.python), "v4": versions(args.anchor_python)}}
    start = time.time()
    records = measure(groups, pythons, runs, args.timeout)
    meta.update(wall_s=time.time() - start, finished=time.strftime("%Y-%m-%d %H:%M %Z"))
    results = {"meta": meta, "groups": groups, "runs": records}
    results_path.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    print(f"results: {results_path}\npage: {render(results, out)}", file=sys.stderr)


if __name__ == "__main__":
    main()
