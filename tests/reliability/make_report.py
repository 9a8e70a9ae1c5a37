"""Run the reliability suite and render `docs/reliability.md` from what the run recorded.

    python tests/reliability/make_report.py                 # run tests/reliability (-n 2), write docs/reliability.md
    python tests/reliability/make_report.py --results DIR   # only render, from the results-*.json files in DIR
    python tests/reliability/make_report.py -- -k hub       # extra pytest arguments after `--`

The tests record themselves (see conftest.py): the test's docstring is "what was done", its `observed(...)` lines are
"what was observed", and the outcome comes from pytest. Each xdist worker writes its own results file, merged here.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
ORDER = ["test_crash_safety", "test_kill_random", "test_hostile_files", "test_property", "test_remote_code", "test_hub_faults",
         "test_concurrency"]
GUARANTEE = HERE / "guarantee.md"  # the commit guarantee, stated once, above the tables that test it
RESULT_MARK = {"passed": "pass", "xfailed": "**known issue** (xfail)", "skipped": "skipped", "failed": "**FAILED**"}


def run_suite(results: Path, extra: list[str]) -> tuple[str, float, int]:
    env = {**os.environ, "PRETRAINED_RELIABILITY_RESULTS": str(results), "PRETRAINED_DISABLE_PROGRESS_BARS": "1"}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "2", "--dist", "loadgroup",
               str(HERE.relative_to(ROOT)), *extra]
    print("running:", " ".join(command[2:]), flush=True)
    start = time.monotonic()
    proc = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    elapsed = time.monotonic() - start
    sys.stdout.write(proc.stdout[-3000:])
    sys.stderr.write(proc.stderr[-3000:])
    summary = next((line.strip("= ").strip() for line in reversed(proc.stdout.splitlines())
                    if re.search(r"\d+ (passed|failed|error)", line)), "no summary")
    return summary, elapsed, proc.returncode


def load_records(results: Path) -> list[dict]:
    records = []
    for path in sorted(results.glob("results-*.json")):
        records.extend(json.loads(path.read_text(encoding="utf-8")))
    rank = {name: i for i, name in enumerate(ORDER)}
    records.sort(key=lambda r: (rank.get(r["module"], len(ORDER)), r["nodeid"]))
    return records


def cell(text: str) -> str:
    text = " ".join(str(text).split())
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|")


def case_name(record: dict) -> str:
    name = record["name"].removeprefix("test_")
    base, _, param = name.partition("[")
    base = base.replace("_", " ")
    return f"{base} [{param}" if param else base


def versions() -> str:
    found = []
    for package in ("torch", "safetensors", "huggingface_hub", "hypothesis"):
        try:
            found.append(f"{package} {metadata.version(package)}")
        except metadata.PackageNotFoundError:
            pass
    return ", ".join([f"Python {platform.python_version()}", *found])


def render(records: list[dict], *, summary: str, elapsed: float | None) -> str:
    counts: dict[str, int] = {}
    for record in records:
        counts[record["outcome"]] = counts.get(record["outcome"], 0) + 1
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Reliability and security",
        "",
        "What happens to a checkpoint when a save is killed, the disk fills up, a file is hostile or broken, the Hub "
        "fails mid-transfer, or two processes use one checkpoint at once. Every row below is a test in "
        "`tests/reliability/` that does the real thing (real SIGKILLs, subprocesses, full file systems, a loopback "
        "Hub that drops connections) and checks the outcome.",
        "",
        "!!! note \"Generated page\"",
        "    This page is generated from a test run by `python tests/reliability/make_report.py` (the test's "
        "docstring is *what was done*, the values it recorded are *what was observed*). Do not edit it by hand: "
        "re-run the script.",
        "",
        f"Run: {when}; {summary}"
        + (f"; {elapsed:.0f} s wall time with `-n 2`" if elapsed is not None else "")
        + f"; {versions()}.",
        "",
        "Result: " + ", ".join(f"{n} {RESULT_MARK.get(o, o).replace('**', '')}" for o, n in sorted(counts.items()))
        + ".",
        "",
        GUARANTEE.read_text(encoding="utf-8").strip(),
        "",
    ]
    current = None
    for position, record in enumerate(records):
        if record["module"] != current:
            current = record["module"]
            title = current.removeprefix("test_").replace("_", " ").capitalize()
            lines += [f"## {title}", "", cell(record["area"]), "",
                      "| Case | What was done | What was observed | Result |", "|---|---|---|---|"]
        observed = "<br>".join(cell(o) for o in record["observed"]) or "&mdash;"
        result = RESULT_MARK.get(record["outcome"], record["outcome"])
        if record["outcome"] != "passed" and record["detail"]:
            result += ": " + cell(record["detail"])
        lines.append(f"| {cell(case_name(record))} | {cell(record['done'])} | {observed} | {result} |")
        if position == len(records) - 1 or records[position + 1]["module"] != current:
            lines.append("")
    open_issues = [r for r in records if r["outcome"] != "passed"]
    lines += ["## Open issues from this run", ""]
    if open_issues:
        lines += [f"- **{cell(case_name(r))}** ({r['outcome']}): {cell(r['detail'])}" for r in open_issues]
    else:
        lines.append("None: every case passed.")
    lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    argv = argv[: argv.index("--")] if "--" in argv else argv
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, help="render from this directory of results-*.json; do not run")
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "reliability.md")
    args = parser.parse_args(argv)
    rc, elapsed = 0, None
    if args.results:
        results, summary = args.results, "rendered from an earlier run"
    else:
        results = Path(tempfile.mkdtemp(prefix="reliability-results-"))
        summary, elapsed, rc = run_suite(results, extra)
    records = load_records(results)
    if not records:
        print(f"no results-*.json in {results}", file=sys.stderr)
        return 1
    args.output.write_text(render(records, summary=summary, elapsed=elapsed), encoding="utf-8")
    print(f"wrote {args.output} ({len(records)} cases)")
    return rc


if __name__ == "__main__":
    sys.exit(main())
