"""transformers v4 `tf_model.h5` weights (Keras 2 HDF5), read as canonical tensors one at a time.

v4's TensorFlow `save_pretrained` wrote the Keras 2 weights file: a root attribute `layer_names` listing the model's
top-level layers, one group per layer whose `weight_names` attribute lists its variables by their full Keras names
(`tf_bert_model/bert/encoder/layer_._0/attention/self/query/kernel:0`), the arrays in Keras layout. A sharded save
(`tf_model-00001-of-00003.h5` + `tf_model.h5.index.json`) lists the datasets themselves in `layer_names`, named
without the model's scope (`bert/embeddings/word_embeddings/weight:0`).

[`H5Reader`][pretrained.checkpoint.H5Reader] reads only those attributes and datasets with `h5py` (never a Keras
model config, so nothing in the file is executed) and serves them through the `CheckpointReader` interface, keyed by
canonical names and already in PyTorch layout, so every backend's `from_pretrained` loads them like safetensors.
Names follow v4's own TF -> PyTorch rules ([`tf_weight_name_to_key`][pretrained.checkpoint.tf_weight_name_to_key]);
a model whose Keras names differ from its PyTorch module in other ways declares `_legacy_weight_overrides`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import CheckpointError
from ..layout import IDENTITY, LEAF_RULES, TRANSPOSE, LayoutOverride, canonical_shape, to_canonical
from ._files import CheckpointFiles
from ._format import DTYPE_CODES, TensorInfo
from ._legacy import import_package
from ._reader import TensorReader

# v4's leaf renames: the Keras leaf table, except that a separable convolution's two kernels become the `pointwise`
# and `depthwise` sub-modules of the PyTorch layer, each transposed end to end
V4_TF_LEAVES: dict[str, tuple[str, str]] = {
    **{leaf: rule for leaf, rule in LEAF_RULES["tf"].items() if leaf != "depthwise_kernel"},
    "pointwise_kernel": ("pointwise.weight", TRANSPOSE),
    "depthwise_kernel": ("depthwise.weight", TRANSPOSE),
}
TOP_LEVEL_GROUP = "top_level_model_weights"  # where Keras 2 keeps weights created on the model itself
_DEVICE_SUFFIX = re.compile(r":\d+$")


def tf_weight_name_to_key(
    name: str, *, scoped: bool = True, overrides: Iterable[LayoutOverride] = ()
) -> tuple[str, str]:
    """The canonical key and layout transform of a Keras 2 weight name written by transformers v4.

    v4's rules (`convert_tf_weight_name_to_pt_weight_name`): drop the `:0` suffix; `prefix___name` scopes become
    `name` (`mlm___cls` -> `cls`); list items `layer_._3` become `layer.3`; the first component, the Keras model's
    own scope (`tf_bert_model`), is dropped when `scoped` (names listed in sharded files have none); leaves `kernel`
    (transposed, by rank), `embeddings` and `gamma` become `weight`, `beta` becomes `bias`, BatchNorm's
    `moving_mean` / `moving_variance` become `running_mean` / `running_var`. `overrides` (a model's
    `_legacy_weight_overrides`) are then matched against the resulting key and replace key and transform.

    Example:
        >>> tf_weight_name_to_key("tf_bert_for_masked_lm/mlm___cls/predictions/transform/dense/kernel:0")
        ('cls.predictions.transform.dense.weight', 'kernel')
        >>> tf_weight_name_to_key("bert/encoder/layer_._1/output/LayerNorm/gamma:0", scoped=False)
        ('bert.encoder.layer.1.output.LayerNorm.weight', 'identity')
    """
    parts = [part for part in _DEVICE_SUFFIX.sub("", name).split("/") if part]
    if not parts:
        raise ValueError(f"{name!r} is not a Keras weight name")
    parts = [part.rpartition("___")[2] for part in parts[:-1]] + parts[-1:]
    parts = [piece for part in parts for piece in part.split("_._") if piece]
    if scoped and len(parts) > 1:
        parts = parts[1:]
    leaf, transform = V4_TF_LEAVES.get(parts[-1], (parts[-1], IDENTITY))
    key = ".".join([*parts[:-1], leaf])
    for override in overrides:
        renamed = override.match(key)
        if renamed is not None:
            return renamed, override.transform
    return key, transform


class H5Reader(TensorReader):
    """The `CheckpointReader` interface over a transformers v4 `tf_model.h5` (or its index and shards).

    Opening reads only the HDF5 attributes and dataset headers (names, shapes, dtypes) of every shard; `get(key)`
    reads one dataset and returns it as a NumPy array in canonical (PyTorch) layout. Weights a model lists twice
    (a tied embedding under both of its layers) are served once. Errors name the file and the weight: a file that
    is not HDF5 or is truncated, a whole Keras model (its config is never deserialized), a weight linked to another
    file, an unsupported dtype, a dataset holding fewer bytes than its shape needs. Needs `h5py` (installed with
    TensorFlow).

    Example:
        >>> import h5py, numpy as np, tempfile, os
        >>> from pretrained.checkpoint import H5Reader, checkpoint_from_file
        >>> path = os.path.join(tempfile.mkdtemp(), "tf_model.h5")
        >>> with h5py.File(path, "w") as f:  # the layout Keras 2 / transformers v4 wrote
        ...     f["classifier/tf_model/classifier/kernel:0"] = np.ones((4, 2), np.float32)
        ...     f.attrs["layer_names"] = [b"classifier"]
        ...     f["classifier"].attrs["weight_names"] = [b"tf_model/classifier/kernel:0"]
        >>> with H5Reader(checkpoint_from_file(path)) as reader:
        ...     reader.keys(), reader.info("classifier.weight").shape, reader.get("classifier.weight").shape
        (['classifier.weight'], (2, 4), (2, 4))
    """

    def __init__(self, checkpoint: CheckpointFiles, *, overrides: Iterable[LayoutOverride] = ()) -> None:
        self.checkpoint = checkpoint
        self._infos: dict[str, TensorInfo] = {}
        self._sources: dict[str, tuple[Path, str, str]] = {}  # key -> (file, dataset path, transform)
        self._files: dict[Path, Any] = {}
        overrides = list(overrides)
        h5py = import_package("h5py", checkpoint.files[0], needed_for="reading a transformers v4 tf_model.h5",
                              install="h5py (it comes with 'pretrained[tf]')")
        try:
            for path in checkpoint.files:
                handle = self._files[path] = _open(h5py, path)
                for dataset_path, weight_name, scoped in _weights_of(h5py, handle, path):
                    key, transform = tf_weight_name_to_key(weight_name, scoped=scoped, overrides=overrides)
                    self._add(h5py, _dataset(handle, path, dataset_path), path, dataset_path, key, transform)
            self._check_index(overrides)
        except BaseException:
            self.close()
            raise

    def _add(self, h5py: Any, dataset: Any, path: Path, dataset_path: str, key: str, transform: str) -> None:
        _check_dataset(h5py, dataset, path, dataset_path)
        dtype = np.dtype(dataset.dtype)
        shape = canonical_shape(dataset.shape, transform)
        info = TensorInfo(key, dtype.name, shape, path, int(np.prod(shape, dtype=np.int64)) * dtype.itemsize)
        known = self._infos.get(key)
        if known is not None:  # one Keras variable saved under two layers (v4's MLM head lists the embeddings too)
            if (known.dtype, known.shape) != (info.dtype, info.shape):
                first = self._sources[key][1]
                raise CheckpointError(f"{path}: weights {first!r} and {dataset_path!r} both map to {key!r} but hold "
                                      f"{known.dtype}{list(known.shape)} and {info.dtype}{list(info.shape)}")
            return
        self._infos[key] = info
        self._sources[key] = (path, dataset_path, transform)

    def _check_index(self, overrides: list[LayoutOverride]) -> None:
        """Every weight a sharded checkpoint's index names lies in the shard it names."""
        for name, shard in (self.checkpoint.weight_map or {}).items():
            key, _ = tf_weight_name_to_key(name, overrides=overrides)
            if key not in self._infos:
                raise CheckpointError(f"{self.checkpoint.index_path}: weight {name!r} is mapped to {shard} but no "
                                      "shard holds it")
            if self._infos[key].file.name != Path(shard).name:
                raise CheckpointError(f"{self.checkpoint.index_path}: weight {name!r} is mapped to {shard} but "
                                      f"stored in {self._infos[key].file.name}")

    def get(self, key: str) -> np.ndarray:
        """Read one weight as a C-contiguous NumPy array in canonical layout and native byte order."""
        self.info(key)
        path, dataset_path, transform = self._sources[key]
        try:
            array = np.asarray(self._files[path][dataset_path][()])
        except Exception as exc:  # h5py raises OSError / RuntimeError / KeyError for damaged data
            raise CheckpointError(f"{path}: cannot read weight {dataset_path!r} ({type(exc).__name__}: {exc}); "
                                  "the file is truncated or corrupt") from exc
        array = array.astype(array.dtype.newbyteorder("="), copy=False)
        return np.ascontiguousarray(to_canonical(array, transform))

    def close(self) -> None:
        for handle in self._files.values():
            handle.close()
        self._files.clear()


