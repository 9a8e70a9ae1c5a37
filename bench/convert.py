"""Conversion benchmark: `pretrained.conversion.convert` between every pair of backends, against the raw
safetensors read and the target backend's own `from_pretrained`, each workload in a fresh process.

    python bench/convert.py [--backends torch,tf,flax] [--runs N] [--quick]

Uses bench/load.py's checkpoints (a random BERT-large-size encoder, ~1.3 GB fp32; `--quick`: BERT-base size) and its
peak-RSS sampler. Workloads, per fresh process (imports and building the source model are outside the timing):

- `raw_safetensors`: `safetensors.numpy.load_file` of the whole checkpoint (the floor for any load);
- `from_pretrained <B>`: backend B loads the checkpoint file;
- `convert <A> -> <B>`: backend A's model (loaded before the timer starts) converted in memory into B's class.

Goal: a conversion costs at most 20% more than the raw read. Results: a Markdown table on stdout and
`bench/.work/results-convert.json`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import load as _load  # noqa: E402  (bench/load.py: checkpoints and the RSS sampler)

BACKENDS = ("torch", "tf", "flax")
CLASSES = {"torch": ("pretrained.models.bert", "BertModel"), "tf": ("pretrained.models.bert", "TFBertModel"),
           "flax": ("pretrained.models.bert", "FlaxBertModel")}


def _class(backend: str) -> type:
    import importlib

    module, name = CLASSES[backend]
    return getattr(importlib.import_module(module), name)


def _touch(model) -> None:
    """Wait until every weight is really there (JAX dispatches asynchronously; torch and TF eager do not)."""
    if type(model).__name__.startswith("Flax"):
        import jax
        from flax import nnx

        jax.block_until_ready(nnx.state(model))


def _materialise(model) -> None:
    """Outside the timing: make the source model's weights resident (torch maps the file lazily; converting must
    not be charged for reading the source checkpoint)."""
    _touch(model)
    if not type(model).__name__.startswith(("TF", "Flax")):
        import torch

        with torch.no_grad():
            for tensor in model.state_dict().values():
                tensor.sum()


def worker(workload: str, source: str, target: str, checkpoint: str) -> None:
    """One workload in this fresh process; prints one JSON line."""
    from pretrained.conversion import convert

    if workload == "raw_safetensors":
        from safetensors.numpy import load_file

        def run() -> None:
            tensors = load_file(str(Path(checkpoint) / "model.safetensors"))
            assert tensors
    elif workload == "from_pretrained":
        target_class = _class(target)

        def run() -> None:
            _touch(target_class.from_pretrained(checkpoint))
    else:
        target_class = _class(target)
        model = _class(source).from_pretrained(checkpoint)
        _materialise(model)

        def run() -> None:
            _touch(convert(model, target_class, strict=True))
    with _load.PeakRSS() as rss:
        start = time.perf_counter()
        run()
        seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "rss_growth": rss.growth()}))


def run_once(workload: str, source: str, target: str, checkpoint: Path) -> dict:
    env = {**os.environ, "PRETRAINED_DISABLE_PROGRESS_BARS": "1", "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--worker", workload, source, target,
                           str(checkpoint)], capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{workload} {source}->{target} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def workloads(backends: list[str]) -> list[tuple[str, str, str]]:
    items = [("raw_safetensors", "-", "-")]
    items += [("from_pretrained", "-", b) for b in backends]
    items += [("convert", a, b) for a in backends for b in backends if a != b]
    return items


def measure(backends: list[str], checkpoint: Path, runs: int) -> list[dict]:
    samples: dict[tuple[str, str, str], list[dict]] = {w: [] for w in workloads(backends)}
    for run in range(runs):
        order = list(samples) if run % 2 == 0 else list(samples)[::-1]
        for item in order:
            samples[item].append(run_once(*item, checkpoint))
            print(f"  {' '.join(item)} run {run + 1}: {samples[item][-1]['seconds']:.3f} s", file=sys.stderr)
    raw = statistics.median(s["seconds"] for s in samples[("raw_safetensors", "-", "-")])
    rows = []
    for (workload, source, target), runs_ in samples.items():
        median = statistics.median(s["seconds"] for s in runs_)
        load_b = samples.get(("from_pretrained", "-", target))
        rows.append({
            "workload": workload, "source": source, "target": target, "median_s": median,
            "seconds": [s["seconds"] for s in runs_], "vs_raw": median / raw,
            "vs_target_load": median / statistics.median(s["seconds"] for s in load_b) if load_b else None,
            "median_rss_growth": statistics.median(s["rss_growth"] for s in runs_),
        })
    return rows


def markdown(rows: list[dict], checkpoint: Path) -> str:
    size = _load.checkpoint_bytes(checkpoint)
    lines = [f"checkpoint: {checkpoint.name} ({size / 1e6:.0f} MB)", "",
             "| workload | source | target | median s | × raw read | × target's from_pretrained | peak RSS growth |",
             "|---|---|---|---:|---:|---:|---:|"]
    for r in rows:
        vs_load = f"{r['vs_target_load']:.2f}" if r["vs_target_load"] and r["workload"] == "convert" else "–"
        lines.append(f"| {r['workload']} | {r['source']} | {r['target']} | {r['median_s']:.3f} | {r['vs_raw']:.2f} | "
                     f"{vs_load} | {r['median_rss_growth'] / 1e6:.0f} MB |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default=",".join(BACKENDS), help="comma-separated: torch,tf,flax")
    parser.add_argument("--runs", type=int, default=3, help="runs per workload (fresh process each)")
    parser.add_argument("--quick", action="store_true", help="a BERT-base-size checkpoint instead of BERT-large")
    parser.add_argument("--worker", nargs=4, metavar=("WORKLOAD", "SOURCE", "TARGET", "CHECKPOINT"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(*args.worker)
        return
    _load.WORK.mkdir(parents=True, exist_ok=True)
    checkpoints = _load.make_checkpoints(args.quick)
    checkpoint = checkpoints["bert-base" if args.quick else "bert-large"]
    rows = measure([b.strip() for b in args.backends.split(",") if b.strip()], checkpoint, args.runs)
    (_load.WORK / "results-convert.json").write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    print(markdown(rows, checkpoint))


if __name__ == "__main__":
    main()
