"""Greedy generation speed, `pretrained` vs transformers 4.57.6, in every backend, eager and compiled.

    bench/anchor.sh                                  # once: .venv-anchor with transformers 4.57.6
    .venv/bin/python bench/generate.py [--runs 1] [--repeats 3] [--new-tokens 32]
    .venv/bin/python bench/generate.py --report-only # re-render the page from the saved results

A GPT-2-small layout (124 M parameters, random weights) is saved once by `pretrained` in the canonical checkpoint
(transformers' own GPT-2 layout), then each (library, backend, mode) runs in a fresh process
(bench/_generate_child.py): batch 1, an 8-token prompt, exactly `--new-tokens` greedy tokens. Modes: PyTorch eager
(KV cache); TensorFlow eager and `tf.function(jit_compile=True)`; Flax `trace=False` and jitted (`trace=True`).
Results go to `bench/.work/generate/results.json`, the page and chart to `docs/benchmarks/generation.md` / `.png`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORK = HERE / ".work" / "generate"
DOCS = ROOT / "docs" / "benchmarks"
ANCHOR = Path(os.environ.get("ANCHOR_PYTHON", ROOT / ".venv-anchor" / "bin" / "python"))  # transformers 4.57.6
MATRIX = [("torch", "eager"), ("tf", "eager"), ("tf", "compiled"), ("flax", "eager"), ("flax", "compiled")]
MODE_NAMES = {("torch", "eager"): "eager (KV cache)", ("tf", "eager"): "eager",
              ("tf", "compiled"): "tf.function(jit_compile=True)", ("flax", "eager"): "trace=False",
              ("flax", "compiled"): "jit (trace=True)"}


def make_checkpoint() -> Path:
    directory = WORK / "gpt2-small"
    if (directory / "model.safetensors").exists():
        return directory
    import torch

    sys.path.insert(0, str(ROOT / "src"))
    from pretrained.models.gpt2 import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    GPT2LMHeadModel(GPT2Config()).save_pretrained(directory)  # GPT-2 small defaults: 124 M parameters
    return directory


def run_child(library: str, backend: str, mode: str, checkpoint: Path, args: argparse.Namespace) -> dict[str, Any]:
    python = sys.executable if library == "ours" else str(ANCHOR)
    env = {k: v for k, v in os.environ.items() if k not in ("USE_TORCH", "USE_TF", "USE_FLAX")}
    env.update(PYTHONPATH=str(ROOT / "src") if library == "ours" else "", TF_CPP_MIN_LOG_LEVEL="3")
    if library == "v4":  # transformers' framework switches: USE_TORCH=1 alone would hide TensorFlow
        env.update(USE_TF="1" if backend == "tf" else "0", USE_FLAX="1" if backend == "flax" else "0")
    command = [python, str(HERE / "_generate_child.py"), "--library", library, "--backend", backend, "--mode", mode,
               "--checkpoint", str(checkpoint), "--new-tokens", str(args.new_tokens), "--repeats", str(args.repeats)]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=1800)
    if done.returncode != 0:
        return {"library": library, "backend": backend, "mode": mode, "error": done.stderr.strip()[-600:]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def render(results: list[dict[str, Any]], meta: dict[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def pick(library: str, backend: str, mode: str) -> list[dict[str, Any]]:
        return [r for r in results if (r["library"], r["backend"], r["mode"]) == (library, backend, mode)
                and "error" not in r]

    rows, labels, ours_tps, v4_tps = [], [], [], []
    for backend, mode in MATRIX:
        ours, v4 = pick("ours", backend, mode), pick("v4", backend, mode)
        speed = {name: statistics.median(r["tokens_per_s"] for r in runs) if runs else None
                 for name, runs in (("ours", ours), ("v4", v4))}
        first = {name: statistics.median(r["first_s"] for r in runs) if runs else None
                 for name, runs in (("ours", ours), ("v4", v4))}
        if not (ours and v4 and "tokens" in ours[0] and "tokens" in v4[0]):
            same = "n/a"
        else:
            same = "yes" if ours[0]["tokens"] == v4[0]["tokens"] else "no"
        ratio = f"{speed['ours'] / speed['v4']:.2f}×" if speed["ours"] and speed["v4"] else "n/a"
        fmt = lambda v, spec: "not run" if v is None else format(v, spec)  # noqa: E731
        rows.append(f"| {backend} | {MODE_NAMES[(backend, mode)]} | {fmt(speed['v4'], '.1f')} | "
                    f"{fmt(speed['ours'], '.1f')} | {ratio} | {fmt(first['v4'], '.1f')} | {fmt(first['ours'], '.1f')}"
                    f" | {same} |")
        labels.append(f"{backend}\n{MODE_NAMES[(backend, mode)]}")
        ours_tps.append(speed["ours"] or 0.0)
        v4_tps.append(speed["v4"] or 0.0)
    figure, axes = plt.subplots(figsize=(10, 4.2))
    positions = range(len(labels))
    axes.bar([p - 0.2 for p in positions], v4_tps, width=0.4, label="transformers 4.57.6")
    axes.bar([p + 0.2 for p in positions], ours_tps, width=0.4, label="pretrained")
    axes.set_xticks(list(positions), labels, fontsize=8)
    axes.set_ylabel("tokens / s (higher is better)")
    axes.set_title(f"GPT-2 small, greedy, batch 1, {meta['new_tokens']} new tokens")
    axes.legend()
    figure.tight_layout()
    DOCS.mkdir(parents=True, exist_ok=True)
    figure.savefig(DOCS / "generation.png", dpi=110)
    errors = [f"- {r['library']} {r['backend']} {r['mode']}: `{r['error'].splitlines()[-1]}`" for r in results
              if "error" in r]
    page = PAGE.format(machine=meta["machine"], runs=meta["runs"], repeats=meta["repeats"],
                       new_tokens=meta["new_tokens"], rows="\n".join(rows),
                       errors="\n".join(errors) or "None.")
    (DOCS / "generation.md").write_text(page)


PAGE = """# Benchmarks: text generation

