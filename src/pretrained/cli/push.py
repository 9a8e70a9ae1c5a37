"""`pretrained push`: upload a saved checkpoint directory in one commit; `--dry-run` shows the plan only.

The plan compares each local file with the remote one: by sha256 for LFS files (the Hub reports their sha256) and
by git blob sha1 for regular files. Remote weight files that the push replaces wholesale (shards of an earlier save
that the directory no longer has) are listed as deleted, as `push_to_hub` deletes them.
"""

from __future__ import annotations

import argparse
import fnmatch
import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..checkpoint import sha256_file
from ..hub import WEIGHT_PATTERNS
from ._common import UsageError, human_size

HELP = "upload a checkpoint directory to the Hub in one commit"


@dataclass
class PushPlan:
    """What a push would do: paths to add, change, delete, and those already identical."""

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    sizes: dict[str, int] = field(default_factory=dict)

    @property
    def is_noop(self) -> bool:
        return not (self.added or self.changed or self.deleted)


def local_files(directory: Path) -> dict[str, Path]:
    """Repo path -> local file, hidden files and directories (`.git`, `.cache`, temp files) left out."""
    out = {}
    for root, dirs, files in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if not name.startswith("."):
                path = Path(root, name)
                out[path.relative_to(directory).as_posix()] = path
    return out


def git_blob_sha1(path: Path) -> str:
    """The git object id of a file's content (what the Hub reports for regular, non-LFS files).

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp(), "f"); _ = p.write_bytes(b"hello\\n")
    >>> git_blob_sha1(p)
    'ce013625030ba8dba906f756967f9e9ca394464a'
    """
    digest = hashlib.sha1(f"blob {path.stat().st_size}\0".encode())
    with open(path, "rb") as handle:
        while block := handle.read(1 << 24):
            digest.update(block)
    return digest.hexdigest()


def remote_files(api: Any, repo_id: str, revision: str | None) -> tuple[dict[str, Any], str]:
    """Remote path -> RepoFile at `revision` (falling back to main for a branch a push would create), and the
    revision compared against. A missing repo has no files."""
    from huggingface_hub.errors import RepositoryNotFoundError, RevisionNotFoundError

    for ref in ([revision, None] if revision else [None]):
        try:
            tree = api.list_repo_tree(repo_id, revision=ref, recursive=True)
            return {item.path: item for item in tree if hasattr(item, "blob_id")}, ref or "main"
        except RevisionNotFoundError:
            continue
        except RepositoryNotFoundError:
            return {}, "(new repo)"
    return {}, "(empty)"


def plan_push(directory: Path, remote: dict[str, Any], *, replaces: list[str] = WEIGHT_PATTERNS) -> PushPlan:
    """Compare the directory with the remote files (see the module docstring)."""
    plan = PushPlan()
    files = local_files(directory)
    for path, local in files.items():
        plan.sizes[path] = local.stat().st_size
        entry = remote.get(path)
        if entry is None:
            plan.added.append(path)
        elif _same(local, entry):
            plan.unchanged.append(path)
        else:
            plan.changed.append(path)
    for path in sorted(remote):
        if path not in files and any(fnmatch.fnmatch(Path(path).name, p) for p in replaces):
            plan.deleted.append(path)
    return plan


def _same(local: Path, entry: Any) -> bool:
    if local.stat().st_size != getattr(entry, "size", None):
        return False
    lfs = getattr(entry, "lfs", None)
    if lfs is not None:
        return sha256_file(local) == getattr(lfs, "sha256", None)
    return git_blob_sha1(local) == entry.blob_id


def format_plan(plan: PushPlan, repo_id: str, against: str) -> str:
    """The dry run's report: one line per file added, changed or deleted."""
    lines = [f"dry run: push to {repo_id} (compared with {against}); nothing was uploaded"]
    for title, paths in (("add", plan.added), ("change", plan.changed), ("delete", plan.deleted)):
        for path in paths:
            size = f"  ({human_size(plan.sizes[path])})" if path in plan.sizes else ""
            lines.append(f"  {title:<7} {path}{size}")
    lines.append(f"  {len(plan.unchanged)} file(s) unchanged" if not plan.is_noop else "  nothing to push")
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("directory", metavar="DIR")
    parser.add_argument("repo_id", metavar="REPO_ID")
    parser.add_argument("--revision", help="branch to push to (created from main if missing)")
    parser.add_argument("--create-pr", action="store_true", help="open a pull request instead of committing")
    parser.add_argument("--dry-run", action="store_true", help="print what would change; upload nothing")
    parser.add_argument("--commit-message")
    parser.add_argument("--private", action="store_true", default=None, help="create the repo as private")


def run(args: argparse.Namespace, echo: Callable[[str], None]) -> int:
    from huggingface_hub import HfApi

    folder = Path(args.directory)
    repo_id, revision, create_pr = args.repo_id, args.revision, args.create_pr
    if not folder.is_dir():
        raise UsageError(f"{folder}: not a directory (push uploads a saved checkpoint directory)")
    if not local_files(folder):
        raise UsageError(f"{folder}: the directory is empty")
    api = HfApi(library_name="pretrained")
    if args.dry_run:
        remote, against = remote_files(api, repo_id, revision)
        echo(format_plan(plan_push(folder, remote), repo_id, against))
        return 0
    repo_id = api.create_repo(repo_id, private=args.private, exist_ok=True).repo_id
    if revision is not None and not create_pr:
        api.create_branch(repo_id, branch=revision, exist_ok=True)
    info = api.upload_folder(repo_id=repo_id, folder_path=folder, revision=revision, create_pr=create_pr,
                             commit_message=args.commit_message or f"Upload {folder.name} with pretrained",
                             delete_patterns=WEIGHT_PATTERNS, ignore_patterns=[".*", "**/.*"])
    echo(f"pushed {folder} to {repo_id}: {getattr(info, 'pr_url', None) or getattr(info, 'commit_url', info)}")
    return 0
