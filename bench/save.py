"""Save benchmark: `save_pretrained` in each backend against the raw safetensors write of the same tensors, each
run in a fresh process, the two alternating run by run.

    python bench/save.py [--backends torch,tf,flax] [--runs N] [--quick] [--checkpoints bert-large,resnet50d]
    python bench/save.py --runs 3 --loads --cold --tmpfs --report   # + loads (page cache warm, then cold),
                                                                    # + saves into /dev/shm, then the page
    python bench/save.py --report-only               # re-render the page from bench/.work/results-save.json

The model is loaded from the checkpoints bench/load.py makes (cached under `bench/.work/`: a random
BERT-large-size encoder, ~1.34 GB fp32; `--quick`: BERT-base-size, ~0.44 GB; ResNet-50d, ~0.1 GB) before the
measurement starts; the measured part is the save alone, into an empty directory on the same disk. Raw saves:
torch `safetensors.torch.save_file(model.state_dict())`; TF and Flax `safetensors.numpy.save_file` of NumPy
views of the variables (their own layout: the raw save does no transposes, ours must). Memory is the peak RSS
growth over the RSS after the load (psutil sampled every millisecond, cross-checked with `ru_maxrss`).

Each backend is a module `bench/_save_<backend>.py` exposing `WORKLOADS = {name: setup(checkpoint_dir) ->
save(target_dir)}`; `BASELINE` names the raw workload. `--loads` also measures, in the same run and alternating
the same way, bench/load.py's `raw_safetensors` and `from_pretrained` workloads of each backend. Results: a
Markdown table on stdout and `bench/.work/results-save.json`; `--report` renders `docs/benchmarks/save.md`
(bench/_save_report.py): saves and loads side by side, with the goals of issue 20.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import load  # noqa: E402
from load import WORK, PeakRSS, make_checkpoints  # noqa: E402

BACKENDS = ("torch", "tf", "flax")
SCRATCH = {"disk": WORK / "save-scratch", "tmpfs": Path("/dev/shm/pretrained-bench-save")}


def worker(backend: str, workload: str, checkpoint: str, target: str) -> None:
    """Load in this (fresh) process, then measure one save; print one JSON line."""
    module = importlib.import_module(f"_save_{backend}")
    save = module.WORKLOADS[workload](checkpoint)
    shutil.rmtree(target, ignore_errors=True)
    os.makedirs(target)
    fsync_s = [0.0]
    real_fsync = os.fsync

    def timed_fsync(fd: int) -> None:  # how long the save waited for the disk
        begin = time.perf_counter()
        real_fsync(fd)
        fsync_s[0] += time.perf_counter() - begin

    os.fsync = timed_fsync
    with PeakRSS() as rss:
        start = time.perf_counter()
        save(target)
        seconds = time.perf_counter() - start
    os.fsync = real_fsync
    written = sum(p.stat().st_size for p in Path(target).rglob("*") if p.is_file())
    print(json.dumps({"seconds": seconds, "rss_growth": rss.growth(), "written_bytes": written, "fsync_s": fsync_s[0]}))


def run_once(backend: str, workload: str, checkpoint: Path, where: str = "disk") -> dict:
    target = SCRATCH[where] / f"{backend}-{workload.replace('+', '-')}"
    env = {**os.environ, "PRETRAINED_DISABLE_PROGRESS_BARS": "1", "TF_CPP_MIN_LOG_LEVEL": "3", "JAX_PLATFORMS": "cpu",
           "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])}
    try:
        done = subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), "--worker", backend, workload, str(checkpoint), str(target)],
            capture_output=True, text=True, env=env, check=False,
        )
    finally:
        shutil.rmtree(target, ignore_errors=True)
    if done.returncode != 0:
        raise RuntimeError(f"{backend}/{workload} on {checkpoint.name} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def alternating(workloads: list[str], runs: int, run: Callable[[str], dict], label: str) -> dict[str, list[dict]]:
    """`runs` rounds of every workload, the order reversed every other round; progress on stderr."""
    samples: dict[str, list[dict]] = {workload: [] for workload in workloads}
    for round_ in range(runs):
        for workload in workloads if round_ % 2 == 0 else workloads[::-1]:
            samples[workload].append(run(workload))
            last = samples[workload][-1]
            print(f"  {label} {workload} run {round_ + 1}: {last['seconds']:.3f} s, RSS +{last['rss_growth'] / 1e6:.0f} MB",
                  file=sys.stderr, flush=True)
    return samples


def measure(backends: list[str], checkpoints: dict[str, Path], runs: int, where: str = "disk") -> list[dict]:
    """Every save workload of every backend, written to `where` ("disk": bench/.work; "tmpfs": /dev/shm, where
    writes and fsyncs cost no disk time: the CPU and memory cost alone)."""
    rows = []
    for backend in backends:
        module = importlib.import_module(f"_save_{backend}")
        for name, directory in checkpoints.items():
            samples = alternating(list(module.WORKLOADS), runs, lambda w, b=backend, d=directory:
                                  run_once(b, w, d, where), f"save ({where}) {backend} {name}")
            for row in load._summarise(module, backend, name, directory, samples):
                row["median_fsync_s"] = statistics.median(s["fsync_s"] for s in samples[row["workload"]])
                row["target"] = where
                rows.append(row)
    return rows


def measure_loads(backends: list[str], checkpoints: dict[str, Path], runs: int, cache: str = "warm") -> list[dict]:
    """bench/load.py's raw read and `from_pretrained` of each backend, alternating, fresh process each; `cache`
    "warm" (the file in the page cache, as right after a download or an earlier load) or "cold" (evicted before
    every run: read from the disk)."""
    rows = []
    for backend in backends:
        module = load.load_backend(backend)
        workloads = [getattr(module, "BASELINE", "raw_safetensors"), getattr(module, "TARGET", "from_pretrained")]
        for name, directory in checkpoints.items():
            samples = alternating(workloads, runs, lambda w, b=backend, d=directory:
                                  load.run_once(b, w, d, cold=cache == "cold"), f"load ({cache}) {backend} {name}")
            for row in load._summarise(module, backend, name, directory, samples):
                row["cache"] = cache
                rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default=",".join(BACKENDS), help="comma-separated: torch,tf,flax")
    parser.add_argument("--runs", type=int, default=3, help="runs per workload (fresh process each)")
    parser.add_argument("--quick", action="store_true", help="a BERT-base-size checkpoint instead of BERT-large")
    parser.add_argument("--checkpoints", help="comma-separated subset of the checkpoints (default: the BERT one)")
    parser.add_argument("--loads", action="store_true", help="also measure the loads (bench/load.py workloads)")
    parser.add_argument("--tmpfs", action="store_true", help="also save into /dev/shm (no disk: CPU + memory cost)")
    parser.add_argument("--cold", action="store_true",
                        help="with --loads: also measure the loads with the checkpoint evicted from the page cache")
    parser.add_argument("--report", action="store_true", help="render docs/benchmarks/save.md afterwards")
    parser.add_argument("--report-only", action="store_true", help="only re-render the page from the saved results")
    parser.add_argument("--worker", nargs=4, metavar=("BACKEND", "WORKLOAD", "CHECKPOINT", "TARGET"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(*args.worker)
        return
    from _save_report import render

    results_path = WORK / "results-save.json"
    if args.report_only:
        print(render(json.loads(results_path.read_text(encoding="utf-8"))))
        return
    WORK.mkdir(parents=True, exist_ok=True)
    checkpoints = make_checkpoints(args.quick)
    wanted = args.checkpoints.split(",") if args.checkpoints else [n for n in checkpoints if n.startswith("bert")]
    checkpoints = {name: path for name, path in checkpoints.items() if name in wanted}
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    started, load_average = time.time(), os.getloadavg()
    rows = measure(backends, checkpoints, args.runs)
    if args.tmpfs and SCRATCH["tmpfs"].parent.is_dir():
        rows += measure(backends, checkpoints, args.runs, "tmpfs")
    load_rows = measure_loads(backends, checkpoints, args.runs) if args.loads else []
    if args.loads and args.cold:
        load_rows += measure_loads(backends, checkpoints, args.runs, "cold")
    results = {"saves": rows, "loads": load_rows, "runs": args.runs, "wall_s": time.time() - started,
               "loadavg": load_average, "finished": time.strftime("%Y-%m-%d %H:%M %Z")}
    results_path.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(load.markdown(rows + load_rows).replace("× raw read", "× raw call"))
    if args.report:
        print(f"page: {render(results)}", file=sys.stderr)


if __name__ == "__main__":
    main()
