"""The commit of a save: one atomic step that replaces the old checkpoint (config.json and weights together) by
the new one, whatever the old directory held.

Two ways, chosen per save (docs/reliability.md states the guarantee of each):

- **exchange** (Linux, the default wherever it works): the new files are written into a hidden sibling directory
  `.tmp-<pid>-<hex>-<name>` next to the save directory. At the commit, under the directory's exclusive lock,
  everything else in the save directory (README, tokenizer files, other variants, code, subdirectories) is
  hard-linked into it (no data copied), then `renameat2(RENAME_EXCHANGE)` swaps the two directories in one
  system call. Before it, the path holds exactly the old directory; after it, exactly the new one. The old tree
  (now under the hidden name) is then emptied: mirrors unlinked, superseded files deleted, anything created in
  the meantime moved across.
- **in place** (other systems, or a directory that cannot be exchanged: a mount point, the current working
  directory, one owned by someone else, an unwritable parent, files that cannot be hard-linked): files are
  staged under hidden temp names in the save directory, shards get names no live file has, and the weights
  switch with one rename (the index or the single file; deleting a shadowing entry file where the format
  changes). `config.json` is renamed just before that switch.

Example:
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp(), "ckpt")
    >>> with Staging(d) as staging:
    ...     _ = staging.new_file("config.json").write_bytes(b"{}")
    ...     _ = staging.commit(Weights(files=[], index=None, variant=None))
    >>> sorted(p.name for p in d.iterdir())
    ['config.json']
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import platform
import shutil
import stat
import sys
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import CheckpointError
from ..utils import logging
from ._files import _VARIANT_RE, weight_candidates
from ._format import _SHARD_RE, CONFIG_NAME, SAFE_WEIGHTS_NAME, WEIGHTS_NAME, add_variant
from ._lock import _TEMP_RE, _alive, directory_lock, remove_temp_files, temp_name

logger = logging.get_logger(__name__)

MARKER = ".pretrained-staging"  # in a staging directory that was never exchanged
MIRROR_LIMIT = 100_000  # entries: a bigger directory is committed in place rather than mirrored
USE_EXCHANGE = True  # tests switch the exchange off to exercise the in-place commit

_crash_hook: Callable[[str], None] | None = None  # tests: called at each named point of a save


def crash_point(name: str) -> None:
    """A named moment of a save (tests pause or kill the process there): `before-first-shard`, `shard`, `index`,
    `commit` (about to switch), `config` (in place only: config.json renamed, weights not yet switched),
    `cleanup` (switched; old files not yet removed). Does nothing unless a test installed `_crash_hook`.

    >>> crash_point("commit")
    """
    if _crash_hook is not None:
        _crash_hook(name)


@dataclass
class Weights:
    """The weight files of a save as `commit` needs them: `files` = (staged path, standard final name) in shard
    order; `index` = (index file name, a function of the final shard names returning the index bytes) for a
    sharded save."""

    files: list[tuple[Path, str]]
    index: tuple[str, Callable[[list[str]], bytes]] | None
    variant: str | None


class _CannotExchange(Exception):
    """The directory cannot be replaced by an exchange; the save commits in place instead."""


# ----------------------------------------------------------------------------------------------- names
def is_checkpoint_file(name: str, variant: str | None = None, *, any_variant: bool = False) -> bool:
    """True for `config.json` and the weight files (single, shard, index; safetensors or `.bin`) of `variant`, or
    of any variant with `any_variant=True`.

    >>> is_checkpoint_file("model-00001-of-00002.safetensors"), is_checkpoint_file("model.fp16.safetensors")
    (True, False)
    >>> is_checkpoint_file("model.fp16.safetensors", any_variant=True), is_checkpoint_file("README.md")
    (True, False)
    """
    if name == CONFIG_NAME:
        return True
    if any_variant:
        return _VARIANT_RE.match(name) is not None
    stems = {add_variant(n, variant).rsplit(".", 1)[0] for n in (SAFE_WEIGHTS_NAME, WEIGHTS_NAME)}
    match = _SHARD_RE.match(name)
    return name in weight_candidates(variant) or (match is not None and match.group("stem") in stems)


def alternate_name(name: str) -> str:
    """A shard name that no live file has: a random token before the extension.

    >>> alternate_name("model-00001-of-00002.safetensors")[:21]
    'model-00001-of-00002.'
    """
    stem, ext = name.rsplit(".", 1)
    return f"{stem}.{uuid.uuid4().hex[:8]}.{ext}"


# ----------------------------------------------------------------------------------------------- staging
class Staging:
    """Where a save writes its files (`new_file`), and its atomic `commit`. A context manager: leaving it with an
    exception (or without a commit) deletes everything this save staged."""

    def __init__(self, directory: str | os.PathLike) -> None:
        self.directory = Path(directory)
        if self.directory.is_file():
            raise CheckpointError(f"{self.directory}: expected a directory to save into, found a file")
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CheckpointError(f"{self.directory}: cannot create the directory ({exc})") from exc
        self.real = Path(os.path.realpath(self.directory))
        remove_temp_files(self.real, only_dead=True)
        remove_orphans(self.real)
        self.root = self._exchange_root() if USE_EXCHANGE else None
        self._staged: dict[str, Path] = {}
        self._done = False

    @property
    def mode(self) -> str:
        return "in place" if self.root is None else "exchange"

    def new_file(self, name: str) -> Path:
        """The path to write file `name` of the new checkpoint to (it does not exist yet)."""
        path = self.root / name if self.root is not None else temp_name(self.real, name)
        self._staged[name] = path
        return path

    def __enter__(self) -> Staging:
        return self

    def __exit__(self, *exc: object) -> None:
        if not self._done:
            self.abort()

    def abort(self) -> None:
        """Delete what this save staged; the directory is left as it was."""
        self._done = True
        for path in self._staged.values():
            with contextlib.suppress(OSError):
                path.unlink()
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)

    # -- the commit
    def commit(self, weights: Weights) -> list[Path]:
        """Make everything staged the checkpoint in one atomic step; return the final paths."""
        if self.root is not None:
            try:
                return self._commit_exchange(weights)
            except _CannotExchange as exc:
                logger.debug("%s: committing in place (%s)", self.directory, exc)
                self._unstage_root()
        return self._commit_in_place(weights)

    def _commit_exchange(self, weights: Weights) -> list[Path]:
        root, real = self.root, self.real
        assert root is not None
        if weights.index is not None:
            index_name, make_index = weights.index
            _write_synced(self.new_file(index_name), make_index([name for _, name in weights.files]))
            crash_point("index")
        replaced = set(self._staged)
        superseded = lambda name: name in replaced or name == MARKER or is_checkpoint_file(name, weights.variant)  # noqa: E731
        with directory_lock(real):
            crash_point("commit")
            try:
                (real / MARKER).unlink(missing_ok=True)  # a crashed exchange's (see `remove_orphans`)
                _mirror(real, root, skip=superseded, budget=[MIRROR_LIMIT])
                os.chmod(root, stat.S_IMODE(os.stat(real).st_mode))
                _fsync_path(root)
                _exchange(root, real)
            except (_CannotExchange, OSError) as exc:
                self._remove_mirrors()
                raise _CannotExchange(str(exc)) from exc
            self._done = True
            try:  # committed: what follows only tidies up
                (real / MARKER).unlink()
                _fsync_path(real.parent)
            except OSError as exc:
                logger.warning("%s: saved, but tidying up failed: %s", self.directory, exc)
        crash_point("cleanup")
        try:
            _retire(root, real, superseded=superseded)
        except OSError as exc:
            logger.warning("%s: saved, but the replaced files in %s could not all be removed: %s", self.directory,
                           root, exc)
        return [self.directory / name for name in self._staged]

    def _remove_mirrors(self) -> None:
        assert self.root is not None
        for entry in os.scandir(self.root):
            if entry.name not in self._staged and entry.name != MARKER:
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path, ignore_errors=True)
                else:
                    os.unlink(entry.path)

    def _unstage_root(self) -> None:
        """Move the staged files from the staging directory into the save directory under temp names."""
        assert self.root is not None
        for name, path in list(self._staged.items()):
            target = temp_name(self.real, name)
            os.rename(path, target)
            self._staged[name] = target
        shutil.rmtree(self.root, ignore_errors=True)
        self.root = None

    def _commit_in_place(self, weights: Weights) -> list[Path]:
        real, staged = self.real, self._staged
        shards = [name for _, name in weights.files]
        with directory_lock(real):
            crash_point("commit")
            (real / MARKER).unlink(missing_ok=True)
            config = staged.pop(CONFIG_NAME, None)
            entry: str | None = None
            final: list[str] = []
            if weights.index is not None:
                final = _free_names(shards, real)
                for name, new in zip(shards, final):  # no live file has these names: invisible
                    os.replace(staged.pop(name), real / new)
                entry, make_index = weights.index
                with contextlib.suppress(KeyError, OSError):  # staged for an exchange that did not happen
                    staged.pop(entry).unlink()
                _write_synced(self.new_file(entry), make_index(final))
                crash_point("index")
            elif shards:
                entry = shards[0]
            entry_path = staged.pop(entry) if entry is not None else None
            extras = list(staged)
            for name in extras:  # code files: not part of the checkpoint's pair
                os.replace(staged.pop(name), real / name)
            if config is not None:
                os.replace(config, real / CONFIG_NAME)
                crash_point("config")
            if entry is not None and entry_path is not None:
                os.replace(entry_path, real / entry)
                _unshadow(real, entry, weights.variant)
            self._done = True
            crash_point("cleanup")
            written = [*([CONFIG_NAME] if config is not None else []), *extras, *final, *([entry] if entry else [])]
            remove_stale_weights(real, keep=set(written), variant=weights.variant)
            _fsync_path(real)
        return [self.directory / name for name in written]

    # -- choosing the way
    def _exchange_root(self) -> Path | None:
        """Make the hidden sibling staging directory, or return None where the directory cannot be exchanged."""
        real = self.real
        try:
            reason = _exchange_obstacle(real)
            if reason:
                logger.debug("%s: committing in place (%s)", real, reason)
                return None
            root = real.parent / f".tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}-{real.name}"
            os.mkdir(root, 0o700)
        except OSError as exc:
            logger.debug("%s: committing in place (%s)", real, exc)
            return None
        try:
            (root / MARKER).touch()
            _copy_directory_metadata(real, root, mode=False)  # the mode is given at the commit
            _probe_exchange(root)
        except (OSError, _CannotExchange) as exc:
            logger.debug("%s: committing in place (%s)", real, exc)
            shutil.rmtree(root, ignore_errors=True)
            return None
        return root


def remove_stale_weights(directory: Path, *, keep: set[str], variant: str | None) -> None:
    """Delete the weight files of an earlier save of the same `variant` (safetensors or legacy `.bin`, single or
    sharded) that the new save does not use: a directory holds one checkpoint per variant.

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> for name in ("model.safetensors", "pytorch_model.bin", "model.fp16.safetensors", "README.md"):
    ...     _ = (d / name).write_bytes(b"")
    >>> remove_stale_weights(d, keep={"model.safetensors"}, variant=None); sorted(p.name for p in d.iterdir())
    ['README.md', 'model.fp16.safetensors', 'model.safetensors']
    """
    for path in directory.iterdir():
        if path.name not in keep and path.name != CONFIG_NAME and is_checkpoint_file(path.name, variant):
            path.unlink(missing_ok=True)


def _free_names(names: Sequence[str], directory: Path) -> list[str]:
    """`names`, or alternates for all of them if any is taken by a live file (which the old index may name)."""
    if not any((directory / name).exists() for name in names) or len(names) <= 1:
        return list(names)
    return [alternate_name(name) for name in names]


def _unshadow(directory: Path, entry: str, variant: str | None) -> None:
    """Loaders take the first weights entry that exists (`model.safetensors`, its index, `pytorch_model.bin`, its
    index): delete the old entries before `entry`, the highest-priority one last (that deletion is the switch)."""
    candidates = weight_candidates(variant)
    if entry not in candidates:
        return
    for name in reversed(candidates[: candidates.index(entry)]):
        with contextlib.suppress(FileNotFoundError):
            (directory / name).unlink()


# ----------------------------------------------------------------------------------------------- exchange
_AT_FDCWD = -100
_RENAME_EXCHANGE = 2
_SYSCALLS = {"x86_64": 316, "aarch64": 276}
_probed: dict[int, bool] = {}


def _renameat2() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(None, use_errno=True)
    function = getattr(libc, "renameat2", None)
    if function is not None:
        return function
    number = _SYSCALLS.get(platform.machine())
    if number is None:
        return None
    return lambda *args: libc.syscall(number, *args)


def _exchange(a: Path, b: Path) -> None:
    """Swap the directories `a` and `b` atomically (`renameat2(RENAME_EXCHANGE)`)."""
    function = _renameat2()
    if function is None:
        raise _CannotExchange("renameat2 is not available")
    if function(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code), str(a), None, str(b))


def _probe_exchange(root: Path) -> None:
    """Check once per file system that it supports the exchange (NFS, FUSE and some others refuse it)."""
    device = os.stat(root).st_dev
    if device not in _probed:
        a, b = root / ".probe-a", root / ".probe-b"
        a.mkdir()
        b.mkdir()
        try:
            _exchange(a, b)
            _probed[device] = True
        except OSError:
            _probed[device] = False
        finally:
            a.rmdir()
            b.rmdir()
    if not _probed[device]:
        raise _CannotExchange("the file system does not support RENAME_EXCHANGE")


def _exchange_obstacle(real: Path) -> str | None:
    """Why `real` cannot be replaced by an exchange (None if it can)."""
    if _renameat2() is None:
        return "no renameat2 on this system"
    cwd = Path(os.path.realpath(os.getcwd()))
    if cwd == real or real in cwd.parents:
        return "it is (or holds) the current working directory"
    st, parent = os.stat(real), os.stat(real.parent)
    if st.st_dev != parent.st_dev or real == real.parent:
        return "it is a mount point"
    if st.st_uid != os.geteuid() and os.geteuid() != 0:
        return "it belongs to another user"
    if not os.access(real, os.W_OK | os.X_OK):
        return "it is not writable"
    if len(real.name) > 200:
        return "its name is too long for a sibling staging directory"
    return None


def _copy_directory_metadata(source: Path, target: Path, *, mode: bool = True) -> None:
    """Give `target` the owner, extended attributes (ACLs) and (with `mode`) permission bits of `source`, or raise
    `_CannotExchange`."""
    st = os.stat(source, follow_symlinks=False)
    if os.geteuid() == 0:
        os.chown(target, st.st_uid, st.st_gid, follow_symlinks=False)
    elif st.st_uid != os.geteuid():
        raise _CannotExchange(f"{source} belongs to another user")
    elif st.st_gid != os.stat(target).st_gid:
        try:
            os.chown(target, -1, st.st_gid)
        except OSError as exc:
            raise _CannotExchange(f"{source}: cannot give its group to a new directory ({exc})") from exc
    if mode:
        os.chmod(target, stat.S_IMODE(st.st_mode))
    if hasattr(os, "listxattr"):
        try:
            for name in os.listxattr(source, follow_symlinks=False):
                value = os.getxattr(source, name, follow_symlinks=False)
                with contextlib.suppress(OSError):
                    if os.getxattr(target, name, follow_symlinks=False) == value:
                        continue
                os.setxattr(target, name, value, follow_symlinks=False)
        except OSError as exc:
            if exc.errno not in (errno.ENOTSUP, errno.EOPNOTSUPP):
                raise _CannotExchange(f"{source}: cannot copy its extended attributes ({exc})") from exc


def _mirror(source: Path, target: Path, *, skip: Callable[[str], bool], budget: list[int]) -> None:
    """Hard-link every file of `source` into `target` (symlinks re-created, directories mirrored recursively),
    except the names `skip` accepts; raise `_CannotExchange` for anything that cannot be mirrored."""
    for entry in os.scandir(source):
        if skip(entry.name):
            continue
        budget[0] -= 1
        if budget[0] < 0:
            raise _CannotExchange(f"more than {MIRROR_LIMIT} entries to carry over")
        st = entry.stat(follow_symlinks=False)
        destination = target / entry.name
        try:
            if stat.S_ISLNK(st.st_mode):
                os.symlink(os.readlink(entry.path), destination)
            elif stat.S_ISREG(st.st_mode):
                os.link(entry.path, destination, follow_symlinks=False)
            elif stat.S_ISDIR(st.st_mode):
                os.mkdir(destination, 0o700)
                _copy_directory_metadata(Path(entry.path), destination, mode=False)
                _mirror(Path(entry.path), destination, skip=lambda name: False, budget=budget)
                os.chmod(destination, stat.S_IMODE(st.st_mode))  # last: it may forbid writing
            else:
                raise _CannotExchange(f"{entry.path} is not a file, directory or symlink")
        except OSError as exc:
            raise _CannotExchange(f"cannot carry {entry.path} over ({exc})") from exc


def _retire(old: Path, live: Path, *, superseded: Callable[[str], bool]) -> bool:
    """Empty and remove `old`, the directory an exchange replaced: entries mirrored into `live` (same file) are
    unlinked, `superseded` checkpoint files deleted, entries that appeared after the mirror moved into `live`;
    anything else (changed during the save) is left and reported. Returns True when `old` is gone."""
    kept = []
    for entry in os.scandir(old):
        target = live / entry.name
        st = entry.stat(follow_symlinks=False)
        try:
            now = os.lstat(target)
        except FileNotFoundError:
            now = None
        is_dir = stat.S_ISDIR(st.st_mode)
        if now is not None and _same_entry(entry.path, st, target, now):
            os.unlink(entry.path)
        elif not is_dir and superseded(entry.name):
            os.unlink(entry.path)
        elif is_dir and now is not None and stat.S_ISDIR(now.st_mode):
            if not _retire(Path(entry.path), target, superseded=lambda name: False):
                kept.append(entry.name)
        elif now is None:
            os.rename(entry.path, target)
        else:
            kept.append(entry.name)
    if kept:
        logger.warning("%s: %s changed while a save replaced %s; the earlier version is kept here", old,
                       ", ".join(sorted(kept)[:5]), live)
        return False
    os.rmdir(old)
    return True


def _same_entry(path: str, st: os.stat_result, target: Path, now: os.stat_result) -> bool:
    if stat.S_ISLNK(st.st_mode) and stat.S_ISLNK(now.st_mode):
        return os.readlink(path) == os.readlink(target)
    return not stat.S_ISDIR(st.st_mode) and (st.st_dev, st.st_ino) == (now.st_dev, now.st_ino)


def remove_orphans(real: Path) -> None:
    """Clean up after saves into `real` that were killed: a staging directory never exchanged is deleted; one
    holding the replaced directory (killed after the exchange) is retired as the save would have.

    >>> import tempfile, pathlib
    >>> parent = pathlib.Path(tempfile.mkdtemp()); (parent / "ckpt").mkdir()
    >>> orphan = parent / ".tmp-99999999-0123abcd-ckpt"; orphan.mkdir(); (orphan / MARKER).touch()
    >>> remove_orphans(parent / "ckpt"); orphan.exists()
    False
    """
    try:
        entries = list(os.scandir(real.parent))
    except OSError:
        return
    for entry in entries:
        match = _TEMP_RE.match(entry.name)
        if match is None or entry.name[match.end():] != real.name:
            continue
        if _alive(int(match.group("pid"))) or not entry.is_dir(follow_symlinks=False):
            continue
        orphan = Path(entry.path)
        if (orphan / MARKER).exists():
            shutil.rmtree(orphan, ignore_errors=True)
            continue
        with directory_lock(real), contextlib.suppress(OSError):
            _retire(orphan, real, superseded=lambda name: is_checkpoint_file(name, any_variant=True))


# ----------------------------------------------------------------------------------------------- helpers
def _fsync_path(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.EBADF):  # directories cannot be fsynced everywhere
            raise
    finally:
        os.close(fd)


def _write_synced(path: Path, payload: bytes) -> None:
    with open(path, "xb") as handle:
        handle.write(payload)
        handle.flush()
        os.fsync(handle.fileno())
