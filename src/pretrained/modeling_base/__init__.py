"""THE load / save pipeline, once for every backend: [`PreTrainedBase`][pretrained.modeling_base.PreTrainedBase]
owns `from_pretrained`, `save_pretrained`, `push_to_hub`, `load_canonical_state`, `canonical_state_dict`,
resizing and pruning; each backend base class (`pretrained.torch`, `pretrained.tf`, `pretrained.flax`) supplies a
small set of hooks. Importing this package imports no framework.

Example:
    >>> from pretrained.modeling_base import PreTrainedBase, parse_load_options
    >>> sorted(name for name in vars(PreTrainedBase) if name.startswith("_") and not name.startswith("__")
    ...        and callable(getattr(PreTrainedBase, name)))[:4]
    ['_build_uninitialised', '_canonical_variables', '_ensure_built', '_finish_load']
"""

from __future__ import annotations

from ._base import PreTrainedBase as PreTrainedBase
from ._load import LoadContext as LoadContext
from ._load import as_reader as as_reader
from ._load import check_config_class as check_config_class
from ._load import init_config as init_config
from ._load import init_keywords as init_keywords
from ._load import keeps_fp32 as keeps_fp32
from ._load import load_config as load_config
from ._load import open_reader as open_reader
from ._load import source_name as source_name
from ._model_api import ModelApiMixin as ModelApiMixin
from ._model_api import chunk_count as chunk_count
from ._model_api import padding_warning as padding_warning
from ._options import COMPAT_NOOPS as COMPAT_NOOPS
from ._options import LOAD_OPTIONS as LOAD_OPTIONS
from ._options import SAVE_OPTIONS as SAVE_OPTIONS
from ._options import LoadOptions as LoadOptions
from ._options import parse_load_options as parse_load_options
from ._save import canonical_architecture as canonical_architecture
from ._save import save_model_files as save_model_files
from ._sharding import ShardRules as ShardRules
from ._sharding import TensorSplit as TensorSplit
from ._sharding import plan_shards as plan_shards
from ._sharding import tp_plan_rules as tp_plan_rules