<!-- Generated by bench/generate.py; edit the generator, not this page. -->

Greedy decoding with a GPT-2-small layout (124 M parameters, random weights, one canonical checkpoint loaded by both
libraries), batch 1, an 8-token prompt, exactly {new_tokens} new tokens, side by side with transformers 4.57.6 in the
same run. Every (library, backend, mode) runs in a fresh process ({runs} run(s)); tokens / s is {new_tokens} divided
by the median of {repeats} calls after a first call, which is reported apart (it includes compilation).
"same tokens" compares the two libraries' generated ids. Machine: {machine}.

```bash
bench/anchor.sh && .venv/bin/python bench/generate.py --runs 1 --repeats 3
```

![Greedy generation, tokens per second](generation.png)

| backend | mode | transformers v4 tok/s | pretrained tok/s | ours ÷ v4 | v4 first call s | ours first call s | same tokens |
|---|---|---:|---:|---:|---:|---:|---|
{rows}

Notes:

- PyTorch runs eagerly with the key/value cache in both libraries. `torch.compile` is not used: on this CPU
  machine Inductor's compile time (over two minutes for a one-op function, cold) dwarfs a 32-token generation.
- TensorFlow "compiled" is `tf.function(model.generate, jit_compile=True)` in both libraries. Flax "compiled" is
  `generate()`'s own `jax.jit` of the whole loop for `pretrained` (compiled once per setting and reused by later
  calls: the first-call column); v4's Flax `generate()` traces again on every call, so it runs wrapped in
  `jax.jit` as v4's docs advise.
- transformers v4 loads its TF and Flax models from the PyTorch checkpoint with `from_pt=True`; `pretrained` reads
  the same file in every backend without a flag.

Runs that failed:

{errors}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--new-tokens", type=int, default=32)
    parser.add_argument("--only", default="", help="comma-separated backend:mode pairs, e.g. torch:eager")
    parser.add_argument("--report-only", action="store_true")
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    saved = WORK / "results.json"
    if args.report_only:
        payload = json.loads(saved.read_text())
        render(payload["results"], payload["meta"])
        return
    if not ANCHOR.exists():
        raise SystemExit(f"{ANCHOR} is missing: run bench/anchor.sh first")
    checkpoint = make_checkpoint()
    load_before = os.getloadavg()[0]
    wanted = {tuple(item.split(":")) for item in args.only.split(",") if item} or set(MATRIX)
    results = []
    for run in range(args.runs):
        for backend, mode in (m for m in MATRIX if m in wanted):
            for library in (("ours", "v4") if run % 2 == 0 else ("v4", "ours")):
                result = run_child(library, backend, mode, checkpoint, args)
                results.append(result)
                print(json.dumps({k: v for k, v in result.items() if k not in ("tokens", "times_s")}), flush=True)
    load = os.getloadavg()[0]
    meta = {"runs": args.runs, "repeats": args.repeats, "new_tokens": args.new_tokens,
            "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, {platform.system()}, "
                       f"load average {load_before:.1f} before / {load:.1f} after the run (a shared machine: "
                       "compare the two libraries within a row, not across runs)"}
    saved.write_text(json.dumps({"meta": meta, "results": results}, indent=1))
    render(results, meta)


if __name__ == "__main__":
    main()
