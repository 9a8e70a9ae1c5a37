"""Hub faults (LocalHub): failed or cut uploads leave main untouched; cut downloads never poison the cache.

The LocalHub fails the next request(s) on a route with an HTTP status, or closes the socket half-way through the
request body (uploads) or the response body (downloads), through `LocalHub.fail_next`.
"""

from __future__ import annotations

import hashlib
import re
import time
from pathlib import Path

import pytest
from _support import state_digests

torch = pytest.importorskip("torch")

from huggingface_hub import HfApi, hf_hub_download  # noqa: E402

from pretrained.errors import HubError, IntegrityError, PretrainedError  # noqa: E402
from pretrained.models.bert import BertConfig, BertModel  # noqa: E402


def _model(seed: int, vocab: int = 1000, hidden: int = 64) -> BertModel:
    torch.manual_seed(seed)
    return BertModel(BertConfig(vocab_size=vocab, hidden_size=hidden, num_hidden_layers=2, num_attention_heads=4,
                                intermediate_size=4 * hidden, max_position_embeddings=64))


def _short(exc: BaseException) -> str:
    text = re.sub(r"\S*/hf_home/hub/", "<cache>/", " ".join(str(exc).split()))
    text = re.sub(r"http://127\.0\.0\.1:\d+", "<hub>", text)
    return f"{type(exc).__name__}: {text[:220]}"


PUSH_FAULTS = {  # route, fault, and whether it lasts beyond huggingface_hub's own retries
    "commit answers 500": (dict(route="commit", status=500), False),
    "commit connection dropped mid-request": (dict(route="commit", drop_connection=True), False),
    "preupload answers 503 once": (dict(route="preupload", status=503), False),
    "preupload answers 500 on every try": (dict(route="preupload", status=500, times=1000), True),
    "LFS upload connection dropped once": (dict(route="lfs_upload", drop_connection=True), False),
    "LFS upload answers 500 on every try": (dict(route="lfs_upload", status=500, times=1000), True),
    "LFS upload connection dropped on every try": (dict(route="lfs_upload", drop_connection=True, times=1000), True),
}


class _NoSleep:
    """Stands in for the `time` module inside huggingface_hub's retry loop: same clock, no backoff sleeps."""

    def __getattr__(self, name):
        return getattr(time, name)

    @staticmethod
    def sleep(seconds: float) -> None:
        pass


@pytest.mark.parametrize("fault", list(PUSH_FAULTS))
def test_push_to_hub_fault_keeps_main_and_retry_succeeds(fault, local_hub, monkeypatch, observed):
    """Push model A, arm the fault, push model B (4 LFS shards): either huggingface_hub's own retries absorb the
    fault and main holds exactly B, or the push raises a PretrainedError naming the repo, main still holds A's
    commit and files, and pushing B again succeeds and loads exactly (backoff sleeps are skipped)."""
    from huggingface_hub.utils import _http

    monkeypatch.setattr(_http, "time", _NoSleep())
    api = HfApi()
    repo = api.create_repo("faulty-push").repo_id
    first = _model(0).push_to_hub(repo)
    files_before = sorted(api.list_repo_files(repo))
    model = _model(1)
    spec, lasting = PUSH_FAULTS[fault]
    spec = dict(spec)
    local_hub.fail_next(spec.pop("route"), **spec)
    try:
        info = model.push_to_hub(repo, max_shard_size="200KB")
    except Exception as exc:  # noqa: BLE001 - judged below
        error = exc
    else:
        error = None
    for route in ("commit", "preupload", "lfs_upload"):  # faults armed for every try may be left over
        _clear_faults(local_hub, route)
    if error is None:
        assert not lasting, "the push succeeded although every try failed"
        assert api.repo_info(repo).sha == info.oid != first.oid
        assert state_digests(BertModel.from_pretrained(repo)) == state_digests(model)
        observed("absorbed by huggingface_hub's retries: the push succeeded, main holds exactly the new model")
        return
    assert api.repo_info(repo).sha == first.oid, "main moved although the push failed"
    assert sorted(api.list_repo_files(repo)) == files_before
    retry = model.push_to_hub(repo, max_shard_size="200KB")
    assert api.repo_info(repo).sha == retry.oid != first.oid
    assert state_digests(BertModel.from_pretrained(repo)) == state_digests(model)
    observed(f"{_short(error)}; main unchanged; the retry committed and loads exactly")
    assert isinstance(error, PretrainedError), f"raw {type(error).__module__}.{type(error).__name__}: {error}"
    assert repo in str(error), "the error does not name the repo"


