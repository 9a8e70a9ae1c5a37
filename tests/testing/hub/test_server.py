"""The loopback Hub (`pretrained.testing.LocalHub`) driven by the real huggingface_hub client, no mocks."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import httpx2
import pytest
from huggingface_hub import HfApi, constants, hf_hub_download, snapshot_download
from huggingface_hub.errors import (
    EntryNotFoundError,
    HfHubHTTPError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

from pretrained.testing import LocalHub

REPO = "local-user/tiny"


def _git_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A model folder with a regular file, an LFS (.safetensors) file and a nested file."""
    root = tmp_path / "folder"
    (root / "sub").mkdir(parents=True)
    (root / "config.json").write_text('{"hidden": 4}')
    (root / "model.safetensors").write_bytes(os.urandom(4096))
    (root / "sub" / "notes.txt").write_text("hello")
    return root


def test_create_repo_exist_ok_and_conflict(local_hub: LocalHub, tmp_path: Path) -> None:
    api = HfApi()
    url = api.create_repo("tiny")
    assert url.repo_id == REPO and url.endpoint == local_hub.endpoint
    assert local_hub.root == tmp_path / "hub" and constants.HF_HUB_CACHE.startswith(str(tmp_path))
    assert api.create_repo("tiny", exist_ok=True).repo_id == REPO
    with pytest.raises(HfHubHTTPError) as info:
        api.create_repo("tiny")
    assert info.value.response.status_code == 409
    assert api.whoami()["name"] == "local-user"
    # like the Hub, a new repo has an initial commit with a .gitattributes
    assert api.list_repo_files(REPO) == [".gitattributes"]
    assert api.repo_exists(REPO) and not api.repo_exists("local-user/other")
    api.delete_repo(REPO)
    assert not api.repo_exists(REPO)


def test_upload_folder_regular_and_lfs_then_download(local_hub: LocalHub, folder: Path) -> None:
    api = HfApi()
    api.create_repo("tiny")
    info = api.upload_folder(repo_id=REPO, folder_path=folder)
    assert info.oid == api.model_info(REPO).sha
    files = {f.path: f for f in api.get_paths_info(REPO, ["config.json", "model.safetensors", "sub"])}
    assert files["config.json"].lfs is None
    weights = (folder / "model.safetensors").read_bytes()
    assert files["model.safetensors"].lfs.sha256 == hashlib.sha256(weights).hexdigest()
    assert type(files["sub"]).__name__ == "RepoFolder"
    assert ("PUT", f"/api/lfs/objects/{hashlib.sha256(weights).hexdigest()}") in local_hub.requests

    assert Path(hf_hub_download(REPO, "model.safetensors")).read_bytes() == weights
    assert Path(hf_hub_download(REPO, "config.json")).read_text() == '{"hidden": 4}'
    assert Path(hf_hub_download(REPO, "notes.txt", subfolder="sub")).read_text() == "hello"

    # headers as the Hub sends them: git sha1 ETag for regular files, sha256 + X-Linked-* for LFS files
    base = f"{local_hub.endpoint}/{REPO}/resolve/main"
    regular = httpx2.head(f"{base}/config.json")
    assert regular.headers["ETag"] == f'"{_git_sha1((folder / "config.json").read_bytes())}"'
    assert regular.headers["X-Repo-Commit"] == info.oid
    lfs = httpx2.head(f"{base}/model.safetensors")
    assert lfs.headers["X-Linked-Etag"] == f'"{hashlib.sha256(weights).hexdigest()}"'
    assert lfs.headers["X-Linked-Size"] == "4096" == lfs.headers["Content-Length"]


