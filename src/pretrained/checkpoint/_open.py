"""Opening the reader of any checkpoint by its format: the one place that knows which reader reads which files."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..layout import LayoutOverride
from ._files import CheckpointFiles
from ._h5 import H5Reader
from ._legacy import MsgpackReader
from ._reader import CheckpointReader


def open_checkpoint(
    checkpoint: CheckpointFiles,
    *,
    framework: str = "np",
    backend: str | None = None,
    overrides: Iterable[LayoutOverride] = (),
) -> Any:
    """A reader (the `CheckpointReader` interface: `keys`, `info`, `get`, `iter_tensors`, ...) over `checkpoint`,
    keyed by canonical names in PyTorch layout whatever the format: safetensors and `.bin` through
    `CheckpointReader` (`framework`, `backend`: its options), transformers v4's `tf_model.h5` through `H5Reader` and
    `flax_model.msgpack` through `MsgpackReader` (`overrides`: the model's `_legacy_weight_overrides`).

    Example:
        >>> import numpy as np, tempfile
        >>> from pretrained.checkpoint import HostTensor, find_weights, open_checkpoint, write_checkpoint
        >>> d = tempfile.mkdtemp()
        >>> _ = write_checkpoint(d, {"w": HostTensor.from_numpy(np.ones(2, np.float32))})
        >>> with open_checkpoint(find_weights(d)) as reader:
        ...     type(reader).__name__, reader.keys()
        ('CheckpointReader', ['w'])
    """
    if checkpoint.kind == "h5":
        return H5Reader(checkpoint, overrides=overrides)
    if checkpoint.kind == "msgpack":
        return MsgpackReader(checkpoint, overrides=overrides)
    return CheckpointReader(checkpoint, framework=framework, backend=backend)
