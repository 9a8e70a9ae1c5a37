"""Remote code: nothing from a checkpoint runs without `trust_remote_code=True`; with it, exactly the pinned code runs.

Every code file used here writes a marker file as the very first statement it executes, so even a partial import
(an import that later fails) is visible. The module cache goes to a per-test `PRETRAINED_MODULES_CACHE`.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from pretrained import AutoConfig
from pretrained.errors import RemoteCodeError
from pretrained.models.bert import BertConfig

MODEL_TYPE = "reliability-remote"


def _code(marker: Path, version: str, extra: str = "") -> str:
    return (
        f"open({str(marker)!r}, 'a').write({version!r} + '\\n')\n"
        f"{extra}"
        "from pretrained import PretrainedConfig\n"
        f"VERSION = {version!r}\n"
        "class RemoteConfig(PretrainedConfig):\n"
        f"    model_type = {MODEL_TYPE!r}\n"
    )


def _model_code(marker: Path) -> str:
    return (
        f"open({str(marker)!r}, 'a').write('model\\n')\n"
        "import torch\n"
        "from pretrained import PreTrainedModel\n"
        "from .configuration_remote import RemoteConfig\n"
        "class RemoteModel(PreTrainedModel):\n"
        "    config_class = RemoteConfig\n"
        "    def __init__(self, config):\n"
        "        super().__init__(config)\n"
        "        self.linear = torch.nn.Linear(2, 2)\n"
    )


def _config(**extra) -> str:
    return json.dumps({
        "model_type": MODEL_TYPE,
        "auto_map": {"AutoConfig": "configuration_remote.RemoteConfig", "AutoModel": "modeling_remote.RemoteModel"},
        **extra,
    })


@pytest.fixture
def modules_cache(tmp_path, monkeypatch) -> Path:
    cache = tmp_path / "modules-cache"
    monkeypatch.setenv("PRETRAINED_MODULES_CACHE", str(cache))
    return cache


@pytest.fixture
def checkpoint(tmp_path) -> tuple[Path, Path]:
    directory = tmp_path / "ckpt"
    directory.mkdir()
    marker = tmp_path / "marker"
    (directory / "configuration_remote.py").write_text(_code(marker, "local"))
    (directory / "modeling_remote.py").write_text(_model_code(marker))
    (directory / "config.json").write_text(_config())
    return directory, marker


def _cached_files(cache: Path) -> list[Path]:
    return sorted(p for p in cache.rglob("*.py") if p.name != "__init__.py") if cache.exists() else []


def _imported_remote_modules() -> list[str]:
    return [name for name in sys.modules if "configuration_remote" in name or "modeling_remote" in name]


@pytest.mark.parametrize("trust", [None, False])
def test_untrusted_code_is_never_imported(trust, checkpoint, modules_cache, observed):
    """A local checkpoint ships `configuration_remote.py` / `modeling_remote.py` (each writes a marker first thing)
    and names them in `auto_map`; call `AutoConfig.from_pretrained` and `AutoModel.from_pretrained` with
    `trust_remote_code` left out / False, and `BertConfig.from_pretrained` (a class that needs no code)."""
    from pretrained import AutoModel

    directory, marker = checkpoint
    kwargs = {} if trust is None else {"trust_remote_code": trust}
    before = set(_imported_remote_modules())
    with pytest.raises(RemoteCodeError) as config_error:
        AutoConfig.from_pretrained(directory, **kwargs)
    with pytest.raises(RemoteCodeError):
        AutoModel.from_pretrained(directory, **kwargs)
    BertConfig.from_pretrained(directory)  # loads the JSON only (with a model_type warning)
    assert not marker.exists(), "checkpoint code ran without trust_remote_code=True"
    assert set(_imported_remote_modules()) == before
    assert _cached_files(modules_cache) == [], "code was copied into the module cache without trust"
    assert "trust_remote_code=True" in str(config_error.value)
    observed(f"RemoteCodeError: {str(config_error.value).replace(str(directory), '<ckpt>')[:170]}; AutoModel too; "
             "marker absent, nothing copied to the module cache, no module imported")


def test_untrusted_code_from_the_hub_is_never_fetched_or_imported(local_hub, tmp_path, modules_cache, observed):
    """Push the same code-shipping checkpoint to a LocalHub repo; `AutoConfig.from_pretrained(repo_id)` without
    trust must refuse, import nothing and copy nothing into the module cache."""
    from huggingface_hub import HfApi

    marker = tmp_path / "marker"
    api = HfApi()
    repo = api.create_repo("remote-untrusted").repo_id
    folder = tmp_path / "upload"
    folder.mkdir()
    (folder / "configuration_remote.py").write_text(_code(marker, "hub"))
    (folder / "config.json").write_text(_config())
    api.upload_folder(repo_id=repo, folder_path=folder)
    local_hub.requests.clear()
    with pytest.raises(RemoteCodeError):
        AutoConfig.from_pretrained(repo)
    assert not marker.exists()
    assert _cached_files(modules_cache) == []
    fetched = [path for _, path in local_hub.requests if path.endswith(".py")]
    assert not fetched, f"code files were downloaded without trust: {fetched}"
    observed("RemoteCodeError; no .py file requested from the Hub, marker absent, module cache empty")


def test_pinned_revision_runs_exactly_that_code(local_hub, tmp_path, modules_cache, observed):
    """Push code version 1 (commit A), then version 2 (commit B) to one repo; load with `trust_remote_code=True`
    at revision A, at B, at main, then at A again in the same process: each load must run its own revision's code,
    and the module cache must hold byte-identical copies of each snapshot's files."""
    from huggingface_hub import HfApi

    marker = tmp_path / "marker"
    api = HfApi()
    repo = api.create_repo("remote-pinned").repo_id
    commits = {}
    for version in ("v1", "v2"):
        folder = tmp_path / version
        folder.mkdir()
        (folder / "configuration_remote.py").write_text(_code(marker, version))
        (folder / "config.json").write_text(_config(version=version))
        commits[version] = api.upload_folder(repo_id=repo, folder_path=folder).oid
    seen = []
    for revision, expected in ((commits["v1"], "v1"), (commits["v2"], "v2"), ("main", "v2"), (commits["v1"], "v1")):
        config = AutoConfig.from_pretrained(repo, revision=revision, trust_remote_code=True)
        module = sys.modules[type(config).__module__]
        assert module.VERSION == expected, f"revision {revision[:8]} ran {module.VERSION}"
        assert config.version == expected
        seen.append(f"{revision[:8]}->{module.VERSION}")
    assert marker.read_text().split() == ["v1", "v2"], "each revision's code runs once, in its own module"
    sources = {(tmp_path / v / "configuration_remote.py").read_bytes() for v in ("v1", "v2")}
    cached = _cached_files(modules_cache)
    assert cached and all(p.read_bytes() in sources for p in cached)
    assert {p.parent.name.rsplit("__", 1)[-1] for p in cached} == set(commits.values())
    observed(f"loads ran {', '.join(seen)}; module cache holds one package per commit "
             f"({len(cached)} files, byte-identical to the snapshots)")