def test_large_text_file_goes_through_lfs(local_hub: LocalHub, tmp_path: Path) -> None:
    api = HfApi()
    api.create_repo("tiny")
    big = tmp_path / "big.txt"
    big.write_bytes(b"abc\n" * 2_750_000)  # 11 MB of text: over the 10 MB limit of regular files
    api.upload_file(path_or_fileobj=big, path_in_repo="big.txt", repo_id=REPO)
    (entry,) = api.get_paths_info(REPO, "big.txt")
    assert entry.lfs is not None and entry.size == big.stat().st_size
    assert Path(hf_hub_download(REPO, "big.txt")).stat().st_size == big.stat().st_size


def test_two_pushes_history_and_old_revision(local_hub: LocalHub) -> None:
    api = HfApi()
    api.create_repo("tiny")
    first = api.upload_file(path_or_fileobj=b"v1", path_in_repo="a.txt", repo_id=REPO, commit_message="first")
    second = api.upload_file(path_or_fileobj=b"v2", path_in_repo="a.txt", repo_id=REPO, commit_message="second")
    commits = api.list_repo_commits(REPO)
    assert [c.commit_id for c in commits[:2]] == [second.oid, first.oid]
    assert [c.title for c in commits] == ["second", "first", "initial commit"]
    assert Path(hf_hub_download(REPO, "a.txt", revision=first.oid)).read_bytes() == b"v1"
    assert Path(hf_hub_download(REPO, "a.txt")).read_bytes() == b"v2"
    assert api.model_info(REPO, revision=first.oid[:10]).sha == first.oid  # short shas resolve too


def test_create_pr_leaves_main_unchanged(local_hub: LocalHub) -> None:
    api = HfApi()
    api.create_repo("tiny")
    main = api.upload_file(path_or_fileobj=b"main", path_in_repo="a.txt", repo_id=REPO)
    pr = api.upload_file(path_or_fileobj=b"pr", path_in_repo="a.txt", repo_id=REPO, create_pr=True)
    assert pr.pr_revision == "refs/pr/1" and pr.pr_num == 1
    assert api.model_info(REPO).sha == main.oid
    assert Path(hf_hub_download(REPO, "a.txt")).read_bytes() == b"main"
    assert Path(hf_hub_download(REPO, "a.txt", revision="refs/pr/1")).read_bytes() == b"pr"
    refs = api.list_repo_refs(REPO, include_pull_requests=True)
    assert [(r.ref, r.target_commit) for r in refs.pull_requests] == [("refs/pr/1", pr.oid)]
    # pushing again to the PR moves the PR ref only
    again = api.upload_file(path_or_fileobj=b"pr2", path_in_repo="a.txt", repo_id=REPO, revision="refs/pr/1")
    assert api.model_info(REPO, revision="refs/pr/1").sha == again.oid
    assert api.model_info(REPO).sha == main.oid


def test_snapshot_download_patterns_then_offline(local_hub: LocalHub, folder: Path, monkeypatch) -> None:
    api = HfApi()
    api.create_repo("tiny")
    api.upload_folder(repo_id=REPO, folder_path=folder)
    snapshot = Path(snapshot_download(REPO, allow_patterns=["*.json", "sub/*"]))
    got = sorted(p.relative_to(snapshot).as_posix() for p in snapshot.rglob("*") if p.is_file())
    assert got == ["config.json", "sub/notes.txt"]
    weights = hf_hub_download(REPO, "model.safetensors")

    seen = len(local_hub.requests)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)  # read at import time: patch the constant
    assert hf_hub_download(REPO, "model.safetensors") == weights
    assert Path(snapshot_download(REPO, allow_patterns=["*.json", "sub/*"])) == snapshot
    assert len(local_hub.requests) == seen  # nothing reached the server


def test_missing_repo_file_and_revision_errors(local_hub: LocalHub) -> None:
    api = HfApi()
    api.create_repo("tiny")
    with pytest.raises(RepositoryNotFoundError):
        hf_hub_download("local-user/does-not-exist", "config.json")
    with pytest.raises(RepositoryNotFoundError):
        api.model_info("local-user/does-not-exist")
    with pytest.raises(EntryNotFoundError):
        hf_hub_download(REPO, "missing.json")
    with pytest.raises(RevisionNotFoundError):
        hf_hub_download(REPO, ".gitattributes", revision="no-such-branch")
    with pytest.raises(RevisionNotFoundError):
        api.model_info(REPO, revision="no-such-branch")
    assert not api.file_exists(REPO, "missing.json")


