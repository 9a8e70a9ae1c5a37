"""Hub I/O: resolve a name (local directory, local file, or repo id + revision) to local files, and push.

All Hub traffic goes through `huggingface_hub`, so its cache layout, revisions, `HF_HUB_OFFLINE`,
`local_files_only`, `cache_dir`, `token` and `subfolder` behave as everywhere else in the ecosystem.

Example:
    >>> from pretrained import PretrainedConfig
    >>> from pretrained.hub import resolve_file
    >>> from pretrained.testing import LocalHub
    >>> with LocalHub():  # a loopback Hub: the same calls reach huggingface.co without it
    ...     _ = PretrainedConfig().push_to_hub("my-org/my-model")
    ...     path = resolve_file("my-org/my-model", "config.json", revision="main")
    ...     path.name, path.parent.parent.name
    ('config.json', 'snapshots')
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

from .checkpoint import (
    DEFAULT_MAX_SHARD_SIZE,
    CheckpointFiles,
    checkpoint_from_file,
    find_weights,
    is_index_name,
    load_index,
    missing_weights_hint,
    weight_candidates,
)
from .errors import CheckpointError, HubError, PretrainedError
from .utils import logging, progress
from .utils.options import check_unknown_options, pop_deprecated_token

logger = logging.get_logger(__name__)

# the options that pick a file on the Hub (or in a local directory): `from_pretrained` and config loads share them
HUB_OPTIONS = ("revision", "cache_dir", "local_files_only", "token", "subfolder", "force_download")
# the keyword options of `push_to_hub` (`save_pretrained(push_to_hub=True, ...)` forwards them)
PUSH_OPTIONS = ("commit_message", "private", "token", "revision", "create_pr", "max_shard_size", "safe_serialization",
                "tags", "commit_description", "use_temp_dir")

WEIGHT_PATTERNS = ["*.safetensors", "*.safetensors.index.json", "pytorch_model*.bin", "pytorch_model*.bin.index.json"]


def is_local(name_or_path: str | os.PathLike) -> bool:
    """True when `name_or_path` is an existing local directory or file."""
    return os.path.exists(name_or_path)


def resolve_file(
    name_or_path: str | os.PathLike,
    filename: str,
    *,
    revision: str | None = None,
    cache_dir: str | os.PathLike | None = None,
    local_files_only: bool = False,
    token: str | bool | None = None,
    subfolder: str = "",
    force_download: bool = False,
    required: bool = True,
    **deprecated_kwargs: Any,
) -> Path | None:
    """Local path of `filename` in a local directory or a Hub repo (downloaded into the huggingface_hub cache).

    Returns None for a missing file when `required=False`; otherwise raises an error that names the repo (or
    directory), the revision and the file. v4's `use_auth_token=` is accepted (deprecated) for `token=`.

    Example:
        >>> import tempfile
        >>> resolve_file(tempfile.mkdtemp(), "config.json", required=False) is None
        True
    """
    token = pop_deprecated_token(deprecated_kwargs, token)
    check_unknown_options(deprecated_kwargs, [*HUB_OPTIONS, "required"], call="resolve_file")
    if os.path.isdir(name_or_path):
        path = Path(name_or_path, subfolder, filename)
        if path.is_file():
            return path
        if not required:
            return None
        raise CheckpointError(f"{Path(name_or_path, subfolder)}: no file named {filename!r} in this directory")
    return _download(
        str(name_or_path),
        filename,
        revision=revision,
        cache_dir=cache_dir,
        local_files_only=local_files_only,
        token=token,
        subfolder=subfolder,
        force_download=force_download,
        required=required,
    )


def _download(repo_id: str, filename: str, *, required: bool, subfolder: str, **kwargs: Any) -> Path | None:
    from huggingface_hub import constants, hf_hub_download
    from huggingface_hub.errors import (
        EntryNotFoundError,
        HFValidationError,
        LocalEntryNotFoundError,
        OfflineModeIsEnabled,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    revision = kwargs.get("revision") or "main"
    where = f"{repo_id!r} at revision {revision!r}"
    try:
        return Path(hf_hub_download(repo_id, filename, subfolder=subfolder or None, **kwargs))
    except HFValidationError as exc:
        raise HubError(
            f"{repo_id!r} is neither a local directory or file nor a valid Hub repo id ({exc})"
        ) from exc
    except RepositoryNotFoundError as exc:
        raise HubError(
            f"{repo_id!r} is not a local directory and no such repo exists on {constants.ENDPOINT} "
            "(or it is private: pass token=...)"
        ) from exc
    except RevisionNotFoundError as exc:
        raise HubError(f"revision {revision!r} does not exist in repo {repo_id!r}") from exc
    except LocalEntryNotFoundError as exc:
        if not required and _cached_as_missing(repo_id, filename, subfolder, kwargs):
            return None
        raise HubError(
            f"{_in(subfolder, filename)} of {where} is not in the local cache and cannot be downloaded "
            f"(offline mode or local_files_only=True, or the Hub is unreachable): {exc}"
        ) from exc
    except EntryNotFoundError as exc:
        if not required:
            return None
        raise HubError(f"{where} has no file {_in(subfolder, filename)!r}") from exc
    except OfflineModeIsEnabled as exc:
        raise HubError(f"{_in(subfolder, filename)} of {where}: offline mode is enabled and it is not cached") from exc
    except OSError as exc:
        raise HubError(f"could not fetch {_in(subfolder, filename)} of {where}: {exc}") from exc
    except Exception as exc:  # transport errors (a connection cut mid-download) are not OSErrors
        if isinstance(exc, PretrainedError):
            raise
        raise HubError(f"could not fetch {_in(subfolder, filename)} of {where}: {type(exc).__name__}: {exc}") from exc


def _cached_as_missing(repo_id: str, filename: str, subfolder: str, kwargs: dict[str, Any]) -> bool:
    """In offline mode, an optional file is 'missing' if the cache knows the revision but not the file."""
    from huggingface_hub import _CACHED_NO_EXIST, try_to_load_from_cache

    found = try_to_load_from_cache(
        repo_id, _in(subfolder, filename), cache_dir=kwargs.get("cache_dir"), revision=kwargs.get("revision")
    )
    if found is _CACHED_NO_EXIST:
        return True
    config = try_to_load_from_cache(
        repo_id, _in(subfolder, "config.json"), cache_dir=kwargs.get("cache_dir"), revision=kwargs.get("revision")
    )
    return isinstance(config, str)


def _in(subfolder: str, filename: str) -> str:
    return f"{subfolder}/{filename}" if subfolder else filename


def resolve_checkpoint(
    name_or_path: str | os.PathLike,
    *,
    variant: str | None = None,
    use_safetensors: bool | None = None,
    **hub_kwargs: Any,
) -> CheckpointFiles:
    """Find (and download if needed) every weight file of a checkpoint: one file, or an index and its shards.

    Tries `model.safetensors`, `model.safetensors.index.json`, then transformers v4's `pytorch_model.bin`,
    `tf_model.h5` and `flax_model.msgpack`, each followed by its index (`weight_candidates`). For files from the Hub cache, the sha256 the Hub reported is remembered so `verify=True` can check it.
    """
    subfolder = hub_kwargs.get("subfolder", "")
    if os.path.isfile(name_or_path):
        return checkpoint_from_file(name_or_path)
    if os.path.isdir(name_or_path):
        return find_weights(Path(name_or_path, subfolder), variant=variant, use_safetensors=use_safetensors)
    tried = weight_candidates(variant, use_safetensors=use_safetensors)
    for name in tried:
        path = resolve_file(name_or_path, name, required=False, **hub_kwargs)
        if path is None:
            continue
        if is_index_name(name):
            checkpoint = _download_shards(name_or_path, path, hub_kwargs)
        else:
            checkpoint = checkpoint_from_file(path)
        _remember_hub_digests(checkpoint)
        return checkpoint
    others = [*weight_candidates(variant), *weight_candidates(None)]
    present = [name for name in dict.fromkeys(others)
               if name not in tried and resolve_file(name_or_path, name, required=False, **hub_kwargs) is not None]
    hint = missing_weights_hint(present, variant, use_safetensors)
    revision = hub_kwargs.get("revision") or "main"
    raise HubError(
        f"repo {str(name_or_path)!r} at revision {revision!r} has no weights (looked for {', '.join(tried)}).{hint}"
    )


def _download_shards(name_or_path: str | os.PathLike, index_path: Path, hub_kwargs: dict[str, Any]) -> CheckpointFiles:
    import json

    try:
        weight_map = json.loads(index_path.read_text(encoding="utf-8")).get("weight_map", {})
    except (json.JSONDecodeError, AttributeError) as exc:
        raise CheckpointError(f"{index_path}: not a valid index file ({exc})") from exc
    shards = sorted({str(v) for v in weight_map.values()})
    for shard in shards:
        if os.path.isabs(shard) or ".." in Path(shard).parts:
            raise CheckpointError(f"{index_path}: shard {shard!r} lies outside the checkpoint directory")
    with progress.bar(total=len(shards), desc="Downloading shards", unit="shard", enabled=len(shards) > 1) as bar:
        for shard in shards:
            resolve_file(name_or_path, shard, **hub_kwargs)
            bar.update(1)
    return load_index(index_path)


def snapshot_commit(path: Path) -> str | None:
    """The commit hash of a file inside a huggingface_hub cache snapshot (`.../snapshots/<commit>/...`), else None.

    Example:
        >>> snapshot_commit(Path("hub/models--me--repo/snapshots", "0" * 40, "config.json")) == "0" * 40
        True
        >>> snapshot_commit(Path("my-model/config.json")) is None
        True
    """
    parts = path.parts
    if "snapshots" in parts:
        index = len(parts) - 1 - parts[::-1].index("snapshots")
        if index + 1 < len(parts) and len(parts[index + 1]) == 40:
            return parts[index + 1]
    return None


def _remember_hub_digests(checkpoint: CheckpointFiles) -> None:
    """huggingface_hub names LFS blobs by their sha256: remember it for `verify=True`."""
    for path in checkpoint.files:
        if path.name in checkpoint.expected_sha256 or not path.is_symlink():
            continue
        blob = Path(os.readlink(path)).name
        if len(blob) == 64 and all(c in "0123456789abcdef" for c in blob):
            checkpoint.expected_sha256[path.name] = blob


class PushToHubMixin:
    """Adds `push_to_hub` to any class with a `save_pretrained(directory)`.

    The object is saved into a temporary directory with its own `save_pretrained`, then uploaded as one commit
    through `huggingface_hub.HfApi`. A model card (`README.md`) is written when the repo has none.
    """

    _push_replaces: ClassVar[list[str]] = []  # remote files a push replaces wholesale (stale shards)

    def _save_for_push(self, save_directory: Path, **kwargs: Any) -> None:
        raise NotImplementedError

    def push_to_hub(
        self,
        repo_id: str,
        *,
        commit_message: str | None = None,
        private: bool | None = None,
        token: str | bool | None = None,
        revision: str | None = None,
        create_pr: bool = False,
        max_shard_size: int | str = DEFAULT_MAX_SHARD_SIZE,
        safe_serialization: bool = True,
        tags: list[str] | None = None,
        commit_description: str | None = None,
        use_temp_dir: bool | None = None,
        **deprecated_kwargs: Any,
    ) -> Any:
        """Save this object and upload it to `repo_id` in one commit; returns huggingface_hub's `CommitInfo`.

        The model card (`README.md`) is created when the repo has none; `tags` and the object's `model_tags` (see
        `add_model_tags`) are added to its metadata, an existing card included.

        Example:
            >>> from pretrained import PretrainedConfig
            >>> from pretrained.testing import LocalHub
            >>> with LocalHub():
            ...     info = PretrainedConfig(num_labels=3).push_to_hub("me/my-config")
            ...     len(info.oid)
            40
        """
        from huggingface_hub import HfApi

        token = pop_deprecated_token(deprecated_kwargs, token)
        check_unknown_options(deprecated_kwargs, PUSH_OPTIONS, call="push_to_hub")
        del use_temp_dir  # v4 option: the upload always goes through a temporary directory
        api = HfApi(token=token, library_name="pretrained")
        with _pushing(repo_id, revision):
            repo_id = api.create_repo(repo_id, private=private, exist_ok=True).repo_id
            if revision is not None and not create_pr:
                api.create_branch(repo_id, branch=revision, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="pretrained-push-") as tmp:
            work = Path(tmp)
            self._save_for_push(work, max_shard_size=max_shard_size, safe_serialization=safe_serialization)
            tags = list(dict.fromkeys([*(getattr(self, "model_tags", None) or []), *(tags or [])]))
            with _pushing(repo_id, revision):
                _write_model_card(work, repo_id, tags, api=api, revision=revision)
                return api.upload_folder(
                    repo_id=repo_id,
                    folder_path=work,
                    commit_message=commit_message or f"Upload {type(self).__name__}",
                    commit_description=commit_description,
                    revision=revision,
                    create_pr=create_pr,
                    delete_patterns=self._push_replaces or None,
                )


@contextlib.contextmanager
def _pushing(repo_id: str, revision: str | None) -> Iterator[None]:
    """A failed Hub call of `push_to_hub` (HTTP error, dropped connection) -> `HubError` naming the repo and the
    revision; huggingface_hub's exception stays attached as `__cause__`."""
    try:
        yield
    except PretrainedError:
        raise
    except Exception as exc:
        first_line = (str(exc).strip().splitlines() or [""])[0]
        raise HubError(
            f"push_to_hub to {repo_id!r} at revision {revision or 'main'!r} failed ({type(exc).__name__}: "
            f"{first_line}); the push was not completed, retrying it is safe"
        ) from exc


def _write_model_card(directory: Path, repo_id: str, tags: list[str], *, api: Any, revision: str | None) -> None:
    """Write `README.md` into the upload: a new card when the repo has none, else the repo's card with the `tags`
    it lacks added to its metadata (nothing when it has them all)."""
    from huggingface_hub import ModelCard, ModelCardData

    if api.file_exists(repo_id, "README.md", revision=revision):
        card = ModelCard.load(api.hf_hub_download(repo_id, "README.md", revision=revision))
        missing = [tag for tag in tags if tag not in (card.data.tags or [])]
        if missing:
            card.data.tags = [*(card.data.tags or []), *missing]
            card.save(directory / "README.md")
        return
    card_data = ModelCardData(library_name="pretrained", tags=sorted({"pretrained", *tags}))
    content = (
        f"---\n{card_data.to_yaml()}\n---\n\n# {repo_id}\n\n"
        "This model was pushed with [pretrained](https://pypi.org/project/pretrained/). Load it in PyTorch, "
        "TensorFlow or Flax with `from_pretrained`.\n"
    )
    ModelCard(content).save(directory / "README.md")
