"""Crash safety: a save killed with SIGKILL, or failing on a full disk, never costs the previous checkpoint.

A subprocess builds a different BERT model (about 240 MB, 5 shards of at most 50 MB) and saves it with
`BertModel.save_pretrained` over a directory that already holds the shared reference checkpoint. It stops at a named
point of the save (it prints `PAUSED <point>` and sleeps, see `_child.py`) and the test SIGKILLs it there. The save
commits by exchanging the directory with a complete new one (`renameat2`); `--in-place` runs the fallback commit
(renames inside the directory) that systems without the exchange use. `test_kill_random.py` kills at random moments.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import signal
import subprocess
from pathlib import Path

import pytest
from _support import (
    BIG_SHARD,
    checkpoint_tensor_digests,
    child_env,
    file_digests,
    mb,
    state_digests,
    temp_bytes,
    temp_files,
)

torch = pytest.importorskip("torch")

from pretrained.errors import CheckpointError  # noqa: E402
from pretrained.models.bert import BertConfig, BertModel  # noqa: E402

pytestmark = [pytest.mark.xdist_group("reliability-big"), pytest.mark.slow]

BEFORE_COMMIT = ["before-first-shard", "between-shards", "index"]


@pytest.mark.parametrize("point", BEFORE_COMMIT)
def test_sigkill_before_commit_keeps_previous_checkpoint(point, big_checkpoint, tmp_path, spawn, observed):
    """SIGKILL a subprocess saving a new 240 MB model over the reference checkpoint at the named point; then compare
    every file under its final name with the reference and load the directory with `BertModel.from_pretrained`
    (after the `index` kill, also run the next successful save there and look at the killed save's leftovers)."""
    target = big_checkpoint.copy_to(tmp_path / "checkpoint")
    child = spawn("save", str(target), "--seed", "1", "--shard", BIG_SHARD, "--pause", point)
    assert child.wait_for_pause() == point
    staged = temp_files(target)
    assert child.kill() == -signal.SIGKILL

    assert file_digests(target) == big_checkpoint.files, "a file of the aborted save is visible under a final name"
    model = BertModel.from_pretrained(target)
    assert state_digests(model) == big_checkpoint.tensors
    leftover_bytes = temp_bytes(target)
    observed(
        f"killed at {point} with {len(staged)} staging entr{'y' if len(staged) == 1 else 'ies'} "
        f"({', '.join(n.split('-')[0] + '-…' for n in staged)}); all {len(big_checkpoint.files)} final files "
        f"byte-identical, the old {len(big_checkpoint.tensors)} tensors load identically; "
        f"{mb(leftover_bytes)} of the killed save left beside the directory, ignored by the loader"
    )
    if point != "index":
        return
    # the next successful save into the same directory: complete, and what becomes of the killed save's leftovers
    torch.manual_seed(3)
    model = BertModel(BertConfig(num_hidden_layers=5))
    model.save_pretrained(target, max_shard_size=BIG_SHARD)
    assert state_digests(BertModel.from_pretrained(target)) == state_digests(model)
    remaining = temp_files(target)
    assert not remaining, f"left over after the next save: {remaining}"
    observed(f"the next successful save loads exactly and removed the killed save's {mb(leftover_bytes)} of leftovers")


SWITCH = [("exchange", "commit", "old"), ("exchange", "cleanup", "new"), ("in place", "commit", "old"),
          ("in place", "config", "old weights, new config.json"), ("in place", "cleanup", "new")]


@pytest.mark.parametrize(("mode", "point", "expected"), SWITCH, ids=[f"{m}-{p}" for m, p, _ in SWITCH])
def test_sigkill_at_the_switch_leaves_old_or_new(mode, point, expected, big_checkpoint, tmp_path, spawn, observed):
    """Save a new model with the same shard names as the reference over it and SIGKILL the save just before it
    switches (`commit`: the lock held, every file written) or just after (`cleanup`: the replaced files not yet
    removed); in place, also between its `config.json` rename and its weights switch (`config`). The directory
    must load as exactly the old or the new checkpoint (the torn pair at `config` is the in-place commit's
    documented window), never a mix and never "no weights"."""
    target = big_checkpoint.copy_to(tmp_path / "checkpoint")
    config = {**json.loads((target / "config.json").read_text()), "hidden_dropout_prob": 0.25}
    (target / "config.json").write_text(json.dumps(config))  # so the old and new config.json differ
    old_config = file_digests(target)["config.json"]
    flags = ["--in-place"] if mode == "in place" else []
    child = spawn("save", str(target), "--seed", "1", "--shard", BIG_SHARD, "--pause", point, *flags)
    assert child.wait_for_pause() == point
    new = child.results[0]["planned"]
    child.kill()
    loaded = checkpoint_tensor_digests(target)
    old = big_checkpoint.tensors
    from_old, from_new = sum(loaded[k] == old.get(k) for k in loaded), sum(loaded[k] == new.get(k) for k in loaded)
    assert loaded == old or loaded == new, f"mixed checkpoint: {from_old} tensors from the old save, {from_new} new"
    got = "old" if loaded == old else "new"
    config_is_old = file_digests(target)["config.json"] == old_config
    assert config_is_old == (got == "old") or point == "config", "config.json and the weights are of different saves"
    if point == "config":
        assert got == "old" and not config_is_old
        got = "old weights, new config.json"
    assert got == expected
    assert state_digests(BertModel.from_pretrained(target)) == loaded
    observed(f"killed at {point} ({mode}): the directory loads as the {got} checkpoint"
             + (", complete" if point != "config" else " (the in-place commit's one-rename window, see above)"))


def test_sigkill_after_commit_before_stale_cleanup(big_checkpoint, tmp_path, spawn, observed):
    """Save the new model with smaller shards (other file names) and SIGKILL it after the switch but before the
    replaced files were removed: the new checkpoint must load exactly, and no shard of the old save is visible."""
    target = big_checkpoint.copy_to(tmp_path / "checkpoint")
    child = spawn("save", str(target), "--seed", "1", "--shard", "30MB", "--pause", "cleanup")
    assert child.wait_for_pause() == "cleanup"
    new = child.results[0]["planned"]
    child.kill()
    model = BertModel.from_pretrained(target)
    assert state_digests(model) == new
    stale = [name for name in big_checkpoint.shards if (target / name).exists()]
    assert not stale
    observed(f"the new checkpoint loads exactly; none of the old save's shards is visible (they are in the replaced "
             f"directory beside it, {mb(temp_bytes(target))}, removed by the next save)")


def test_sigkill_during_push_to_hub_local_save(local_hub, tmp_path, spawn, observed):
    """`push_to_hub` a 240 MB model from a subprocess, SIGKILL it while its temporary local save is between shards;
    the repo's main must still be the previous commit, and a retry (in-process) must succeed and load exactly."""
    from huggingface_hub import HfApi

    api = HfApi()
    repo = api.create_repo("crash-push").repo_id
    torch.manual_seed(0)
    previous = BertModel(BertConfig(num_hidden_layers=1, vocab_size=1000))
    first = previous.push_to_hub(repo)
    files_before = sorted(api.list_repo_files(repo))
    temp_root = tmp_path / "tmp"
    temp_root.mkdir()
    env = child_env(TMPDIR=str(temp_root))

    child = spawn("push", repo, "--seed", "1", "--shard", BIG_SHARD, "--pause", "between-shards", env=env)
    assert child.wait_for_pause() == "between-shards"
    child.kill()
    assert api.repo_info(repo).sha == first.oid
    assert sorted(api.list_repo_files(repo)) == files_before
    leaked = [p for p in temp_root.iterdir() if p.name.startswith(("pretrained-push-", ".tmp-"))]
    leaked_bytes = sum(f.stat().st_size for p in leaked for f in p.rglob("*") if f.is_file())

    torch.manual_seed(1)
    model = BertModel(BertConfig(num_hidden_layers=5))
    retry = model.push_to_hub(repo, max_shard_size=BIG_SHARD)
    assert api.repo_info(repo).sha == retry.oid != first.oid
    loaded = BertModel.from_pretrained(repo)
    assert state_digests(loaded) == state_digests(model)
    observed(
        f"main stayed at the previous commit {first.oid[:8]} after the kill; the retry committed {retry.oid[:8]} "
        f"and loads exactly; the killed push left {len(leaked)} temp dir(s) ({mb(leaked_bytes)}) in $TMPDIR"
    )


# ============================================================================================== disk full
def _small_model(seed: int, layers: int, hidden: int) -> BertModel:
    torch.manual_seed(seed)
    return BertModel(BertConfig(vocab_size=1000, hidden_size=hidden, num_hidden_layers=layers,
                                num_attention_heads=4, intermediate_size=4 * hidden, max_position_embeddings=64))


@contextlib.contextmanager
def _tmpfs(path: Path, size: str):
    path.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root; this run is not root")
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"this machine refuses `mount -t tmpfs` ({proc.stderr.strip() or proc.returncode})")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