def test_code_comes_only_from_the_checkpoint(checkpoint, tmp_path, modules_cache, monkeypatch, observed):
    """Put decoy `configuration_remote.py` files (another version) in the working directory, the checkpoint's
    parent directory and on `sys.path`; load the local checkpoint with `trust_remote_code=True`: the checkpoint's
    own file must run and be the only source copied into the module cache."""
    directory, marker = checkpoint
    decoy_marker = tmp_path / "decoy-marker"
    decoy = _code(decoy_marker, "decoy")
    cwd = tmp_path / "cwd"
    on_path = tmp_path / "on-path"
    for place in (cwd, on_path, directory.parent):
        place.mkdir(exist_ok=True)
        (place / "configuration_remote.py").write_text(decoy)
    monkeypatch.chdir(cwd)
    monkeypatch.syspath_prepend(str(on_path))
    config = AutoConfig.from_pretrained(directory, trust_remote_code=True)
    assert sys.modules[type(config).__module__].VERSION == "local"
    assert not decoy_marker.exists()
    cached = _cached_files(modules_cache)
    originals = {p.read_bytes() for p in directory.glob("*.py")}
    assert cached and all(p.read_bytes() in originals for p in cached)
    observed(f"the checkpoint's own code ran (VERSION 'local'); decoys never imported; the module cache holds "
             f"{len(cached)} file(s), each byte-identical to a checkpoint file")


@pytest.mark.parametrize("escape", ["symlink to a file outside", "relative import of the parent package"])
def test_code_reaching_outside_the_checkpoint_is_refused(escape, checkpoint, tmp_path, modules_cache, observed):
    """With `trust_remote_code=True`, make the code escape the checkpoint: `configuration_remote.py` a symlink to a
    file outside it, or code doing `from .. import outside`; the load must raise RemoteCodeError and the outside
    file must neither run nor land in the module cache."""
    directory, marker = checkpoint
    outside_marker = tmp_path / "outside-marker"
    outside = tmp_path / "outside.py"
    outside.write_text(_code(outside_marker, "outside"))
    target = directory / "configuration_remote.py"
    if escape.startswith("symlink"):
        target.unlink()
        os.symlink(outside, target)
    else:
        target.write_text(_code(marker, "local", extra="from .. import outside  # noqa\n"))
    with pytest.raises(RemoteCodeError) as excinfo:
        AutoConfig.from_pretrained(directory, trust_remote_code=True)
    assert not outside_marker.exists() and not marker.exists()
    assert all(p.read_bytes() != outside.read_bytes() for p in _cached_files(modules_cache))
    observed(f"RemoteCodeError: {str(excinfo.value).replace(str(tmp_path), '<tmp>')[:170]}; nothing ran")