def _clear_faults(hub, route: str) -> None:
    """Disarm what is left of a fault armed with `times=N` (LocalHub has no public call for it)."""
    server = hub._require()
    with server._faults_lock:
        server._faults.pop(route, None)


# ============================================================================================== downloads
def _blobs(hf_home: Path) -> list[Path]:
    return sorted(p for p in hf_home.rglob("blobs/*") if p.is_file())


@pytest.mark.parametrize("size", ["2 MB (restarted from 0)", "12 MB (resumed with Range)"])
@pytest.mark.parametrize("times", [1, 1000], ids=["once", "every try"])
def test_interrupted_download_never_poisons_the_cache(size, times, local_hub, monkeypatch, observed):
    """Push a model whose `model.safetensors` has the size given, cut the download of that file half-way (once,
    or on every try); `from_pretrained(repo_id)` must load the exact weights or raise a PretrainedError, and then an
    offline load (`local_files_only=True`) must load the exact weights or refuse, never accept a partial file."""
    from huggingface_hub.utils import _http

    monkeypatch.setattr(_http, "time", _NoSleep())
    api = HfApi()
    repo = api.create_repo("cut-download").repo_id
    model = _model(0, vocab=45000 if size.startswith("12") else 600, hidden=64 if size.startswith("12") else 128)
    model.push_to_hub(repo)
    expected = state_digests(model)
    hf_hub_download(repo, "config.json")  # cached first, so the cut hits the weights download (a GET)
    local_hub.fail_next("resolve", drop_connection=True, times=times)
    online = offline = ""
    try:
        assert state_digests(BertModel.from_pretrained(repo)) == expected
        online = "loaded exactly"
    except PretrainedError as exc:
        online = _short(exc)
    _clear_faults(local_hub, "resolve")
    try:
        assert state_digests(BertModel.from_pretrained(repo, local_files_only=True)) == expected
        offline = "offline load exact"
    except PretrainedError as exc:
        offline = f"offline: {_short(exc)[:120]}"
    for blob in _blobs(local_hub.hf_home):  # every blob that made it into the cache is complete
        if len(blob.name) == 64:
            assert hashlib.sha256(blob.read_bytes()).hexdigest() == blob.name, f"corrupt blob {blob}"
    incomplete = [p.name for p in local_hub.hf_home.rglob("*.incomplete")]
    observed(f"online: {online}; {offline}; every cached blob matches its sha256"
             + (f"; {len(incomplete)} `.incomplete` file(s) kept for resuming" if incomplete else ""))


@pytest.mark.parametrize("layout", ["single file", "sharded"])
def test_verify_catches_a_blob_altered_after_download(layout, local_hub, observed):
    """Push a model, load it once (downloading it into the cache), flip one byte of tensor data in a cached blob;
    `from_pretrained(repo_id, verify=True)` must raise IntegrityError naming the file, online and offline."""
    api = HfApi()
    repo = api.create_repo("tampered").repo_id
    model = _model(0)
    model.push_to_hub(repo, max_shard_size="200KB" if layout == "sharded" else "5GB")
    BertModel.from_pretrained(repo)
    blobs = [p for p in _blobs(local_hub.hf_home) if p.stat().st_size > 100_000]
    assert blobs
    victim = blobs[-1]
    with open(victim, "r+b") as handle:
        handle.seek(-10, 2)
        byte = handle.read(1)
        handle.seek(-10, 2)
        handle.write(bytes([byte[0] ^ 0xFF]))
    unverified = BertModel.from_pretrained(repo, local_files_only=True)
    silently_different = state_digests(unverified) != state_digests(model)
    for kwargs in ({}, {"local_files_only": True}):
        with pytest.raises(IntegrityError) as excinfo:
            BertModel.from_pretrained(repo, verify=True, **kwargs)
        assert "sha256" in str(excinfo.value) and ".safetensors" in str(excinfo.value)
    observed(f"{_short(excinfo.value)}; without verify=True the altered weights load "
             f"{'silently (as documented: verify is opt-in)' if silently_different else 'unchanged'}")


def test_hub_error_on_unreachable_revision(local_hub, observed):
    """Ask for a revision that does not exist and for a repo that does not exist: HubError naming repo/revision."""
    api = HfApi()
    repo = api.create_repo("exists").repo_id
    _model(0).push_to_hub(repo)
    with pytest.raises(HubError) as bad_revision:
        BertModel.from_pretrained(repo, revision="no-such-branch")
    assert "no-such-branch" in str(bad_revision.value)
    with pytest.raises(HubError) as bad_repo:
        BertModel.from_pretrained("local-user/does-not-exist")
    assert "does-not-exist" in str(bad_repo.value)
    observed(f"{_short(bad_revision.value)[:120]}; {_short(bad_repo.value)[:120]}")
