"""Kills at random moments: whatever instant a save is killed, the directory loads as exactly the old or exactly the
new checkpoint, `config.json` and weights together.

A child process (`_child.py loop`, see `_loop.py`) saves two small models with different weights and shapes into
one directory, alternately and without pause, cycling through one file / 3 shards / 3 shards again (same names) /
4 shards / `.bin` or 2 shards, and logs `BEGIN k` / `DONE k` around save k (whose `config.json` records k). The
check after a kill: `config.json` names a save k that was the last completed one or the one in progress, the
weights (read through the framework-free reader) are exactly the weights of k's model, and (exchange) no file
of another save is visible. Real SIGKILLs use a child that saves through `write_checkpoint` (NumPy only: it
starts in a fraction of a second); for torch / TF / Flax, whose imports take seconds, each child is frozen with
SIGSTOP at random instants (the directory is then exactly what a SIGKILL at that instant leaves: no signal
interrupts a file system call half-way, and a frozen process writes nothing) and the directory copied and
checked, then thawed; it is finally SIGKILLed for real.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import time
from pathlib import Path

import numpy as np
import pytest
from _support import checkpoint_tensor_digests

from pretrained.checkpoint import HostTensor, find_weights, load_index, write_checkpoint

pytestmark = [pytest.mark.xdist_group("reliability-kills")]

CORE_KILLS = {"exchange": 40, "in place": 20}
FREEZES = 60  # per backend


def _log_state(log: Path) -> tuple[int | None, int | None]:
    """(last save begun, last save done) from a child's log."""
    begun = done = None
    for line in log.read_text().split("\n"):
        word, _, number = line.partition(" ")
        if word == "BEGIN":
            begun = int(number)
        elif word == "DONE":
            done = int(number)
    return begun, done


def _acceptable(log: Path, previous: int | None) -> set[int]:
    begun, done = _log_state(log)
    if begun is not None and begun == done:
        return {done}
    return {n for n in (begun, done if done is not None else previous) if n is not None}


def _check(directory: Path, models: list[dict[str, str]], acceptable: set[int], *, exact_files: bool) -> tuple[int, bool]:
    """Assert the directory holds one whole checkpoint of a save in `acceptable`; return (its number, torn) where
    torn means config.json of save k beside the weights of save k - 1 (the in-place commit's documented window)."""
    config = json.loads((directory / "config.json").read_text())
    number = config["save_index"]
    weights = checkpoint_tensor_digests(directory)
    owner = [i for i, model in enumerate(models) if model == weights]
    assert owner, f"the weights are a mix: {sorted(weights)[:3]}... match neither model (config says save {number})"
    assert number in acceptable, f"config.json is from save {number}, expected one of {sorted(acceptable)}"
    torn = owner[0] != number % 2
    if exact_files:
        visible = {p.name for p in directory.iterdir() if not p.name.startswith(".")}
        checkpoint = find_weights(directory)
        used = {p.name for p in checkpoint.files} | ({checkpoint.index_path.name} if checkpoint.index_path else set())
        assert visible == used | {"config.json"}, f"files of another save are visible: {sorted(visible - used)}"
    return number, torn


