"""Render bench/compare.py's results: `docs/benchmarks/index.md` (tables, goals, machine, versions) + one PNG per group.

Input is the results JSON (`bench/.work/compare/results.json`): `{"meta": {...}, "groups": {...}, "runs": [...]}`,
each run a dict with `group`, `lib` (v4 / ours / raw), `workload`, `ok` and the child's figures. The page contains
no ```python block (tests/test_docs.py would run it).
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

GB = 1e9
LIB_LABELS = {"v4": "transformers 4.57.6", "ours": "pretrained", "raw": "raw safetensors"}
COLOURS = {"v4": "#9e9e9e", "ours": "#1565c0"}


# ------------------------------------------------------------------------------------------------ statistics
def primary_seconds(run: dict[str, Any]) -> float:
    """The time a row reports: `save_s` for saves, else load + read (the whole measured action)."""
    return float(run.get("save_s", run["seconds"]))


def summary(runs: list[dict[str, Any]], group: str, lib: str, workload: str) -> dict[str, Any] | None:
    """Median / min / max of time and RSS growth over the successful runs of one cell (None if none succeeded)."""
    cell = [r for r in runs if r["group"] == group and r["lib"] == lib and r["workload"] == workload]
    if not cell:
        return None
    ok = [r for r in cell if r.get("ok")]
    if not ok:
        return {"failed": True, "error": cell[-1].get("error", "")}
    seconds = [primary_seconds(r) for r in ok]
    growth = [r["rss_growth"] for r in ok]
    out = {"n": len(ok), "failures": len(cell) - len(ok), "s": statistics.median(seconds), "s_min": min(seconds),
           "s_max": max(seconds), "rss": statistics.median(growth), "rss_min": min(growth), "rss_max": max(growth)}
    for part in ("load_s", "read_s"):
        if all(part in r for r in ok):
            out[part] = statistics.median(r[part] for r in ok)
    return out


def _ok(cell: dict[str, Any] | None) -> bool:
    return bool(cell) and not cell.get("failed")


def backend_of(workload: str) -> str:
    """`bert_load_tf` -> `tf`; the ResNet workload is torch only."""
    backend = workload.rsplit("_", 1)[-1]
    return backend if backend in ("torch", "tf", "flax") else "torch"


# ------------------------------------------------------------------------------------------------ goals
def goals(group: str, workload: str, ours: dict | None, v4: dict | None, raw: dict | None, ckpt: int) -> list[str]:
    """The issue's goals for one row, each as 'met'/'MISSED' text."""
    if not _ok(ours):
        return ["ours failed"]
    found = []
    if _ok(v4):
        found.append(_goal(ours["s"] <= v4["s"], f"≤ v4 time ({ours['s'] / v4['s']:.2f}×)"))
    if group.endswith("_load") and _ok(raw):
        backend = backend_of(workload)
        if backend in ("tf", "flax"):
            found.append(_goal(ours["s"] <= 1.5 * raw["s"], f"≤ 1.5× raw torch time ({ours['s'] / raw['s']:.2f}×)"))
            found.append(_goal(ours["rss"] <= 1.2 * ckpt, f"RSS ≤ 1.2× checkpoint ({ours['rss'] / ckpt:.2f}×)"))
        else:
            found.append(_goal(ours["s"] <= 1.05 * raw["s"], f"≤ 1.05× raw torch time ({ours['s'] / raw['s']:.2f}×)"))
    return found


def _goal(met: bool, text: str) -> str:
    return f"{'met' if met else '**MISSED**'}: {text}"


# ------------------------------------------------------------------------------------------------ markdown
def _cell_s(cell: dict | None) -> str:
    if not cell:
        return "–"
    if cell.get("failed"):
        return "failed"
    return f"{cell['s']:.2f} ({cell['s_min']:.2f}–{cell['s_max']:.2f})"


def _cell_rss(cell: dict | None) -> str:
    if not _ok(cell):
        return "–"
    return f"{cell['rss'] / GB:.2f} ({cell['rss_min'] / GB:.2f}–{cell['rss_max'] / GB:.2f})"


def _ratio(a: dict | None, b: dict | None, key: str = "s", scale: float | None = None) -> str:
    if not _ok(a) or (scale is None and not _ok(b)):
        return "–"
    return f"{a[key] / (scale if scale is not None else b[key]):.2f}×"


