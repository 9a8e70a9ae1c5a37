"""Framework-free checkpoint I/O: file names, shard plans, index files, streaming reads and atomic writes.

The canonical checkpoint is `config.json` + `model.safetensors` (or `model-0000i-of-0000N.safetensors` shards and
`model.safetensors.index.json`), keys in PyTorch `state_dict` names, tensors in PyTorch layout, safetensors metadata
`{"format": "pt"}`. Every backend reads and writes it through this module; none of it imports a framework.

Example:
    >>> import numpy as np, tempfile
    >>> from pretrained.checkpoint import CheckpointReader, find_weights, write_checkpoint, HostTensor
    >>> d = tempfile.mkdtemp()
    >>> _ = write_checkpoint(d, {"w": HostTensor.from_numpy(np.ones((2, 3), np.float32))})
    >>> with CheckpointReader(find_weights(d)) as reader:
    ...     [(k, v.shape) for k, v in reader.iter_tensors()]
    [('w', (2, 3))]
"""

from __future__ import annotations

from ._files import (
    CheckpointFiles as CheckpointFiles,
)
from ._files import (
    checkpoint_from_file as checkpoint_from_file,
)
from ._files import (
    find_weights as find_weights,
)
from ._files import (
    is_index_name as is_index_name,
)
from ._files import (
    kind_of as kind_of,
)
from ._files import (
    load_index as load_index,
)
from ._files import (
    missing_weights_hint as missing_weights_hint,
)
from ._files import (
    sha256_file as sha256_file,
)
from ._files import (
    verify_checkpoint as verify_checkpoint,
)
from ._files import (
    weight_candidates as weight_candidates,
)
from ._format import (
    CONFIG_NAME as CONFIG_NAME,
)
from ._format import (
    DEFAULT_MAX_SHARD_SIZE as DEFAULT_MAX_SHARD_SIZE,
)
from ._format import (
    DTYPE_CODES as DTYPE_CODES,
)
from ._format import (
    DTYPES as DTYPES,
)
from ._format import (
    FLAX_WEIGHTS_INDEX_NAME as FLAX_WEIGHTS_INDEX_NAME,
)
from ._format import (
    FLAX_WEIGHTS_NAME as FLAX_WEIGHTS_NAME,
)
from ._format import (
    FLOAT_DTYPES as FLOAT_DTYPES,
)
from ._format import (
    MAX_HEADER_BYTES as MAX_HEADER_BYTES,
)
from ._format import (
    SAFE_WEIGHTS_INDEX_NAME as SAFE_WEIGHTS_INDEX_NAME,
)
from ._format import (
    SAFE_WEIGHTS_NAME as SAFE_WEIGHTS_NAME,
)
from ._format import (
    TF2_WEIGHTS_INDEX_NAME as TF2_WEIGHTS_INDEX_NAME,
)
from ._format import (
    TF2_WEIGHTS_NAME as TF2_WEIGHTS_NAME,
)
from ._format import (
    WEIGHTS_INDEX_NAME as WEIGHTS_INDEX_NAME,
)
from ._format import (
    WEIGHTS_NAME as WEIGHTS_NAME,
)
from ._format import (
    TensorInfo as TensorInfo,
)
from ._format import (
    add_variant as add_variant,
)
from ._format import (
    natural_key as natural_key,
)
from ._format import (
    parse_size as parse_size,
)
from ._format import (
    read_safetensors_header as read_safetensors_header,
)
from ._format import (
    shard_file_name as shard_file_name,
)
from ._h5 import H5Reader as H5Reader
from ._h5 import tf_weight_name_to_key as tf_weight_name_to_key
from ._legacy import MsgpackReader as MsgpackReader
from ._memory import MemoryReader as MemoryReader
from ._memory import dtype_name_of as dtype_name_of
from ._memory import to_numpy as to_numpy
from ._open import open_checkpoint as open_checkpoint
from ._reader import CheckpointReader as CheckpointReader
from ._reader import TensorReader as TensorReader
from ._serialize import write_safetensors as write_safetensors
from ._slices import byte_runs as byte_runs
from ._slices import full_index as full_index
from ._slices import read_slice as read_slice
from ._stream import ALIGN as ALIGN
from ._stream import StreamedTensor as StreamedTensor
from ._stream import TensorStream as TensorStream
from ._stream import aligned_empty as aligned_empty
from ._stream import file_order as file_order
from ._tensors import HostTensor as HostTensor
from ._tensors import LazyTensor as LazyTensor
from ._tensors import copy_banded as copy_banded
from ._writer import (
    plan_shards as plan_shards,
)
from ._writer import (
    remove_stale_weights as remove_stale_weights,
)
from ._writer import (
    write_checkpoint as write_checkpoint,
)
from ._writer import (
    write_json_atomic as write_json_atomic,
)
