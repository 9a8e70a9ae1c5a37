"""Loading a Flax NNX model straight into arrays sharded over a `jax.sharding.Mesh`, and gathering them to save.

`from_pretrained(..., mesh=mesh, partition_rules=[(regex, PartitionSpec), ...])` (default: the model's
`_partition_rules`) gives each variable the `NamedSharding` of the first rule whose regex `re.search`es its NNX
path (`encoder/layer/0/intermediate/dense/kernel`; the spec is in the NNX layout), replicated where no rule
matches. Each array is built with `jax.make_array_from_callback`: every process reads only the byte runs of the
slices its own devices hold (the plan is the core's [`plan_shards`][pretrained.modeling_base.plan_shards]).

Example:
    >>> import jax
    >>> from jax.sharding import Mesh, PartitionSpec
    >>> import numpy as np, tempfile
    >>> from pretrained.models.bert import BertConfig, FlaxBertModel
    >>> d = tempfile.mkdtemp()
    >>> FlaxBertModel(BertConfig(vocab_size=16, hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
    ...                          intermediate_size=16)).save_pretrained(d)
    >>> mesh = Mesh(np.array(jax.devices()[:1]), ("tp",))
    >>> model = FlaxBertModel.from_pretrained(d, mesh=mesh, partition_rules=[("intermediate/dense/kernel",
    ...                                                                         PartitionSpec(None, "tp"))])
    >>> model.encoder.layer[0].intermediate.dense.kernel.get_value().sharding.spec
    P(None, 'tp')
"""

from __future__ import annotations

from typing import Any

import jax
import numpy as np
from flax import nnx
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from ..checkpoint import StreamedTensor
from ..errors import ConfigError
from ..layout import CanonicalVariable
from ..modeling_base import LoadContext, ShardRules, TensorSplit
from ._transfer import to_backend
from .variables import PERSISTENT_TYPES


def shard_rules(default_rules: Any, load: LoadContext) -> ShardRules | None:
    """The `ShardRules` of a load's `mesh=` / `partition_rules=` options (None without a mesh)."""
    mesh = load.options.backend.get("mesh")
    rules = load.options.backend.get("partition_rules")
    if mesh is None:
        if rules is not None:
            raise ConfigError("from_pretrained(partition_rules=...) needs mesh= (a jax.sharding.Mesh)")
        return None
    if not isinstance(mesh, Mesh):
        raise ConfigError(f"mesh must be a jax.sharding.Mesh, got {type(mesh).__name__}")
    rules = default_rules if rules is None else rules
    checked = []
    for rule in rules or ():
        if not (isinstance(rule, (tuple, list)) and len(rule) == 2 and isinstance(rule[0], str)):
            raise ConfigError(f"partition_rules: each rule is (regex, PartitionSpec), got {rule!r}")
        checked.append((rule[0], tuple(rule[1])))
    return ShardRules(checked, dict(mesh.shape), "partition_rules",
                      name_of=lambda variable: "/".join(str(part) for part in variable.path))


def write_sharded(variable: CanonicalVariable, tensor: StreamedTensor, split: TensorSplit | None, mesh: Mesh) -> bool:
    """Give `variable` a global array sharded as `split` (replicated when None), its devices' slices read from
    `tensor`. Returns False: the devices may have adopted the read buffers, which must not be reused."""
    spec = PartitionSpec(*split.backend_spec()) if split is not None else PartitionSpec()
    dtype = np.dtype(variable.dtype)
    parts: dict[tuple, np.ndarray] = {}  # devices holding the same slice share one read

    def part(index: tuple[slice, ...]) -> np.ndarray:
        bounds = tuple(tuple(s.indices(size)[:2]) for s, size in zip(index, variable.shape))
        if bounds not in parts:
            local = tuple(b - a for a, b in bounds)
            source = tensor.read(split.canonical_index(bounds)) if split is not None else tensor.array()
            parts[bounds] = to_backend(source, variable.transform, local, dtype)
        return parts[bounds]

    variable.variable.set_value(jax.make_array_from_callback(tuple(variable.shape), NamedSharding(mesh, spec), part))
    return False


def replicate_rest(model: nnx.Module, mesh: Mesh) -> None:
    """Put every persistent leaf that is not on `mesh` yet (initialised, not loaded) on it, replicated."""
    replicated = NamedSharding(mesh, PartitionSpec())
    for _, variable in nnx.to_flat_state(nnx.state(model, PERSISTENT_TYPES)):
        value = variable.get_value()
        if isinstance(getattr(value, "sharding", None), NamedSharding) and value.sharding.mesh == mesh:
            continue
        host = np.asarray(value)
        variable.set_value(jax.make_array_from_callback(host.shape, replicated, lambda index, host=host: host[index]))


def spans_processes(value: Any) -> bool:
    """True for a global array with devices in several processes (reading it out is a collective)."""
    return isinstance(value, jax.Array) and not value.is_fully_addressable


def gathered(value: Any) -> Any:
    """`value` whole on this host: a global array spread over several processes is all-gathered (every process
    must call this, as it must call `save_pretrained`)."""
    if spans_processes(value):
        from jax.experimental import multihost_utils

        return multihost_utils.process_allgather(value, tiled=True)
    return value


def is_distributed(model: nnx.Module) -> bool:
    """True when some variable of `model` spans devices of several processes (saving then gathers collectively)."""
    leaves = [variable.get_value() for _, variable in nnx.to_flat_state(nnx.state(model, PERSISTENT_TYPES))]
    return any(spans_processes(value) for value in leaves)


__all__ = ["gathered", "is_distributed", "replicate_rest", "shard_rules", "spans_processes", "write_sharded"]