def _open(h5py: Any, path: Path) -> Any:
    try:
        return h5py.File(path, "r")
    except FileNotFoundError as exc:
        raise CheckpointError(f"{path}: checkpoint file does not exist") from exc
    except Exception as exc:  # OSError "truncated file", "file signature not found", ...
        raise CheckpointError(f"{path}: not a readable HDF5 (tf_model.h5) file: {exc}") from exc


def _weights_of(h5py: Any, handle: Any, path: Path) -> list[tuple[str, str, bool]]:
    """`(dataset path, weight name, scoped)` of every weight the file lists, in its order."""
    if "model_config" in handle.attrs:
        raise CheckpointError(
            f"{path}: a whole Keras model (it has a 'model_config'), not a weights file; pretrained never "
            "deserializes a Keras model config (it can hold code, e.g. Lambda layers). Save the weights only, with "
            "transformers v4's save_pretrained or Keras' save_weights, or load the model with Keras if you trust it."
        )
    layer_names = _string_list(handle, "layer_names", path)
    if not layer_names:
        raise CheckpointError(f"{path}: no 'layer_names' attribute: not a Keras 2 weights file written by "
                              "transformers v4 (save_pretrained / save_weights)")
    groups = [name for name in layer_names if name != TOP_LEVEL_GROUP]
    if TOP_LEVEL_GROUP in handle:
        groups.append(TOP_LEVEL_GROUP)
    found: list[tuple[str, str, bool]] = []
    for layer in groups:
        entry = handle.get(layer)
        if isinstance(entry, h5py.Dataset):  # a shard: the dataset itself, named without the model's scope
            found.append((layer, layer, False))
        elif isinstance(entry, h5py.Group):
            for weight in _string_list(entry, "weight_names", path):
                found.append((f"{layer}/{weight}", weight, True))
        else:
            raise CheckpointError(f"{path}: 'layer_names' lists {layer!r} but the file has no such group or dataset "
                                  "(truncated or corrupt file)")
    return found


