"""Legacy transformers v4 weight files (`pytorch_model.bin`, `flax_model.msgpack`, `tf_model.h5`), read for
migration. They live in [`pretrained.checkpoint`][pretrained.checkpoint] beside the canonical reader (every
`from_pretrained` reads them without a flag); this module keeps the import path `pretrained.legacy`.

Example:
    >>> from pretrained.legacy import load_bin_file, read_flax_msgpack
"""

from __future__ import annotations

from .checkpoint._h5 import (
    H5Reader as H5Reader,
)
from .checkpoint._h5 import (
    tf_weight_name_to_key as tf_weight_name_to_key,
)
from .checkpoint._legacy import (
    MsgpackReader as MsgpackReader,
)
from .checkpoint._legacy import (
    linen_to_canonical as linen_to_canonical,
)
from .checkpoint._legacy import (
    load_bin_file as load_bin_file,
)
from .checkpoint._legacy import (
    read_flax_msgpack as read_flax_msgpack,
)
from .checkpoint._legacy import (
    write_bin_shard as write_bin_shard,
)
