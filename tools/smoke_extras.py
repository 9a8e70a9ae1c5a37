"""Extras smoke test (`make smoke`): the built wheel in a fresh venv per extra, each extra alone.

For each of [torch], [tf], [flax]: `python -m venv`, `pip install "WHEEL[extra]"` (pinned by the lock, so the
wheels come from pip's cache or the machine's local indexes), then `tools/smoke_check.py` in that venv (import,
ResNet build / save / load, the CLI, `MissingBackendError` for the two absent backends), then `pip check`.
The venvs are deleted afterwards. Prints the time of each step.

Usage: python tools/smoke_extras.py [--lock constraints/dev.txt] [--extras torch,tf,flax] [--keep] WHEEL
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TOOLS = Path(__file__).resolve().parent


def run(step: str, command: list[str], **kwargs: object) -> float:
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, **kwargs)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        output = (result.stdout + result.stderr).splitlines()
        output = [line for line in output if "is ignored: it is neither a file nor a directory" not in line]
        raise SystemExit(f"FAIL {step} (exit {result.returncode}):\n" + "\n".join(output[-60:]))
    return seconds


def smoke(extra: str, wheel: Path, lock: Path | None, keep: bool) -> dict[str, float]:
    root = Path(tempfile.mkdtemp(prefix=f"pretrained-smoke-{extra}-"))
    venv, work = root / "venv", root / "work"
    work.mkdir()
    python = str(venv / "bin" / "python")
    constraint = ["-c", str(lock)] if lock else []
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PRETRAINED_DISABLE_PROGRESS_BARS": "1"}
    env.pop("PYTHONPATH", None)
    times: dict[str, float] = {}
    try:
        times["venv"] = run(f"[{extra}] venv", [sys.executable, "-m", "venv", str(venv)])
        times["venv"] += run(f"[{extra}] pip upgrade", [python, "-m", "pip", "install", "-q", "--upgrade", "pip"])
        times["install"] = run(
            f"[{extra}] pip install {wheel.name}[{extra}]",
            [python, "-m", "pip", "install", "-q", *constraint, f"{wheel.resolve()}[{extra}]"],
        )
        times["check"] = run(f"[{extra}] smoke_check", [python, str(TOOLS / "smoke_check.py"), extra, str(work)],
                             cwd=work, env=env)
        times["pip check"] = run(f"[{extra}] pip check", [python, "-m", "pip", "check"])
    finally:
        if keep:
            print(f"[{extra}] kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("wheel", type=Path)
    parser.add_argument("--lock", type=Path, help="constraints file (the pinned dev environment)")
    parser.add_argument("--extras", default="torch,tf,flax")
    parser.add_argument("--keep", action="store_true", help="keep the venvs (their paths are printed)")
    args = parser.parse_args()
    total = time.perf_counter()
    for extra in args.extras.split(","):
        times = smoke(extra, args.wheel, args.lock, args.keep)
        steps = ", ".join(f"{step} {seconds:.0f}s" for step, seconds in times.items())
        print(f"[{extra}] ok: {steps}", flush=True)
    print(f"extras smoke test: {args.extras} passed in {time.perf_counter() - total:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