def test_commit_failure_keeps_main_and_retry_succeeds(local_hub: LocalHub) -> None:
    api = HfApi()
    api.create_repo("tiny")
    before = api.upload_file(path_or_fileobj=b"one", path_in_repo="a.txt", repo_id=REPO).oid
    local_hub.fail_next("commit", status=500)
    with pytest.raises(HfHubHTTPError) as info:
        api.upload_file(path_or_fileobj=b"two", path_in_repo="a.txt", repo_id=REPO)
    assert info.value.response.status_code == 500
    assert api.model_info(REPO).sha == before
    after = api.upload_file(path_or_fileobj=b"two", path_in_repo="a.txt", repo_id=REPO).oid
    assert after != before and api.model_info(REPO).sha == after
    # a stale parent commit is a conflict
    with pytest.raises(HfHubHTTPError) as info:
        api.upload_file(path_or_fileobj=b"3", path_in_repo="b.txt", repo_id=REPO, parent_commit=before)
    assert info.value.response.status_code == 412


def test_dropped_connections_are_survived(local_hub: LocalHub) -> None:
    api = HfApi()
    api.create_repo("tiny")
    data = os.urandom(300_000)
    local_hub.fail_next("lfs_upload", drop_connection=True)  # socket closed mid-upload: the client retries the PUT
    api.upload_file(path_or_fileobj=data, path_in_repo="w.bin", repo_id=REPO)
    assert sum(1 for m, p in local_hub.requests if m == "PUT") == 2
    local_hub.fail_next("resolve", drop_connection=True)  # socket closed mid-download: the client downloads again
    assert Path(hf_hub_download(REPO, "w.bin")).read_bytes() == data
    assert sum(1 for m, p in local_hub.requests if m == "GET" and p.endswith("/w.bin")) == 2


def test_range_requests_and_chunked_uploads(local_hub: LocalHub) -> None:
    api = HfApi()
    api.create_repo("tiny")
    api.upload_file(path_or_fileobj=b"0123456789", path_in_repo="digits.txt", repo_id=REPO)
    url = f"{local_hub.endpoint}/{REPO}/resolve/main/digits.txt"
    part = httpx2.get(url, headers={"Range": "bytes=3-"})
    assert (part.status_code, part.content, part.headers["Content-Range"]) == (206, b"3456789", "bytes 3-9/10")
    assert httpx2.get(url, headers={"Range": "bytes=-2"}).content == b"89"
    assert httpx2.get(url, headers={"Range": "bytes=20-"}).status_code == 416
    # the LFS upload endpoint accepts chunked bodies and checks the sha256
    blob = b"x" * 100_000
    oid = hashlib.sha256(blob).hexdigest()
    chunks = (blob[i : i + 7000] for i in range(0, len(blob), 7000))
    assert httpx2.put(f"{local_hub.endpoint}/api/lfs/objects/{oid}", content=chunks).status_code == 200
    assert local_hub.store.has_blob(oid, len(blob))
    assert httpx2.put(f"{local_hub.endpoint}/api/lfs/objects/{'0' * 64}", content=b"nope").status_code == 400


