"""Helpers shared by the reliability tests (importable because conftest.py puts this folder on sys.path)."""

from __future__ import annotations

import hashlib
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
CHILD = HERE / "_child.py"

# The one large model the slow cases share: BERT-base width, 5 layers: about 240 MB of float32, 5 shards of <= 50 MB
# (the 94 MB word embedding gets a shard of its own).
BIG_LAYERS = 5
BIG_SHARD = "50MB"


def file_digests(directory: Path, *, include_hidden: bool = False) -> dict[str, str]:
    """sha256 of every regular file in `directory` (hidden files such as `.tmp-*` only with `include_hidden`)."""
    digests = {}
    for path in sorted(directory.iterdir()):
        if path.is_file() and (include_hidden or not path.name.startswith(".")):
            digests[path.name] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digests


def temp_files(directory: Path) -> list[str]:
    """What unfinished saves left: `.tmp-*` files in `directory` (in-place commits) and staging directories
    `.tmp-<pid>-<hex>-<name>` beside it (directory exchanges), the latter as `../<name>`."""
    inside = [p.name for p in directory.iterdir() if p.name.startswith(".tmp-")]
    beside = [f"../{p.name}" for p in directory.parent.iterdir()
              if p.name.startswith(".tmp-") and p.name.endswith("-" + directory.name)]
    return sorted(inside + beside)


def temp_bytes(directory: Path) -> int:
    """Bytes held by `temp_files(directory)`."""
    total = 0
    for name in temp_files(directory):
        path = directory / name
        files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
        total += sum(p.stat().st_size for p in files)
    return total


def state_digests(model: Any) -> dict[str, str]:
    """sha256 of every tensor of a torch model's state dict (dtype, shape and bytes)."""
    out = {}
    for key, tensor in model.state_dict().items():
        array = tensor.detach().cpu().contiguous().numpy()
        out[key] = hashlib.sha256(f"{array.dtype}{array.shape}".encode() + array.tobytes()).hexdigest()
    return out


def checkpoint_tensor_digests(directory: Path) -> dict[str, str]:
    """sha256 of every tensor stored in a checkpoint directory, read through the framework-free reader."""
    from pretrained.checkpoint import CheckpointReader, find_weights

    out = {}
    with CheckpointReader(find_weights(directory)) as reader:
        for key, array in reader.iter_tensors():
            out[key] = hashlib.sha256(f"{array.dtype}{array.shape}".encode() + array.tobytes()).hexdigest()
    return out


def child_env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "PRETRAINED_DISABLE_PROGRESS_BARS": "1", "TF_CPP_MIN_LOG_LEVEL": "3", **extra}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HERE), env.get("PYTHONPATH", "")]))
    return env


class Child:
    """A `_child.py` subprocess. It announces named pause points on stdout as `PAUSED <point>` and then sleeps.

    A thread reads stdout line by line into a queue (a selector on the pipe would miss lines already buffered by
    Python); stderr goes to a temporary file, so a chatty child can never block on a full pipe.
    """

    def __init__(self, *args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> None:
        self.args = [sys.executable, str(CHILD), *args]
        self._stderr = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen(
            self.args, stdout=subprocess.PIPE, stderr=self._stderr, text=True, env=env or child_env(), cwd=cwd,
            start_new_session=True,
        )
        self.results: list[Any] = []  # `RESULT` lines, in order
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            if line.startswith("RESULT "):
                self.results.append(json.loads(line[len("RESULT "):]))
            self._lines.put(line)
        self._lines.put(None)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stderr(self) -> str:
        self._stderr.seek(0)
        return self._stderr.read()

    def wait_for_pause(self, timeout: float = 300) -> str:
        """Block until the child reports `PAUSED <point>` and return the point (fail if it exits first)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                self.kill()
                message = f"child did not reach its pause point in {timeout} s:\n{self.stderr()[-3000:]}"
                raise AssertionError(message) from None
            if line is None:
                self.proc.wait(timeout=30)
                raise AssertionError(f"child exited (rc={self.proc.returncode}) before pausing:\n{self.stderr()[-3000:]}")
            if line.startswith("PAUSED "):
                return line.split(" ", 1)[1].strip()

    def kill(self) -> int:
        """SIGKILL the child's whole process group and reap it; returns its exit status (-9)."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        rc = self.proc.wait(timeout=60)
        self._reader.join(timeout=30)
        return rc

    def finish(self, timeout: float = 300) -> tuple[int, Any, str]:
        """Wait for a normal exit; returns (rc, the last `RESULT` the child printed or None, stderr)."""
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise
        self._reader.join(timeout=30)
        return self.proc.returncode, (self.results[-1] if self.results else None), self.stderr()

    def alive(self) -> bool:
        return self.proc.poll() is None

    def close(self) -> None:
        """Kill the child if it still runs, and release its stdout pipe and stderr file."""
        if self.alive():
            self.kill()
        self._reader.join(timeout=30)
        self.proc.stdout.close()
        self._stderr.close()


class BigCheckpoint:
    """The shared large checkpoint: a saved directory, its file digests and its tensor digests."""

    def __init__(self, directory: Path, files: dict[str, str], tensors: dict[str, str]) -> None:
        self.directory, self.files, self.tensors = directory, files, tensors

    def copy_to(self, target: Path) -> Path:
        target.mkdir(parents=True, exist_ok=True)
        for name in self.files:
            shutil.copyfile(self.directory / name, target / name)
        return target

    @property
    def nbytes(self) -> int:
        return sum((self.directory / name).stat().st_size for name in self.files)

    @property
    def shards(self) -> list[str]:
        return [name for name in self.files if name.endswith(".safetensors")]


def mb(nbytes: int) -> str:
    return f"{nbytes / 1e6:.0f} MB"