def _stopped(pid: int) -> bool:
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            state = Path(f"/proc/{pid}/task/{task}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if state not in ("T", "t", "Z", "X"):
            return False
    return True


def _freeze(pid: int) -> None:
    os.kill(pid, signal.SIGSTOP)
    deadline = time.monotonic() + 10
    while not _stopped(pid):
        assert time.monotonic() < deadline, "the child did not stop"
        time.sleep(0.0005)


def _no_leftovers(directory: Path) -> None:
    """A save by this process into the directory of killed saves: it must clean every leftover up."""
    write_checkpoint(directory, {"w": HostTensor.from_numpy(np.ones(3, np.float32))},
                     extra_files={"config.json": b"{}"})
    assert not [p.name for p in directory.iterdir() if p.name.startswith(".")]
    assert not [p.name for p in directory.parent.iterdir() if p.name.startswith(".tmp-")]


@pytest.mark.parametrize("mode", ["exchange", "in place"])
def test_sigkill_at_random_moments(mode, tmp_path, spawn, observed):
    """Start a child that saves two NumPy 'models' (through `write_checkpoint`, kernels transposed on the way)
    alternately into one directory in every layout, SIGKILL it after a random 0-400 ms, check the directory,
    start the next child on it; 40 kills with the directory exchange, 20 committing in place."""
    rng = random.Random(20)
    directory, log = tmp_path / "ckpt", tmp_path / "log"
    flags = ["--in-place"] if mode == "in place" else []
    previous, phases, torn, models = None, {"old": 0, "new": 0}, 0, None
    start = time.monotonic()
    for kill in range(CORE_KILLS[mode]):
        log.write_text("")
        child = spawn("loop", str(directory), "--backend", "core", "--seed", str(kill * 1000), "--log", str(log),
                      *flags)
        assert child.wait_for_pause() == "ready"
        models = models or child.results[0]["models"]
        time.sleep(rng.uniform(0.0, 0.4))
        child.kill()
        if _log_state(log) == (None, None) and previous is None:
            continue  # killed before its first save began: nothing to check yet
        acceptable = _acceptable(log, previous)
        previous, was_torn = _check(directory, models, acceptable, exact_files=mode == "exchange")
        assert not (was_torn and mode == "exchange"), f"save {previous}: config and weights of different saves"
        torn += was_torn
        phases["new" if previous == max(acceptable) else "old"] += 1
    _no_leftovers(directory)
    observed(f"{CORE_KILLS[mode]} SIGKILLs in {time.monotonic() - start:.0f} s: every time exactly one whole checkpoint "
             f"(the one being replaced {phases['old']} times, the one just saved {phases['new']} times)"
             + (f"; {torn} time(s) the in-place commit's documented torn pair (new config.json, old weights)"
                if torn else "") + "; the next save removed every leftover")
    assert mode == "in place" or torn == 0


@pytest.mark.parametrize("backend", ["torch", "tf", "flax"])
def test_freeze_and_kill_save_pretrained_at_random_moments(backend, tmp_path, spawn, observed):
    """In one child, `save_pretrained` two small BERTs (different shapes) alternately into one directory in every
    layout (torch: also `.bin`); freeze it with SIGSTOP 60 times at random instants, copy the directory and check
    the copy (exactly the old or the new checkpoint, nothing else visible), thaw it; finally SIGKILL it at a
    random instant and check the directory itself, then save once more and check nothing is left over."""
    pytest.importorskip({"torch": "torch", "tf": "tensorflow", "flax": "flax"}[backend])
    rng = random.Random(hash(backend) % 1000)
    directory, log, copy = tmp_path / "ckpt", tmp_path / "log", tmp_path / "copy"
    child = spawn("loop", str(directory), "--backend", backend, "--seed", "0", "--log", str(log))
    assert child.wait_for_pause(timeout=600) == "ready"
    models = child.results[0]["models"]
    deadline = time.monotonic() + 120
    while _log_state(log)[1] is None:  # the first save done: from now on there is an old checkpoint
        assert time.monotonic() < deadline and child.alive(), child.stderr()[-3000:]
        time.sleep(0.01)
    start, phases = time.monotonic(), {"old": 0, "new": 0}
    for _ in range(FREEZES):
        time.sleep(rng.uniform(0.0, 0.08))
        _freeze(child.pid)
        try:
            acceptable = _acceptable(log, None)
            shutil.copytree(directory, copy, symlinks=True)
        finally:
            os.kill(child.pid, signal.SIGCONT)
        number, torn = _check(copy, models, acceptable, exact_files=True)
        assert not torn, f"save {number}: config and weights of different saves"
        phases["new" if number == max(acceptable) else "old"] += 1
        shutil.rmtree(copy)
    saves = _log_state(log)[1]
    time.sleep(rng.uniform(0.0, 0.08))
    child.kill()
    number, torn = _check(directory, models, _acceptable(log, None), exact_files=True)
    assert not torn
    _no_leftovers(directory)
    observed(f"{FREEZES} freezes in {time.monotonic() - start:.0f} s over {saves} saves: every time exactly one whole "
             f"checkpoint (the one being replaced {phases['old']} times, the one just saved {phases['new']} times), "
             f"then a SIGKILL (left save {number}, whole); the next save removed every leftover")


def test_index_names_only_live_shards(tmp_path):
    """Control for `_check`: an index naming a shard of another save is caught."""
    write_checkpoint(tmp_path, {f"l.{i}.weight": HostTensor.from_numpy(np.ones(64, np.float32)) for i in range(4)},
                     max_shard_size=300, extra_files={"config.json": b'{"save_index": 0}'})
    (tmp_path / "model-00009-of-00009.safetensors").write_bytes(b"stray")
    index = load_index(tmp_path / "model.safetensors.index.json")
    models = [{k: v for k, v in checkpoint_tensor_digests(tmp_path).items()}, {}]
    assert len(index.files) == 4
    with pytest.raises(AssertionError, match="another save"):
        _check(tmp_path, models, {0}, exact_files=True)
