"""pyproject.toml states ranges; constraints/dev.txt pins the dev environment inside them; constraints/compat.txt
pins exactly the floors (what `make compat` tests)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
FRAMEWORKS = {"torch", "torchvision", "timm", "tensorflow", "tensorflow-cpu", "keras", "jax", "jaxlib", "flax"}
LIBRARY_EXTRAS = ("torch", "tf", "tf-cpu", "flax")


def pins(path: Path) -> dict[str, Version]:
    out = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"{path.name}: not an exact pin: {line!r}"
            out[canonicalize_name(name)] = Version(version)
    return out


def requirements(*extras: str) -> list[Requirement]:
    found = [Requirement(r) for r in PROJECT["dependencies"]]
    for extra in extras:
        found += [Requirement(r) for r in PROJECT["optional-dependencies"][extra]]
    return [r for r in found if canonicalize_name(r.name) != "pretrained"]


def floor(requirement: Requirement) -> Version | None:
    lows = [Version(s.version) for s in requirement.specifier if s.operator == ">="]
    return max(lows) if lows else None


@pytest.mark.parametrize("requirement", requirements(*PROJECT["optional-dependencies"]), ids=str)
def test_library_metadata_states_ranges_not_pins(requirement):
    assert not any(s.operator in ("==", "===") for s in requirement.specifier), f"exact pin: {requirement}"
    if canonicalize_name(requirement.name) in FRAMEWORKS:
        assert floor(requirement) is not None, f"{requirement}: a framework needs a tested floor (>=)"


def test_every_floor_is_what_make_compat_installs():
    compat = pins(ROOT / "constraints" / "compat.txt")
    for requirement in requirements(*LIBRARY_EXTRAS):
        name = canonicalize_name(requirement.name)
        if name == "tensorflow-cpu":
            name = "tensorflow"  # the same releases: tf-cpu is tested through tf
        low = floor(requirement)
        if low is None or name == "numpy":  # numpy: tools/compat.sh sets it per phase (1.26, then 2.0)
            continue
        assert name in compat, f"{requirement}: its floor is not tested (add {name}=={low} to constraints/compat.txt)"
        assert compat[name] == low, f"{requirement}: floor {low}, but make compat installs {compat[name]}"
    assert floor(requirements("tf")[-1]) == floor(requirements("tf-cpu")[-1]), "[tf] and [tf-cpu] floors differ"


def test_compat_first_phase_runs_the_numpy_floor():
    (numpy,) = [r for r in requirements() if r.name == "numpy"]
    phases = re.findall(r'"numpy==([0-9.]+)"', (ROOT / "tools" / "compat.sh").read_text())
    assert phases and Version(phases[0]) == floor(numpy), (phases, str(numpy))


def test_dev_lock_sits_inside_the_ranges():
    lock = pins(ROOT / "constraints" / "dev.txt")
    assert "triton" not in lock, "triton is uninstalled from the dev environment; it must not be pinned"
    assert "pretrained" not in lock
    checked = 0
    for requirement in requirements("torch", "tf", "tf-cpu", "flax", "test", "docs"):
        name = canonicalize_name(requirement.name)
        assert name in lock, f"{requirement} is not pinned in constraints/dev.txt (run make lock)"
        assert requirement.specifier.contains(lock[name], prereleases=True), (
            f"constraints/dev.txt pins {name}=={lock[name]}, outside {requirement} (run make lock)"
        )
        checked += 1
    assert checked > 10


def test_every_path_make_compat_tests_exists():
    # A renamed test file makes pytest collect nothing in `make compat`, which fails CI only at its very end.
    script = (ROOT / "tools" / "compat.sh").read_text()
    paths = set(re.findall(r"(tests/[\w/.]+)", script))
    assert len(paths) > 10
    missing = sorted(path.split("::")[0] for path in paths if not (ROOT / path.split("::")[0]).exists())
    assert not missing, f"tools/compat.sh names test paths that do not exist: {missing}"
