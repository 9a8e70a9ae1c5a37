"""Advisory directory locks and temp-file names shared by checkpoint readers and writers (POSIX)."""

from __future__ import annotations

import contextlib
import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

_TEMP_RE = re.compile(r"^\.tmp-(?P<pid>\d+)-[0-9a-f]{8}-")


@contextlib.contextmanager
def directory_lock(directory: Path, *, shared: bool = False) -> Iterator[None]:
    """Hold an advisory lock on `directory`: writers take it exclusively around their commit, readers take it
    shared while they read the index and open every shard, so a reader sees one save, whole.

    A commit may replace the directory itself (an atomic exchange with the new one): once locked, the lock is
    checked to be on the directory now at that path, and taken again on the new one if it is not.
    Where directories cannot be locked (Windows, a directory that cannot be opened) this does nothing.
    """
    try:
        import fcntl
    except ImportError:
        yield
        return
    for _ in range(1000):
        try:
            fd = os.open(directory, os.O_RDONLY)
        except OSError:
            yield
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
            if _same_file(os.fstat(fd), directory):
                break
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)  # replaced while we waited: lock the new one
    else:  # pragma: no cover - a directory replaced 1000 times in a row
        raise TimeoutError(f"{directory}: could not lock the directory (it keeps being replaced)")
    try:
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _same_file(st: os.stat_result, path: Path) -> bool:
    try:
        now = os.stat(path)
    except OSError:
        return True  # gone: nothing newer to lock
    return (now.st_dev, now.st_ino) == (st.st_dev, st.st_ino)


def temp_name(directory: Path, final: str) -> Path:
    """A hidden sibling name for `final`, tagged with this process's pid so orphans can be recognised later."""
    return directory / f".tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}-{final}"


def remove_temp_files(directory: Path, *, only_dead: bool) -> None:
    """Delete temp files of saves that cannot finish: this process's own (`only_dead=False`, after a failure)
    or those of processes that no longer exist (`only_dead=True`, e.g. a save killed with SIGKILL)."""
    own = os.getpid()
    for path in directory.glob(".tmp-*"):
        match = _TEMP_RE.match(path.name)
        if match is None:
            continue
        pid = int(match.group("pid"))
        if (not only_dead and pid == own) or (only_dead and pid != own and not _alive(pid)):
            with contextlib.suppress(OSError):
                path.unlink()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True
