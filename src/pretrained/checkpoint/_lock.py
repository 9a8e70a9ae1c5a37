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
    """Hold an advisory lock on `directory`: writers take it exclusively around their commit (the renames),
    readers take it shared while they read the index and open every shard, so a reader sees one save, whole.

    Where directories cannot be locked (Windows, a directory that cannot be opened) this does nothing.
    """
    try:
        import fcntl

        fd = os.open(directory, os.O_RDONLY)
    except (ImportError, OSError):
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


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
