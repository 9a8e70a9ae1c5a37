"""An in-memory checkpoint: canonical tensors in a mapping, read through the `CheckpointReader` interface.

Every backend's loader streams tensors from a reader (`keys()`, `info(key)`, `get(key)`, `iter_tensors(keys)`), so a
[`MemoryReader`][pretrained.checkpoint.MemoryReader] over `{canonical key: array}` takes exactly the path a file
takes: that is how `from_pretrained(None, config=..., state_dict=...)`, `model.load_canonical_state(...)` and
`pretrained.conversion.convert` work in every backend. The values may be NumPy arrays, `HostTensor`s (what
`canonical_state_dict()` returns), torch tensors, JAX arrays or TensorFlow tensors / variables; no framework is
imported here (values are recognised by duck typing).

Example:
    >>> import numpy as np
    >>> from pretrained.checkpoint import MemoryReader
    >>> with MemoryReader({"linear.weight": np.ones((2, 3), np.float32)}) as reader:
    ...     reader.info("linear.weight").shape, [k for k, _ in reader.iter_tensors()]
    ((2, 3), ['linear.weight'])
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import CheckpointError
from ._files import CheckpointFiles
from ._format import DTYPES, TensorInfo
from ._tensors import HostTensor

_ITEMSIZE = dict(DTYPES.values())  # dtype name -> bytes per element


def dtype_name_of(value: Any) -> str:
    """The checkpoint dtype name (`"float32"`, `"bfloat16"`, ...) of an array of any framework.

    >>> import numpy as np
    >>> dtype_name_of(np.zeros(2, np.float16))
    'float16'
    """
    dtype = value.dtype
    name = dtype if isinstance(dtype, str) else getattr(dtype, "name", None)
    if not isinstance(name, str):  # torch.dtype has no .name: "torch.float32"
        name = str(dtype)
    return name.removeprefix("torch.")


def to_numpy(value: Any) -> np.ndarray:
    """A NumPy view (a copy only where the framework requires one) of a tensor of any framework.

    `HostTensor` -> its owner's data; torch -> `.detach().cpu().numpy()` (bfloat16 through `ml_dtypes`); JAX /
    TensorFlow / anything with `__array__` -> `np.asarray`.

    Example:
        >>> import numpy as np
        >>> to_numpy(np.arange(3)).tolist()
        [0, 1, 2]
    """
    if isinstance(value, np.ndarray):
        return value
    if isinstance(value, HostTensor):
        array = to_numpy(value.owner)
        return array.reshape(value.shape) if tuple(array.shape) != tuple(value.shape) else array
    if type(value).__module__.startswith("torch"):
        return _torch_to_numpy(value)
    if hasattr(value, "numpy") and not hasattr(value, "__array__"):  # e.g. a Keras variable
        return np.asarray(value.numpy())
    return np.asarray(value)


def _torch_to_numpy(tensor: Any) -> np.ndarray:
    tensor = tensor.detach()
    if tensor.device.type != "cpu":
        tensor = tensor.cpu()
    if str(tensor.dtype) == "torch.bfloat16":
        import ml_dtypes
        import torch

        return tensor.view(torch.uint16).numpy().view(ml_dtypes.bfloat16)
    return tensor.numpy()


def _shape_of(value: Any) -> tuple[int, ...]:
    return tuple(int(d) for d in value.shape)


class MemoryReader:
    """The `CheckpointReader` interface over `{canonical key: tensor}` held in memory.

    `get(key)` returns `convert(value)`: a NumPy array by default ([`to_numpy`][pretrained.checkpoint.to_numpy]);
    the torch backend passes a converter to torch tensors. `info(key)` costs no conversion. `source` names the
    tensors in reports and errors (e.g. `"<BertModel state>"`).

    Example:
        >>> import numpy as np
        >>> from pretrained.checkpoint import MemoryReader
        >>> reader = MemoryReader({"w": np.zeros((4, 2), np.float32)}, source="<mine>")
        >>> reader.info("w").dtype, reader.info("w").nbytes, str(reader.checkpoint.files[0])
        ('float32', 32, '<mine>')
    """

    def __init__(
        self,
        tensors: Mapping[str, Any],
        *,
        convert: Callable[[Any], Any] | None = None,
        source: str = "<state_dict>",
    ) -> None:
        if not isinstance(tensors, Mapping):
            raise TypeError(f"a state dict must be a mapping of key -> tensor, got {type(tensors).__name__}")
        bad = [k for k in tensors if not isinstance(k, str)]
        if bad:
            raise CheckpointError(f"{source}: keys must be strings, found {bad[:5]}")
        self.tensors = tensors
        self.convert = convert or to_numpy
        self.framework = "memory"
        self.checkpoint = CheckpointFiles(files=[Path(source)], kind="memory")
        self._infos: dict[str, TensorInfo] = {}

    # -- queries
    def keys(self) -> list[str]:
        return list(self.tensors)

    def __contains__(self, key: object) -> bool:
        return key in self.tensors

    def __len__(self) -> int:
        return len(self.tensors)

    def info(self, key: str) -> TensorInfo:
        info = self._infos.get(key)
        if info is None:
            try:
                value = self.tensors[key]
            except KeyError:
                raise KeyError(f"{key!r} is not in {self.checkpoint.files[0]}") from None
            dtype = dtype_name_of(value)
            shape = _shape_of(value)
            nbytes = math.prod(shape) * (_ITEMSIZE.get(dtype) or np.dtype(dtype).itemsize)
            info = self._infos[key] = TensorInfo(key, dtype, shape, self.checkpoint.files[0], nbytes)
        return info

    @property
    def metadata(self) -> dict[str, str]:
        return {"format": "pt"}

    def dtypes(self) -> dict[str, int]:
        totals: dict[str, int] = {}
        for key in self.tensors:
            info = self.info(key)
            totals[info.dtype] = totals.get(info.dtype, 0) + info.nbytes
        return totals

    def total_bytes(self) -> int:
        return sum(self.info(key).nbytes for key in self.tensors)

    # -- reads
    def get(self, key: str) -> Any:
        if key not in self.tensors:
            raise KeyError(f"{key!r} is not in {self.checkpoint.files[0]}")
        return self.convert(self.tensors[key])

    def iter_tensors(self, keys: Iterable[str] | None = None, *, desc: str | None = None) -> Iterator[tuple[str, Any]]:
        """Yield `(key, tensor)` in the mapping's order (only the `keys` asked for, when given)."""
        wanted = set(self.tensors) if keys is None else {k for k in keys if k in self.tensors}
        for key in self.tensors:
            if key in wanted:
                yield key, self.get(key)

    def close(self) -> None:
        pass

    def __enter__(self) -> MemoryReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