def _dataset(handle: Any, path: Path, dataset_path: str) -> Any:
    try:
        dataset = handle.get(dataset_path)
    except Exception as exc:  # a dangling link, a damaged group
        raise CheckpointError(f"{path}: cannot open weight {dataset_path!r} ({type(exc).__name__}: {exc})") from exc
    if dataset is None:
        raise CheckpointError(f"{path}: weight {dataset_path!r} is listed in 'weight_names' but missing from the "
                              "file (truncated or corrupt file)")
    return dataset


def _string_list(node: Any, name: str, path: Path) -> list[str]:
    """A list-of-strings attribute, which Keras 2 splits into `name0`, `name1`, ... when it is too large."""
    if name in node.attrs:
        chunks = [node.attrs[name]]
    else:
        chunks = []
        while f"{name}{len(chunks)}" in node.attrs:
            chunks.append(node.attrs[f"{name}{len(chunks)}"])
    values: list[str] = []
    for chunk in chunks:
        for item in np.atleast_1d(np.asarray(chunk)):
            if isinstance(item, bytes):
                item = item.decode("utf-8", errors="replace")
            if not isinstance(item, str):
                raise CheckpointError(f"{path}: attribute {name!r} of {node.name!r} holds {item!r}, not a name")
            values.append(item)
    return values


def _check_dataset(h5py: Any, dataset: Any, path: Path, dataset_path: str) -> None:
    where = f"{path}: weight {dataset_path!r}"
    if not isinstance(dataset, h5py.Dataset):
        raise CheckpointError(f"{where} is not a dataset (found a {type(dataset).__name__})")
    if os.path.abspath(dataset.file.filename) != os.path.abspath(path):
        raise CheckpointError(f"{where} is a link to another file ({dataset.file.filename}); refused")
    if dataset.is_virtual or dataset.external:
        raise CheckpointError(f"{where} stores its data outside the file (virtual or external dataset); refused")
    dtype = np.dtype(dataset.dtype)
    if dtype.newbyteorder("=").name not in DTYPE_CODES or dtype.fields is not None:
        raise CheckpointError(f"{where} has dtype {dtype}, not a tensor dtype (known: {', '.join(DTYPE_CODES)})")
    needed = int(np.prod(dataset.shape, dtype=np.int64)) * dtype.itemsize
    if dataset.compression is None and dataset.chunks is None and dataset.id.get_storage_size() < needed:
        raise CheckpointError(f"{where} of shape {list(dataset.shape)} needs {needed} bytes but the file stores "
                              f"{dataset.id.get_storage_size()} (truncated or corrupt file)")
