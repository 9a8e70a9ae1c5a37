"""On-disk repository/commit store behind the local Hub server (no HTTP here).

Layout under ``root``::

    blobs/<sha256>                                  every file content ever committed or LFS-uploaded
    repos/<type>s/<namespace>/<name>/repo.json      refs (branches, tags, PRs) and repo metadata
    repos/<type>s/<namespace>/<name>/commits/<sha>.json
                                                    one immutable commit: parents, message and the FULL file tree
                                                    (path -> sha256, size, lfs, git oid), so every past commit stays
                                                    readable without replaying history.

All mutations go through one lock, so the store is safe to use from the threads of a threading HTTP server.

Example:
    >>> import tempfile
    >>> store = HubStore(tempfile.mkdtemp())
    >>> repo = store.create_repo("model", "local-user/tiny")
    >>> sha = store.commit("model", "local-user/tiny", "main", {"summary": "add"},
    ...                    [{"key": "file", "value": {"path": "a.txt", "content": "aGk=", "encoding": "base64"}}]).oid
    >>> store.read_file("model", "local-user/tiny", sha, "a.txt")
    b'hi'
"""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import json
import os
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

__all__ = [
    "DEFAULT_GITATTRIBUTES",
    "DEFAULT_USER",
    "CommitRecord",
    "CommitResult",
    "FileEntry",
    "HubStore",
    "HubStoreError",
    "git_blob_oid",
    "lfs_pointer",
]

DEFAULT_USER = "local-user"
REPO_TYPES = ("model", "dataset", "space")
LFS_SIZE_THRESHOLD = 10 * 1000 * 1000  # the Hub refuses non-LFS files over 10 MB
BINARY_SUFFIXES = (".safetensors", ".bin", ".msgpack", ".h5", ".pt", ".pth", ".ckpt", ".onnx", ".npy", ".npz", ".pkl")
_LFS_PATTERNS = (
    "*.7z *.arrow *.bin *.bz2 *.ckpt *.ftz *.gz *.h5 *.joblib *.lfs.* *.mlmodel *.model *.msgpack *.npy *.npz *.onnx "
    "*.ot *.parquet *.pb *.pickle *.pkl *.pt *.pth *.rar *.safetensors saved_model/**/* *.tar.* *.tar *.tflite *.tgz "
    "*.wasm *.xz *.zip *.zst *tfevents*"
).split()
DEFAULT_GITATTRIBUTES = "".join(f"{p} filter=lfs diff=lfs merge=lfs -text\n" for p in _LFS_PATTERNS)
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")
_HEX_RE = re.compile(r"^[0-9a-f]{5,40}$")