def test_branches_tags_tree_and_other_repo_types(local_hub: LocalHub, folder: Path) -> None:
    api = HfApi()
    api.create_repo("tiny")
    api.upload_folder(repo_id=REPO, folder_path=folder)
    api.create_branch(REPO, branch="dev")
    api.create_tag(REPO, tag="v1.0")
    api.delete_file("config.json", REPO, revision="dev")
    assert "config.json" not in api.list_repo_files(REPO, revision="dev")
    assert "config.json" in api.list_repo_files(REPO, revision="v1.0")
    refs = api.list_repo_refs(REPO)
    assert {b.name for b in refs.branches} == {"main", "dev"} and [t.name for t in refs.tags] == ["v1.0"]
    tree = list(api.list_repo_tree(REPO, path_in_repo="sub", expand=True))
    assert [t.path for t in tree] == ["sub/notes.txt"] and tree[0].last_commit is not None
    api.delete_branch(REPO, branch="dev")

    api.create_repo("data", repo_type="dataset")
    api.upload_file(path_or_fileobj=b"a,b\n", path_in_repo="train.csv", repo_id="local-user/data", repo_type="dataset")
    assert Path(hf_hub_download("local-user/data", "train.csv", repo_type="dataset")).read_bytes() == b"a,b\n"
    binary = b"\x00\x01" * 1000  # binary content goes to LFS, through the dataset-prefixed batch route
    api.upload_file(path_or_fileobj=binary, path_in_repo="x.arrow", repo_id="local-user/data", repo_type="dataset")
    assert ("POST", "/datasets/local-user/data.git/info/lfs/objects/batch") in local_hub.requests
    assert Path(hf_hub_download("local-user/data", "x.arrow", repo_type="dataset")).read_bytes() == binary
    api.create_repo("demo", repo_type="space", space_sdk="static")
    api.upload_file(path_or_fileobj=b"<p/>", path_in_repo="index.html", repo_id="local-user/demo", repo_type="space")
    assert api.space_info("local-user/demo").sha is not None
    assert api.model_info(REPO, files_metadata=True).siblings[0].blob_id is not None


def test_environment_is_restored(tmp_path: Path, monkeypatch) -> None:
    import huggingface_hub.hf_api as hf_api

    monkeypatch.setenv("HF_ENDPOINT", "https://example.invalid")
    monkeypatch.delenv("HF_TOKEN", raising=False)
    watched = ("HF_ENDPOINT", "HF_HOME", "HF_HUB_CACHE", "HF_TOKEN", "HF_HUB_DISABLE_XET", "HF_HUB_OFFLINE")
    env_before = {k: os.environ.get(k) for k in watched}
    consts_before = {k: getattr(constants, k) for k in ("ENDPOINT", "HF_HUB_CACHE", "HF_HOME", "HF_HUB_DISABLE_XET")}
    api_endpoint = hf_api.api.endpoint
    with LocalHub(root=tmp_path / "hub", hf_home=tmp_path / "home") as hub:
        assert os.environ["HF_ENDPOINT"] == hub.endpoint == constants.ENDPOINT == hf_api.api.endpoint
        assert constants.HF_HUB_CACHE == str((tmp_path / "home" / "hub").resolve())
        assert constants.HF_HUB_DISABLE_XET is True and os.environ["HF_TOKEN"] == "hf_local"
    assert {k: os.environ.get(k) for k in watched} == env_before
    assert {k: getattr(constants, k) for k in consts_before} == consts_before
    assert hf_api.api.endpoint == api_endpoint
    hub.stop()  # idempotent
    assert (tmp_path / "hub" / "blobs").is_dir()  # a given root is kept


def test_subprocess_reaches_the_hub(local_hub: LocalHub) -> None:
    api = HfApi()
    api.create_repo("tiny")
    api.upload_file(path_or_fileobj=b'{"from": "parent"}', path_in_repo="config.json", repo_id=REPO)
    code = f"from huggingface_hub import hf_hub_download; print(open(hf_hub_download({REPO!r}, 'config.json')).read())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == '{"from": "parent"}'


def test_standalone_server_module(tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "pretrained.testing.hub", "--root", str(tmp_path), "--port", "0"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    try:
        endpoint = proc.stdout.readline().split()[2]
        assert httpx2.get(f"{endpoint}/api/whoami-v2", headers={"authorization": "Bearer x"}).json()["name"]
        assert httpx2.get(f"{endpoint}/api/models/local-user/nope").headers["X-Error-Code"] == "RepoNotFound"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
