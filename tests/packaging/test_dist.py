"""`python -m build` makes a wheel and an sdist that pass `twine check`; the wheel holds the package and nothing
else; the wheel built from the sdist equals the one built from the tree (tools/check_dist.py, as `make dist`)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytest.importorskip("build")

spec = importlib.util.spec_from_file_location("check_dist", ROOT / "tools" / "check_dist.py")
check_dist = importlib.util.module_from_spec(spec)
spec.loader.exec_module(check_dist)


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)], check=True,
                   capture_output=True, timeout=600)
    return out


def test_wheel_and_sdist_are_sound_and_the_sdist_builds_the_same_wheel(dist):
    assert check_dist.check(dist) == []


def test_twine_check(dist):
    pytest.importorskip("twine")
    result = subprocess.run([sys.executable, "-m", "twine", "check", "--strict", *map(str, sorted(dist.iterdir()))],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_checker_catches_a_foreign_file_and_a_pin(dist, tmp_path):
    import zipfile

    wheel, _ = check_dist.find_dists(dist)
    bad = tmp_path / wheel.name
    with zipfile.ZipFile(wheel) as source, zipfile.ZipFile(bad, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename.endswith("METADATA"):
                data = data.replace(b"Requires-Dist: numpy>=", b"Requires-Dist: numpy==")
            target.writestr(info, data)
        target.writestr("tests/test_x.py", "")
    problems = "\n".join(check_dist.check_wheel(bad))
    assert "does not belong in the wheel: tests/test_x.py" in problems
    assert "exact pin in the metadata" in problems
