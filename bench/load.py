"""Load benchmark: `from_pretrained` against the raw safetensors read and against construct-with-random-init +
`load_state_dict`, each workload in a fresh process, several alternating runs.

    python bench/load.py [--backends torch,tf,flax] [--runs N] [--quick]

Checkpoints are made once and cached under `bench/.work/` (gitignored): ResNet-50d (~100 MB) and a random
BERT-large-size encoder (~1.3 GB; `--quick` uses a BERT-base-size one, ~0.44 GB), both fp32 canonical safetensors.

Each backend is a module `bench/_load_<backend>.py` exposing `WORKLOADS = {name: callable(checkpoint_dir)}`; the
callable loads the checkpoint in that (fresh) process and reads every weight once. Optional module attributes:
`TARGET` (the workload being judged, default "from_pretrained"), `BASELINE` (the raw read, default
"raw_safetensors") and `SLOW_PATH` (default "init+load_state_dict"). Time is wall time of the callable; memory is
the peak RSS growth over the RSS measured after imports (psutil, sampled every millisecond in a thread, cross-checked
with `ru_maxrss`). Results: a Markdown table on stdout and `bench/.work/results-load.json`.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import resource
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORK = HERE / ".work"
BACKENDS = ("torch", "tf", "flax")

RESNET50D = dict(block_type="bottleneck", layers=[3, 4, 6, 3], stem_width=32, stem_type="deep", avg_down=True)
BERT_LARGE = dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096)
BERT_BASE = dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072)


# --------------------------------------------------------------------------------------------- checkpoints
def make_checkpoints(quick: bool) -> dict[str, Path]:
    """Create (once) and return the benchmark checkpoints: name -> directory."""
    bert_name = "bert-base" if quick else "bert-large"
    wanted = {"resnet50d": WORK / "resnet50d", bert_name: WORK / bert_name}
    for name, directory in wanted.items():
        if not (directory / "model.safetensors").is_file():
            print(f"making the {name} checkpoint in {directory} (once) ...", file=sys.stderr)
            _make(name, directory)
    return wanted


def _make(name: str, directory: Path) -> None:
    import torch

    from pretrained.torch import no_init_weights

    torch.manual_seed(0)
    if name == "resnet50d":
        from pretrained.models.resnet import ResnetConfig, ResnetModelForImageClassification

        model = ResnetModelForImageClassification(ResnetConfig(**RESNET50D))
    else:
        from pretrained.models.bert import BertConfig, BertModel

        with no_init_weights():  # random values, but cheaper than BERT's full init
            model = BertModel(BertConfig(**(BERT_LARGE if name == "bert-large" else BERT_BASE)))
        with torch.no_grad():
            for tensor in model.state_dict().values():
                if tensor.is_floating_point():
                    tensor.normal_(0.0, 0.02)
    model.save_pretrained(directory)


def checkpoint_bytes(directory: Path) -> int:
    return sum(p.stat().st_size for p in directory.glob("*.safetensors"))


# --------------------------------------------------------------------------------------------- the worker
class PeakRSS:
    """Samples this process's RSS in a thread; `growth()` is the peak over the baseline taken at start."""

    def __init__(self) -> None:
        import psutil

        self._process = psutil.Process()
        self.baseline = self._process.memory_info().rss
        self._maxrss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        self.peak = self.baseline
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._process.memory_info().rss)
            time.sleep(0.001)

    def __enter__(self) -> PeakRSS:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._process.memory_info().rss)
        maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        if maxrss > self._maxrss_before:  # the kernel saw a higher peak than the sampler did
            self.peak = max(self.peak, maxrss)

    def growth(self) -> int:
        return self.peak - self.baseline


def worker(backend: str, workload: str, checkpoint: str) -> None:
    """Run one workload in this (fresh) process and print one JSON line."""
    module = importlib.import_module(f"_load_{backend}")
    function = module.WORKLOADS[workload]
    if hasattr(module, "warm_imports"):
        module.warm_imports(checkpoint)
    with PeakRSS() as rss:
        start = time.perf_counter()
        function(checkpoint)
        seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "rss_growth": rss.growth()}))


def evict_page_cache(directory: Path) -> None:
    """Drop the checkpoint's files from the page cache (`POSIX_FADV_DONTNEED`; clean pages only, no root needed):
    the next read comes from the disk, as the first load after a reboot or of a checkpoint not read for a while."""
    for path in directory.iterdir():
        if path.is_file():
            fd = os.open(path, os.O_RDONLY)
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)


