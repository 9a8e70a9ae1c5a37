"""Check the wheel and sdist in a dist folder (`make dist` runs this after `python -m build` and `twine check`).

- the wheel holds the package (with `py.typed`, the CLI and pytest-plugin entry points, the license) and nothing
  of the repository around it (no tests/, bench/, docs/, tools/);
- its metadata states ranges: no framework (nor any other requirement) is pinned exactly;
- the sdist builds the same wheel: a wheel built straight from the source tree has the same files, byte for byte,
  as the one `python -m build` built from the sdist.

Usage: python tools/check_dist.py DIST_DIR [--no-rebuild]
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from email.parser import Parser
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "pretrained"
REQUIRED_IN_WHEEL = (
    f"{PACKAGE}/__init__.py",
    f"{PACKAGE}/py.typed",
    f"{PACKAGE}/torch/__init__.py",
    f"{PACKAGE}/tf/__init__.py",
    f"{PACKAGE}/flax/__init__.py",
    f"{PACKAGE}/models/resnet/__init__.py",
    f"{PACKAGE}/testing/pytest_plugin.py",
)
REQUIRED_IN_SDIST = ("pyproject.toml", "README.md", "LICENSE", f"src/{PACKAGE}/__init__.py", f"src/{PACKAGE}/py.typed")
FOREIGN_TOP_LEVEL = ("tests", "bench", "docs", "tools", "examples", "site", "build", "constraints")


class DistError(AssertionError):
    """The dist folder does not hold a wheel and sdist as they should be."""


def find_dists(dist: Path) -> tuple[Path, Path]:
    wheels, sdists = sorted(dist.glob("*.whl")), sorted(dist.glob("*.tar.gz"))
    if len(wheels) != 1 or len(sdists) != 1:
        raise DistError(f"{dist}: expected one wheel and one sdist, found {[p.name for p in (*wheels, *sdists)]}")
    return wheels[0], sdists[0]


def wheel_files(wheel: Path) -> dict[str, str]:
    """`{name: sha256}` of every file in the wheel."""
    with zipfile.ZipFile(wheel) as archive:
        return {
            info.filename: hashlib.sha256(archive.read(info)).hexdigest()
            for info in archive.infolist()
            if not info.is_dir()
        }


def wheel_metadata(wheel: Path) -> tuple[object, str]:
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        entry_points = next((n for n in archive.namelist() if n.endswith(".dist-info/entry_points.txt")), None)
        return (
            Parser().parsestr(archive.read(name).decode()),
            archive.read(entry_points).decode() if entry_points else "",
        )


def check_wheel(wheel: Path) -> list[str]:
    files = wheel_files(wheel)
    problems = [f"missing {name}" for name in REQUIRED_IN_WHEEL if name not in files]
    for name in files:
        top = name.split("/", 1)[0]
        if top in FOREIGN_TOP_LEVEL or (top != PACKAGE and not top.endswith(".dist-info")):
            problems.append(f"does not belong in the wheel: {name}")
        if "__pycache__" in name or name.endswith((".pyc", ".pyo")):
            problems.append(f"compiled file in the wheel: {name}")
    if not any(name.endswith(".dist-info/licenses/LICENSE") for name in files):
        problems.append("no LICENSE in .dist-info/licenses/")
    metadata, entry_points = wheel_metadata(wheel)
    for requirement in metadata.get_all("Requires-Dist") or []:
        spec = requirement.split(";", 1)[0]
        if "==" in spec or "===" in spec:
            problems.append(f"exact pin in the metadata (state a range): {requirement}")
    extras = set(metadata.get_all("Provides-Extra") or [])
    problems += [f"missing extra [{extra}]" for extra in ("torch", "tf", "tf-cpu", "flax", "all") if extra not in extras]
    if "pretrained = pretrained.cli:main" not in entry_points:
        problems.append("missing console script `pretrained`")
    if "pretrained = pretrained.testing.pytest_plugin" not in entry_points:
        problems.append("missing pytest11 entry point")
    return [f"{wheel.name}: {p}" for p in problems]


def check_sdist(sdist: Path) -> list[str]:
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    return [f"{sdist.name}: missing {name}" for name in REQUIRED_IN_SDIST if name not in names]


def build_wheel_from_tree(outdir: Path) -> Path:
    # setuptools stages the wheel in ./build and packs whatever is left there: start from a clean one
    shutil.rmtree(ROOT / "build", ignore_errors=True)
    try:
        subprocess.run([sys.executable, "-m", "build", "--wheel", "--outdir", str(outdir), str(ROOT)], check=True,
                       stdout=subprocess.DEVNULL)
    finally:
        shutil.rmtree(ROOT / "build", ignore_errors=True)
    (wheel,) = outdir.glob("*.whl")
    return wheel


def compare_wheels(from_sdist: Path, from_tree: Path) -> list[str]:
    a, b = wheel_files(from_sdist), wheel_files(from_tree)
    problems = [f"only in the wheel built from the tree: {n}" for n in sorted(b.keys() - a.keys())]
    problems += [f"only in the wheel built from the sdist: {n}" for n in sorted(a.keys() - b.keys())]
    problems += [f"differs between the two wheels: {n}" for n in sorted(a.keys() & b.keys()) if a[n] != b[n]]
    return problems


def check(dist: Path, rebuild: bool = True) -> list[str]:
    wheel, sdist = find_dists(dist)
    problems = check_wheel(wheel) + check_sdist(sdist)
    if rebuild:
        with tempfile.TemporaryDirectory() as tmp:
            problems += compare_wheels(wheel, build_wheel_from_tree(Path(tmp)))
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dist", type=Path)
    parser.add_argument("--no-rebuild", action="store_true", help="skip the wheel-from-tree comparison")
    args = parser.parse_args()
    problems = check(args.dist, rebuild=not args.no_rebuild)
    for problem in problems:
        print(f"FAIL {problem}", file=sys.stderr)
    if not problems:
        wheel, sdist = find_dists(args.dist)
        print(f"ok: {wheel.name} ({len(wheel_files(wheel))} files), {sdist.name}; the sdist builds the same wheel")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