def group_table(name: str, spec: dict, runs: list[dict]) -> list[str]:
    """Main comparison table of one group, with the raw reference rows under it."""
    ckpt = spec["checkpoint_bytes"]
    raw = summary(runs, name, "raw", spec["raw"][0]) if spec["raw"] else None
    lines = [
        "| backend | transformers v4 s | pretrained s | ours ÷ v4 | ours ÷ raw | v4 RSS growth GB "
        "| ours RSS growth GB | ours RSS ÷ checkpoint | goals |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for workload in spec["workloads"]:
        v4, ours = summary(runs, name, "v4", workload), summary(runs, name, "ours", workload)
        lines.append(
            f"| {backend_of(workload)} | {_cell_s(v4)} | {_cell_s(ours)} | {_ratio(ours, v4)} | "
            f"{_ratio(ours, raw)} | {_cell_rss(v4)} | {_cell_rss(ours)} | {_ratio(ours, None, 'rss', ckpt)} | "
            f"{'<br>'.join(goals(name, workload, ours, v4, raw, ckpt))} |"
        )
    lines += ["", "Reference (no model, same file):", "", "| raw workload | s | RSS growth GB | RSS ÷ checkpoint |",
              "|---|---:|---:|---:|"]
    for workload in spec["raw"]:
        cell = summary(runs, name, "raw", workload)
        lines.append(f"| {workload} | {_cell_s(cell)} | {_cell_rss(cell)} | {_ratio(cell, None, 'rss', ckpt)} |")
    return lines


def split_table(name: str, spec: dict, runs: list[dict]) -> list[str]:
    """Medians of the load and read parts of each load row."""
    lines = ["| library | backend | load s | read every weight s |", "|---|---|---:|---:|"]
    for workload in spec["workloads"]:
        for lib in ("v4", "ours"):
            cell = summary(runs, name, lib, workload)
            if _ok(cell) and "load_s" in cell:
                lines.append(f"| {LIB_LABELS[lib]} | {backend_of(workload)} | {cell['load_s']:.2f} | "
                             f"{cell['read_s']:.2f} |")
    return lines


def failures(runs: list[dict]) -> list[str]:
    """One line per failed run, with the end of its error."""
    return [f"- {r['group']} / {r['lib']} / {r['workload']} run {r['run']}: `{_one_line(r.get('error', ''))}`"
            for r in runs if not r.get("ok")]


def _one_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return (lines[-1] if lines else "unknown error").replace("`", "'")[:300]


def page(results: dict[str, Any]) -> str:
    """The whole Markdown page."""
    meta, groups, runs = results["meta"], results["groups"], results["runs"]
    out = [
        "# Benchmarks: pretrained vs transformers v4",
        "",
        "<!-- Generated by bench/compare.py; edit the generator, not this page. -->",
        "",
        "Side by side with transformers 4.57.6 (the last release with TensorFlow and Flax base classes), on the same",
        "checkpoints, in one run. Each figure is the **median of "
        f"{meta['runs']} run(s)** (min–max in brackets); every run is a fresh process, the two libraries alternate run",
        "by run, and a time excludes interpreter start-up and framework imports (measured inside the process).",
        "Peak RSS growth is sampled in a thread (and cross-checked with `ru_maxrss`) over the RSS after the imports.",
        "The files are in the page cache (warm reads): these times are CPU and memory costs, not disk speed.",
        "",
        "Regenerate (creates `.venv-anchor` with transformers 4.57.6 on first use):",
        "",
        "```bash",
        "make bench                                   # bench/load.py, then bench/anchor.sh + bench/compare.py",
        "bench/anchor.sh && .venv/bin/python bench/compare.py --runs 3",
        "```",
        "",
        "Saves and loads of each backend against the raw safetensors calls (no transformers v4), with RSS: "
        "[Saves and loads per backend](save.md) (`bench/save.py --runs 3 --loads --tmpfs --report`).",
        "",
    ]
    for name, spec in groups.items():
        out += _group_section(name, spec, runs)
    out += _method(meta) + _machine(meta)
    fails = failures(runs)
    if fails:
        out += ["## Failed runs", "", *fails, ""]
    return "\n".join(out) + "\n"


def _group_section(name: str, spec: dict, runs: list[dict]) -> list[str]:
    out = [f"## {spec['title']}", "", spec["description"], "",
           f"Checkpoint: `{spec['checkpoint']}`, {spec['checkpoint_bytes'] / GB:.2f} GB "
           f"({spec['checkpoint_bytes']:,} bytes).", "", f"![{spec['title']}]({name}.png)", ""]
    out += group_table(name, spec, runs) + [""]
    if name.endswith("_load"):
        out += ["Where the time goes (medians):", "", *split_table(name, spec, runs), ""]
    return out


def _method(meta: dict) -> list[str]:
    return ["## Method", "", *[f"- {line}" for line in meta["method"]], ""]


def _machine(meta: dict) -> list[str]:
    machine = meta["machine"]
    out = ["## Machine and versions", "",
           f"- CPU: {machine['cpu_model']}, {machine['cores']} cores visible; memory {machine['memory_gb']:.1f} GB; "
           f"{machine['platform']}",
           f"- Load average when the run started: {machine['loadavg']} (a shared machine: other work was running)",
           f"- Run finished: {meta['finished']}; wall time {meta['wall_s'] / 60:.1f} min", "",
           "| package | pretrained (.venv) | transformers v4 (.venv-anchor) |", "|---|---|---|"]
    ours, v4 = meta["versions"].get("ours", {}), meta["versions"].get("v4", {})
    for name in sorted(set(ours) | set(v4)):
        out.append(f"| {name} | {ours.get(name, '–')} | {v4.get(name, '–')} |")
    return out + [""]


# ------------------------------------------------------------------------------------------------ charts
def chart(name: str, spec: dict, runs: list[dict], path: Path) -> None:
    """Time and RSS-growth panels: v4 vs ours per backend, min–max whiskers, raw reference as dashed lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [backend_of(w) for w in spec["workloads"]]
    height = 2.0 + 0.8 * len(labels)
    fig, axes = plt.subplots(1, 2, figsize=(11, height))
    for ax, (key, unit, scale) in zip(axes, (("s", "seconds", 1.0), ("rss", "peak RSS growth (GB)", GB))):
        _bars(ax, name, spec, runs, key, scale)
        _references(ax, name, spec, runs, key, scale)
        ax.set_yticks(range(len(labels)), labels)
        ax.invert_yaxis()
        ax.set_xlabel(unit + " (lower is better)")
        ax.grid(axis="x", alpha=0.3)
        ax.set_xlim(0, ax.get_xlim()[1] * 1.12)  # room for the value labels
    handles = {label: handle for ax in axes for handle, label in zip(*ax.get_legend_handles_labels())}
    fig.legend(handles.values(), handles.keys(), loc="lower center", ncol=len(handles), fontsize=8, frameon=False)
    fig.suptitle(f"{spec['title']} — median of {max((r['run'] for r in runs), default=0) + 1} run(s)")
    fig.tight_layout(rect=(0, 0.5 / height, 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _bars(ax: Any, name: str, spec: dict, runs: list[dict], key: str, scale: float) -> None:
    for offset, lib in ((-0.2, "v4"), (0.2, "ours")):
        cells = [summary(runs, name, lib, w) for w in spec["workloads"]]
        ys = [i + offset for i, c in enumerate(cells) if _ok(c)]
        good = [c for c in cells if _ok(c)]
        medians = [c[key] / scale for c in good]
        errors = [[m - c[key + "_min"] / scale for m, c in zip(medians, good)],
                  [c[key + "_max"] / scale - m for m, c in zip(medians, good)]]
        ax.barh(ys, medians, height=0.38, xerr=errors, color=COLOURS[lib], label=LIB_LABELS[lib], capsize=3)
        for y, m in zip(ys, medians):
            ax.annotate(f"{m:.2f}", (m, y), xytext=(4, 0), textcoords="offset points", va="center", fontsize=8)


def _references(ax: Any, name: str, spec: dict, runs: list[dict], key: str, scale: float) -> None:
    styles = ("--", ":")
    for style, workload in zip(styles, spec["raw"]):
        cell = summary(runs, name, "raw", workload)
        if _ok(cell):
            ax.axvline(cell[key] / scale, color="#c62828", linestyle=style, label=f"raw: {workload}")
    if key == "rss":
        ax.axvline(spec["checkpoint_bytes"] / GB, color="#2e7d32", linestyle="-.", label="checkpoint size")


def render(results: dict[str, Any], out_dir: Path) -> Path:
    """Write the page and the charts into `out_dir`; return the page's path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, spec in results["groups"].items():
        chart(name, spec, results["runs"], out_dir / f"{name}.png")
    target = out_dir / "index.md"
    target.write_text(page(results), encoding="utf-8")
    return target