def run_once(backend: str, workload: str, checkpoint: Path, *, cold: bool = False) -> dict:
    """One workload in a fresh process; `cold`: the checkpoint is evicted from the page cache first."""
    if cold:
        evict_page_cache(checkpoint)
    env = {**os.environ, "PRETRAINED_DISABLE_PROGRESS_BARS": "1", "TF_CPP_MIN_LOG_LEVEL": "3",
           "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--worker", backend, workload, str(checkpoint)],
        capture_output=True, text=True, env=env, check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"{backend}/{workload} on {checkpoint.name} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------------------------- the driver
def load_backend(name: str):
    sys.path.insert(0, str(HERE))
    try:
        return importlib.import_module(f"_load_{name}")
    except ModuleNotFoundError as exc:
        if exc.name == f"_load_{name}":
            return None
        raise


def measure(backends: list[str], checkpoints: dict[str, Path], runs: int) -> list[dict]:
    rows = []
    for backend in backends:
        module = load_backend(backend)
        if module is None:
            print(f"(no bench/_load_{backend}.py yet: skipping {backend})", file=sys.stderr)
            continue
        for ckpt_name, directory in checkpoints.items():
            samples: dict[str, list[dict]] = {name: [] for name in module.WORKLOADS}
            order = list(module.WORKLOADS)
            for run in range(runs):
                for workload in order if run % 2 == 0 else order[::-1]:  # alternate the order between runs
                    samples[workload].append(run_once(backend, workload, directory))
                    print(f"  {backend} {ckpt_name} {workload} run {run + 1}: "
                          f"{samples[workload][-1]['seconds']:.3f} s", file=sys.stderr)
            rows.extend(_summarise(module, backend, ckpt_name, directory, samples))
    return rows


def _summarise(module, backend: str, ckpt_name: str, directory: Path, samples: dict[str, list[dict]]) -> list[dict]:
    baseline = getattr(module, "BASELINE", "raw_safetensors")
    size = checkpoint_bytes(directory)
    medians = {name: statistics.median(s["seconds"] for s in runs) for name, runs in samples.items()}
    rows = []
    for workload, runs in samples.items():
        seconds = [s["seconds"] for s in runs]
        growth = [s["rss_growth"] for s in runs]
        rows.append({
            "backend": backend, "checkpoint": ckpt_name, "checkpoint_bytes": size, "workload": workload,
            "seconds": seconds, "median_s": medians[workload], "min_s": min(seconds), "max_s": max(seconds),
            "vs_raw": medians[workload] / medians[baseline] if baseline in medians else None,
            "rss_growth": growth, "median_rss_growth": statistics.median(growth),
            "rss_vs_checkpoint": statistics.median(growth) / size,
        })
    return rows


def markdown(rows: list[dict]) -> str:
    lines = [
        "| checkpoint | backend | workload | median s | min–max s | × raw read | peak RSS growth | × checkpoint |",
        "|---|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        vs_raw = f"{r['vs_raw']:.2f}" if r["vs_raw"] is not None else "–"
        lines.append(
            f"| {r['checkpoint']} ({r['checkpoint_bytes'] / 1e6:.0f} MB) | {r['backend']} | {r['workload']} | "
            f"{r['median_s']:.3f} | {r['min_s']:.3f}–{r['max_s']:.3f} | {vs_raw} | "
            f"{r['median_rss_growth'] / 1e6:.0f} MB | {r['rss_vs_checkpoint']:.2f} |"
        )
    speedups = []
    for r in rows:
        slow = [s for s in rows if s["backend"] == r["backend"] and s["checkpoint"] == r["checkpoint"]
                and s["workload"] == "init+load_state_dict"]
        if r["workload"] == "from_pretrained" and slow:
            speedups.append(f"- {r['backend']} {r['checkpoint']}: from_pretrained is "
                            f"{slow[0]['median_s'] / r['median_s']:.1f}× faster than construct-with-random-init "
                            "+ load_state_dict")
    return "\n".join(lines + [""] + speedups)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default=",".join(BACKENDS), help="comma-separated: torch,tf,flax")
    parser.add_argument("--runs", type=int, default=5, help="runs per workload (fresh process each)")
    parser.add_argument("--quick", action="store_true", help="a BERT-base-size checkpoint instead of BERT-large")
    parser.add_argument("--worker", nargs=3, metavar=("BACKEND", "WORKLOAD", "CHECKPOINT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        sys.path.insert(0, str(HERE))
        worker(*args.worker)
        return
    WORK.mkdir(parents=True, exist_ok=True)
    checkpoints = make_checkpoints(args.quick)
    rows = measure([b.strip() for b in args.backends.split(",") if b.strip()], checkpoints, args.runs)
    (WORK / "results-load.json").write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    print(markdown(rows))


if __name__ == "__main__":
    main()