@pytest.mark.parametrize("shards", ["one file", "several shards"])
def test_disk_full_on_tmpfs(shards, tmp_path, observed):
    """Save a 0.3 MB model into a 4 MB tmpfs, then save a 16 MB model over it (as one file, or in 2 MB shards so
    the disk fills mid-way): a `CheckpointError` naming the directory, the old checkpoint intact, no temp files."""
    with _tmpfs(tmp_path / "mnt", "4m") as mount:
        target = mount / "checkpoint"
        old = _small_model(0, 1, 64)
        old.save_pretrained(target)
        before = file_digests(target)
        new = _small_model(1, 2, 512)
        with pytest.raises(CheckpointError) as excinfo:
            new.save_pretrained(target, max_shard_size="2MB" if shards == "several shards" else "5GB")
        assert str(target) in str(excinfo.value)
        assert file_digests(target) == before
        assert state_digests(BertModel.from_pretrained(target)) == state_digests(old)
        leftovers = temp_files(target)
        assert not leftovers, f"the failed save left temp files: {leftovers}"
        observed(f"CheckpointError: {str(excinfo.value).replace(str(tmp_path), '<tmp>')[:200]}; old checkpoint "
                 "byte-identical and loads; no temp file left")


def test_disk_full_with_rlimit_fsize(big_checkpoint, tmp_path, spawn, observed):
    """In a subprocess with `RLIMIT_FSIZE` = 20 MB (SIGXFSZ ignored, so writes fail with EFBIG), save a 110 MB
    model over a copy of the reference checkpoint: a `CheckpointError` naming the directory, the old one intact."""
    target = big_checkpoint.copy_to(tmp_path / "checkpoint")
    limit = 20_000_000
    if resource.getrlimit(resource.RLIMIT_FSIZE)[1] not in (resource.RLIM_INFINITY,) and \
            resource.getrlimit(resource.RLIMIT_FSIZE)[1] < limit:
        pytest.skip("the hard RLIMIT_FSIZE of this machine is below the test's limit")
    child = spawn("fsize", str(target), "--limit", str(limit), "--seed", "1", "--layers", "1", "--shard", BIG_SHARD)
    rc, result, err = child.finish()
    assert rc == 0, err[-3000:]
    assert result["raised"], "the save succeeded despite the file size limit"
    assert "CheckpointError" in result["mro"], f"raised {result['type']}: {result['message']}"
    assert str(target) in result["message"]
    assert file_digests(target) == big_checkpoint.files
    assert state_digests(BertModel.from_pretrained(target)) == big_checkpoint.tensors
    leftovers = temp_files(target)
    observed(f"{result['type']}: {result['message'].replace(str(tmp_path), '<tmp>')[:200]}; old checkpoint intact; "
             f"{len(leftovers)} temp file(s) left")
    assert not leftovers, f"the failed save left temp files: {leftovers}"

