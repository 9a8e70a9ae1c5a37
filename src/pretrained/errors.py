"""The exceptions `pretrained` raises. Each one names the file, key or value at fault.

Every error derives from [`PretrainedError`][pretrained.errors.PretrainedError] *and* from the built-in type a
transformers v4 user would catch (`OSError` for files, `ValueError` for bad values, ...), so existing
`except` clauses keep working.
"""

from __future__ import annotations


class PretrainedError(Exception):
    """Base class of every error raised by `pretrained`."""


class CheckpointError(PretrainedError, OSError):
    """A checkpoint file or directory is missing, truncated, corrupt or hostile.

    The message names the file (and the key, where one is at fault).
    """


class CorruptCheckpointError(CheckpointError, ValueError):
    """A checkpoint's keys contradict each other for this model (v4's "the state dictionary ... is corrupted"): e.g.
    base-model keys without the `base_model_prefix` next to head keys. Also a `ValueError`, as in v4."""


class ConfigError(PretrainedError, ValueError):
    """A configuration value or `config.json` is invalid."""


class ShapeMismatchError(PretrainedError, RuntimeError, ValueError):
    """Checkpoint tensors do not fit the model; the message lists each key with both shapes."""


class IncompleteLoadError(PretrainedError, RuntimeError):
    """`strict=True` and the checkpoint left keys missing or unexpected."""


class IntegrityError(CheckpointError):
    """A shard's sha256 does not match the digest recorded at save time."""


class RemoteCodeError(PretrainedError, ValueError):
    """Code shipped with a checkpoint would have to run, and that was not allowed (or it cannot be imported)."""


class MissingBackendError(PretrainedError, ImportError):
    """A framework is not installed; the message names the extra to install."""


class HubError(PretrainedError, OSError):
    """A file, revision or repository could not be resolved on the Hub (or in its cache)."""