class HubStoreError(Exception):
    """An error with the HTTP status and ``X-Error-Code`` the Hub would answer with.

    Example:
        >>> HubStoreError(404, "nope", "EntryNotFound").status
        404
    """

    def __init__(self, status: int, message: str, error_code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.error_code = error_code


def _repo_not_found(repo_type: str, repo_id: str) -> HubStoreError:
    return HubStoreError(404, f"Repository not found: {repo_type} {repo_id}", "RepoNotFound")


def _now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def git_blob_oid(data: bytes) -> str:
    """The git blob sha1 of ``data`` (what the Hub uses as ETag of a regular file).

    Example:
        >>> git_blob_oid(b"")
        'e69de29bb2d1d6434b8b29ae775ad8c2e48c5391'
    """
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def lfs_pointer(sha256: str, size: int) -> bytes:
    """The git-lfs pointer file committed in git in place of an LFS file.

    Example:
        >>> lfs_pointer("ab" * 32, 3).splitlines()[2]
        b'size 3'
    """
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {size}\n".encode()


@dataclass(frozen=True)
class FileEntry:
    """One file of a commit tree. ``oid`` is the git blob id (of the pointer file for LFS files)."""

    sha256: str
    size: int
    lfs: bool
    oid: str

    @property
    def etag(self) -> str:
        """sha256 for LFS files, git blob sha1 otherwise (as the Hub's ``ETag`` / ``X-Linked-Etag``)."""
        return self.sha256 if self.lfs else self.oid

    @property
    def pointer_size(self) -> int:
        """Size in bytes of the git-lfs pointer file."""
        return len(lfs_pointer(self.sha256, self.size))


@dataclass
class CommitRecord:
    """An immutable commit with the full file tree at that commit."""

    id: str
    parents: list[str]
    title: str
    message: str
    date: str
    authors: list[str]
    files: dict[str, FileEntry] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["files"] = {path: asdict(entry) for path, entry in sorted(self.files.items())}
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CommitRecord:
        files = {path: FileEntry(**entry) for path, entry in data.pop("files").items()}
        return cls(**data, files=files)

    def directories(self) -> set[str]:
        """All directory paths implied by the file paths (without the root)."""
        dirs: set[str] = set()
        for path in self.files:
            parts = path.split("/")[:-1]
            dirs.update("/".join(parts[: i + 1]) for i in range(len(parts)))
        return dirs

    def tree_oid(self, directory: str) -> str:
        """A stable fake git tree id for ``directory`` (sha1 over its content)."""
        prefix = f"{directory}/" if directory else ""
        content = "".join(f"{p}\0{e.oid}\n" for p, e in sorted(self.files.items()) if p.startswith(prefix))
        return hashlib.sha1(f"tree {directory}\n{content}".encode()).hexdigest()


@dataclass(frozen=True)
class CommitResult:
    """What :meth:`HubStore.commit` created: the commit id and the PR number if one was opened."""

    oid: str
    pr_num: int | None = None


class HubStore:
    """A content-addressed, file-backed store of Hub repositories, refs and commits.

    Example:
        >>> import tempfile
        >>> store = HubStore(tempfile.mkdtemp())
        >>> store.create_repo("dataset", "local-user/data")["type"]
        'dataset'
        >>> list(store.refs("dataset", "local-user/data")["branches"])
        ['main']
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        (self.root / "blobs").mkdir(parents=True, exist_ok=True)
        (self.root / "repos").mkdir(parents=True, exist_ok=True)
        self.lock = threading.RLock()
        self._commit_cache: dict[tuple[str, str, str], CommitRecord] = {}

    # ------------------------------------------------------------------ blobs
    def blob_path(self, sha256: str) -> Path:
        """Path of the blob with this sha256 (may not exist)."""
        if not re.fullmatch(r"[0-9a-f]{64}", sha256):
            raise HubStoreError(400, f"Invalid sha256 oid: {sha256!r}")
        return self.root / "blobs" / sha256

    def has_blob(self, sha256: str, size: int | None = None) -> bool:
        """Whether the blob exists (and has ``size`` bytes, if given)."""
        path = self.blob_path(sha256)
        return path.is_file() and (size is None or path.stat().st_size == size)

    def put_blob(self, chunks: Iterable[bytes], sha256: str | None = None, size: int | None = None) -> tuple[str, int]:
        """Store streamed content; check it against ``sha256``/``size`` if given. Returns (sha256, size).

        Example:
            >>> import tempfile
            >>> HubStore(tempfile.mkdtemp()).put_blob([b"a", b"b"])[1]
            2
        """
        digest, total = hashlib.sha256(), 0
        fd, tmp = tempfile.mkstemp(dir=self.root / "blobs", prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as f:
                for chunk in chunks:
                    digest.update(chunk)
                    total += len(chunk)
                    f.write(chunk)
            actual = digest.hexdigest()
            if sha256 is not None and actual != sha256:
                raise HubStoreError(400, f"Uploaded content sha256 {actual} does not match oid {sha256}")
            if size is not None and total != size:
                raise HubStoreError(400, f"Uploaded content has {total} bytes, expected {size}")
            os.replace(tmp, self.blob_path(actual))
            return actual, total
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    def iter_blob(self, sha256: str, start: int = 0, end: int | None = None, chunk: int = 1 << 20) -> Iterator[bytes]:
        """Yield bytes ``[start, end)`` of a blob in chunks."""
        with open(self.blob_path(sha256), "rb") as f:
            f.seek(start)
            remaining = (end if end is not None else os.fstat(f.fileno()).st_size) - start
            while remaining > 0:
                data = f.read(min(chunk, remaining))
                if not data:
                    break
                remaining -= len(data)
                yield data

    # ------------------------------------------------------------------ repos
    def _repo_dir(self, repo_type: str, repo_id: str) -> Path:
        if repo_type not in REPO_TYPES:
            raise HubStoreError(400, f"Invalid repo type: {repo_type!r}")
        parts = repo_id.split("/")
        if not 1 <= len(parts) <= 2 or not all(_NAME_RE.match(p) and ".." not in p for p in parts):
            raise _repo_not_found(repo_type, repo_id)
        return self.root / "repos" / f"{repo_type}s" / Path(*parts)

    def repo_exists(self, repo_type: str, repo_id: str) -> bool:
        """Whether the repo exists."""
        try:
            return (self._repo_dir(repo_type, repo_id) / "repo.json").is_file()
        except HubStoreError:
            return False

    def get_repo(self, repo_type: str, repo_id: str) -> dict[str, Any]:
        """The repo metadata (``id``, ``type``, ``private``, ``branches``, ``tags``, ``prs``...)."""
        path = self._repo_dir(repo_type, repo_id) / "repo.json"
        with self.lock:
            if not path.is_file():
                raise _repo_not_found(repo_type, repo_id)
            return json.loads(path.read_text())

    def _save_repo(self, meta: dict[str, Any]) -> None:
        path = self._repo_dir(meta["type"], meta["id"]) / "repo.json"
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(meta, indent=1, sort_keys=True))
        os.replace(tmp, path)

    def list_repos(self, repo_type: str) -> list[dict[str, Any]]:
        """Metadata of every repo of this type, sorted by id."""
        base = self.root / "repos" / f"{repo_type}s"
        with self.lock:
            return [json.loads(p.read_text()) for p in sorted(base.glob("**/repo.json"))]

    def create_repo(
        self, repo_type: str, repo_id: str, private: bool = False, extra: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Create a repo with the Hub's initial commit (a default ``.gitattributes``); 409 if it exists."""
        repo_dir = self._repo_dir(repo_type, repo_id)
        with self.lock:
            if (repo_dir / "repo.json").is_file():
                raise HubStoreError(409, f"You already created this {repo_type} repo: {repo_id}")
            (repo_dir / "commits").mkdir(parents=True, exist_ok=True)
            now = _now_iso()
            meta = {"id": repo_id, "type": repo_type, "private": bool(private), "createdAt": now, "lastModified": now,
                    "branches": {}, "tags": {}, "prs": {}, "extra": extra or {}}
            content = DEFAULT_GITATTRIBUTES.encode()
            sha, size = self.put_blob([content])
            files = {".gitattributes": FileEntry(sha256=sha, size=size, lfs=False, oid=git_blob_oid(content))}
            commit = self._new_commit(meta, None, "initial commit", "", files)
            meta["branches"]["main"] = commit.id
            self._save_repo(meta)
            return meta

    def delete_repo(self, repo_type: str, repo_id: str) -> None:
        """Delete a repo and its history (blobs are kept: they are shared and content-addressed)."""
        with self.lock:
            self.get_repo(repo_type, repo_id)
            shutil.rmtree(self._repo_dir(repo_type, repo_id))
            self._commit_cache = {k: v for k, v in self._commit_cache.items() if k[:2] != (repo_type, repo_id)}

    # ------------------------------------------------------------------ commits and refs
    def get_commit(self, repo_type: str, repo_id: str, sha: str) -> CommitRecord:
        """Load one commit (cached in memory: commits are immutable)."""
        key = (repo_type, repo_id, sha)
        if key not in self._commit_cache:
            path = self._repo_dir(repo_type, repo_id) / "commits" / f"{sha}.json"
            if not _HEX_RE.match(sha) or not path.is_file():
                raise HubStoreError(404, f"Invalid rev id: {sha}", "RevisionNotFound")
            self._commit_cache[key] = CommitRecord.from_json(json.loads(path.read_text()))
        return self._commit_cache[key]

    def _new_commit(
        self, meta: dict[str, Any], parent: str | None, title: str, message: str, files: dict[str, FileEntry]
    ) -> CommitRecord:
        date = _now_iso()
        tree = json.dumps({p: e.oid for p, e in sorted(files.items())})
        seed = f"{parent}\n{title}\n{message}\n{date}\n{time.time_ns()}\n{tree}"
        sha = hashlib.sha1(seed.encode()).hexdigest()
        record = CommitRecord(sha, [parent] if parent else [], title, message, date, [DEFAULT_USER], dict(files))
        path = self._repo_dir(meta["type"], meta["id"]) / "commits" / f"{sha}.json"
        path.write_text(json.dumps(record.to_json()))
        self._commit_cache[(meta["type"], meta["id"], sha)] = record
        meta["lastModified"] = date
        return record

    def resolve(self, repo_type: str, repo_id: str, revision: str) -> str:
        """Resolve a branch, tag, ``refs/heads|tags/...``, ``refs/pr/N`` or (short) commit sha to a commit sha.

        Example:
            >>> import tempfile
            >>> store = HubStore(tempfile.mkdtemp())
            >>> _ = store.create_repo("model", "u/m")
            >>> len(store.resolve("model", "u/m", "main"))
            40
        """
        meta = self.get_repo(repo_type, repo_id)
        name = revision
        for prefix, table in (("refs/heads/", "branches"), ("refs/tags/", "tags")):
            if name.startswith(prefix) and name[len(prefix) :] in meta[table]:
                name = name[len(prefix) :]
        if name in meta["branches"]:
            return meta["branches"][name]
        if name in meta["tags"]:
            return meta["tags"][name]["commit"]
        match = re.fullmatch(r"refs/pr/(\d+)", name)
        if match and match[1] in meta["prs"]:
            return meta["prs"][match[1]]["commit"]
        if _HEX_RE.match(name):
            commits_dir = self._repo_dir(repo_type, repo_id) / "commits"
            if len(name) == 40 and (commits_dir / f"{name}.json").is_file():
                return name
            candidates = [p.stem for p in commits_dir.glob(f"{name}*.json")] if len(name) >= 7 else []
            if len(candidates) == 1:
                return candidates[0]
        raise HubStoreError(404, f"Invalid rev id: {revision}", "RevisionNotFound")

    def read_file(self, repo_type: str, repo_id: str, revision: str, path: str) -> bytes:
        """Full content of ``path`` at ``revision`` (for small files and tests)."""
        entry = self.file_entry(repo_type, repo_id, revision, path)
        return self.blob_path(entry.sha256).read_bytes()

    def file_entry(self, repo_type: str, repo_id: str, revision: str, path: str) -> FileEntry:
        """The tree entry of ``path`` at ``revision``; 404 ``EntryNotFound`` if absent."""
        commit = self.get_commit(repo_type, repo_id, self.resolve(repo_type, repo_id, revision))
        if path not in commit.files:
            raise HubStoreError(404, f"Entry not found: {path}", "EntryNotFound")
        return commit.files[path]

    def history(self, repo_type: str, repo_id: str, revision: str) -> list[CommitRecord]:
        """Commits reachable from ``revision`` following first parents, newest first."""
        sha: str | None = self.resolve(repo_type, repo_id, revision)
        out: list[CommitRecord] = []
        while sha:
            commit = self.get_commit(repo_type, repo_id, sha)
            out.append(commit)
            sha = commit.parents[0] if commit.parents else None
        return out

    def last_commit_for(self, repo_type: str, repo_id: str, sha: str, path: str) -> CommitRecord:
        """The most recent commit (from ``sha`` backwards) that changed ``path`` (a file or a folder)."""
        history = self.history(repo_type, repo_id, sha)

        def _state(commit: CommitRecord) -> Any:
            if path in commit.files:
                return commit.files[path].oid
            return commit.tree_oid(path)

        for newer, older in zip(history, history[1:]):
            if _state(newer) != _state(older):
                return newer
        return history[-1]

    def refs(self, repo_type: str, repo_id: str) -> dict[str, dict[str, str]]:
        """``{"branches": {name: sha}, "tags": {name: sha}, "prs": {num: sha}}``."""
        meta = self.get_repo(repo_type, repo_id)
        return {
            "branches": dict(meta["branches"]),
            "tags": {name: tag["commit"] for name, tag in meta["tags"].items()},
            "prs": {num: pr["commit"] for num, pr in meta["prs"].items()},
        }

    def create_branch(self, repo_type: str, repo_id: str, branch: str, starting_point: str | None = None) -> str:
        """Create ``branch`` at ``starting_point`` (default: head of main). 409 if it exists."""
        with self.lock:
            meta = self.get_repo(repo_type, repo_id)
            if branch.startswith("refs/") or not branch or branch in meta["branches"]:
                if branch in meta["branches"]:
                    raise HubStoreError(409, f"Reference already exists: refs/heads/{branch}")
                raise HubStoreError(400, f"Invalid branch name: {branch!r}")
            sha = self.resolve(repo_type, repo_id, starting_point or "main")
            meta["branches"][branch] = sha
            self._save_repo(meta)
            return sha

    def delete_branch(self, repo_type: str, repo_id: str, branch: str) -> None:
        """Delete a branch (not ``main``)."""
        with self.lock:
            meta = self.get_repo(repo_type, repo_id)
            if branch not in meta["branches"]:
                raise HubStoreError(404, f"Invalid rev id: {branch}", "RevisionNotFound")
            if branch == "main":
                raise HubStoreError(403, "You cannot delete the default branch")
            del meta["branches"][branch]
            self._save_repo(meta)

    def create_tag(self, repo_type: str, repo_id: str, tag: str, revision: str, message: str | None = None) -> str:
        """Tag ``revision``; 409 if the tag exists."""
        with self.lock:
            meta = self.get_repo(repo_type, repo_id)
            if tag in meta["tags"]:
                raise HubStoreError(409, f"Tag already exists: {tag}")
            sha = self.resolve(repo_type, repo_id, revision)
            meta["tags"][tag] = {"commit": sha, "message": message or ""}
            self._save_repo(meta)
            return sha

    def delete_tag(self, repo_type: str, repo_id: str, tag: str) -> None:
        """Delete a tag."""
        with self.lock:
            meta = self.get_repo(repo_type, repo_id)
            if tag not in meta["tags"]:
                raise HubStoreError(404, f"Invalid rev id: {tag}", "RevisionNotFound")
            del meta["tags"][tag]
            self._save_repo(meta)

    # ------------------------------------------------------------------ upload decisions
    def upload_mode(self, gitattributes: str | None, path: str, size: int, sample: bytes) -> str:
        """``"lfs"`` for files over 10 MB, binary content, known weight extensions or ``.gitattributes`` LFS rules."""
        if size > LFS_SIZE_THRESHOLD or b"\x00" in sample or path.lower().endswith(BINARY_SUFFIXES):
            return "lfs"
        for line in (gitattributes or "").splitlines():
            parts = line.split()
            if len(parts) >= 2 and "filter=lfs" in parts[1:] and _gitattributes_match(parts[0], path):
                return "lfs"
        return "regular"

    def preupload(
        self, repo_type: str, repo_id: str, revision: str, files: list[dict[str, Any]], git_ignore: str | None = None
    ) -> list[dict[str, Any]]:
        """Answer the ``/preupload`` call: upload mode, ignore flag and remote oid of each file."""
        commit = self.get_commit(repo_type, repo_id, self.resolve(repo_type, repo_id, revision))
        attributes = None
        if ".gitattributes" in commit.files:
            attributes = self.blob_path(commit.files[".gitattributes"].sha256).read_text(errors="replace")
        ignore = [ln.strip() for ln in (git_ignore or "").splitlines() if ln.strip() and not ln.startswith("#")]
        out = []
        for item in files:
            path, size = item["path"], int(item.get("size", 0))
            sample = base64.b64decode(item.get("sample") or "")
            info: dict[str, Any] = {
                "path": path,
                "uploadMode": self.upload_mode(attributes, path, size, sample),
                "shouldIgnore": any(_gitattributes_match(p.rstrip("/"), path) for p in ignore),
            }
            if path in commit.files:
                info["oid"] = commit.files[path].etag
            out.append(info)
        return out

    # ------------------------------------------------------------------ commit
    def commit(
        self,
        repo_type: str,
        repo_id: str,
        revision: str,
        header: dict[str, Any],
        operations: list[dict[str, Any]],
        create_pr: bool = False,
    ) -> CommitResult:
        """Apply Hub commit operations (``file``, ``lfsFile``, ``deletedFile``, ``deletedFolder``, ``copyFile``).

        With ``create_pr`` the commit goes to a new ``refs/pr/N`` based on ``revision``; otherwise ``revision`` must
        be a branch or a ``refs/pr/N``. A ``parentCommit`` in ``header`` that is not the head -> 412.
        """
        with self.lock:
            meta = self.get_repo(repo_type, repo_id)
            pr_match = re.fullmatch(r"refs/pr/(\d+)", revision)
            branch = revision[len("refs/heads/") :] if revision.startswith("refs/heads/") else revision
            if pr_match and pr_match[1] in meta["prs"]:
                head = meta["prs"][pr_match[1]]["commit"]
            elif branch in meta["branches"]:
                head = meta["branches"][branch]
            elif branch in meta["tags"] or _HEX_RE.match(branch):
                raise HubStoreError(400, f"Cannot commit to {revision!r}: not a branch", "RevisionNotFound")
            else:
                raise HubStoreError(404, f"Invalid rev id: {revision}", "RevisionNotFound")
            parent_commit = header.get("parentCommit")
            if parent_commit and not head.startswith(parent_commit):
                raise HubStoreError(412, "A commit has happened since. Please refresh and try again.")
            files = dict(self.get_commit(repo_type, repo_id, head).files)
            for op in operations:
                self._apply(repo_type, repo_id, head, files, op.get("key"), op.get("value") or {})
            title = header.get("summary") or "Upload files"
            record = self._new_commit(meta, head, title, header.get("description") or "", files)
            pr_num = None
            if create_pr:
                pr_num = 1 + max((int(n) for n in meta["prs"]), default=0)
                meta["prs"][str(pr_num)] = {"commit": record.id, "base": branch, "title": title, "status": "open"}
            elif pr_match:
                meta["prs"][pr_match[1]]["commit"] = record.id
            else:
                meta["branches"][branch] = record.id
            self._save_repo(meta)
            return CommitResult(record.id, pr_num)

    def _apply(
        self, repo_type: str, repo_id: str, head: str, files: dict[str, FileEntry], key: Any, value: dict[str, Any]
    ) -> None:
        path = str(value.get("path", "")).strip("/")
        if not path and key != "deletedFolder":
            raise HubStoreError(400, f"Missing path in {key} operation")
        if key == "file":
            raw = value.get("content", "")
            data = base64.b64decode(raw) if value.get("encoding") == "base64" else str(raw).encode()
            sha, size = self.put_blob([data])
            files[path] = FileEntry(sha256=sha, size=size, lfs=False, oid=git_blob_oid(data))
        elif key == "lfsFile":
            oid = str(value.get("oid", ""))
            if not self.has_blob(oid):
                raise HubStoreError(422, f"LFS object {oid} for {path} was not uploaded")
            size = self.blob_path(oid).stat().st_size
            if value.get("size") is not None and int(value["size"]) != size:
                raise HubStoreError(422, f"LFS object {oid} has size {size}, not {value['size']}")
            files[path] = FileEntry(sha256=oid, size=size, lfs=True, oid=git_blob_oid(lfs_pointer(oid, size)))
        elif key == "deletedFile":
            if files.pop(path, None) is None:
                raise HubStoreError(404, f"A file with this name doesn't exist: {path}", "EntryNotFound")
        elif key == "deletedFolder":
            prefix = f"{path}/" if path else ""
            doomed = [p for p in files if p.startswith(prefix)]
            if not doomed:
                raise HubStoreError(404, f"A folder with this name doesn't exist: {path}", "EntryNotFound")
            for p in doomed:
                del files[p]
        elif key == "copyFile":
            src = str(value.get("srcPath") or value.get("src_path") or "").strip("/")
            src_rev = value.get("srcRevision")
            source = self.get_commit(repo_type, repo_id, self.resolve(repo_type, repo_id, src_rev)) if src_rev else None
            entry = (source.files if source else files).get(src)
            if entry is None:
                raise HubStoreError(404, f"Cannot copy {src}: file is missing on repo.", "EntryNotFound")
            files[path] = entry
        else:
            raise HubStoreError(400, f"Unknown commit operation: {key!r}")


def _gitattributes_match(pattern: str, path: str) -> bool:
    """gitattributes/gitignore-style match: a pattern without ``/`` matches the basename anywhere."""
    if "/" not in pattern.strip("/"):
        return fnmatch.fnmatchcase(path.rsplit("/", 1)[-1], pattern.strip("/"))
    return fnmatch.fnmatchcase(path, pattern.strip("/").replace("**/", "*"))
