"""Loading a PyTorch model straight into DTensors over a `DeviceMesh` (tensor parallel), and gathering them to save.

`from_pretrained(..., device_mesh=mesh, tp_plan="auto" | {module pattern: "colwise" | "rowwise" | "replicate"})`
(`"auto"`: the model's `_tp_plan`, transformers v4's spelling) turns the planned linear layers' parameters into
DTensors sharded over the mesh, each rank reading only the byte runs of its own slice (the plan is the core's
[`plan_shards`][pretrained.modeling_base.plan_shards]); the layers then get torch's `ColwiseParallel` /
`RowwiseParallel` hooks, so a forward pass on the sharded model equals the plain one. Without `device_mesh`, a
`tp_plan` uses a 1-D mesh over the initialised process group. `device_mesh=` alone shards every parameter with
FSDP2 (`fully_shard` on each `_no_split_modules` block and on the model), each rank reading only its rows.

Example:
    >>> from pretrained.torch.distributed import parallel_styles
    >>> from pretrained.modeling_base import TensorSplit
    >>> import torch
    >>> splits = {"fc.weight": TensorSplit("fc.weight", (4, 2), (("tp",), ()), "fc")}
    >>> {name: type(style).__name__ for name, style in parallel_styles(torch.nn.Sequential(), splits).items()}
    {'fc': 'ColwiseParallel'}
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from ..checkpoint import StreamedTensor
from ..errors import ConfigError
from ..modeling_base import LoadContext, ShardRules, TensorSplit, tp_plan_rules
from ..utils import logging

logger = logging.get_logger(__name__)


def resolve_mesh(device_mesh: Any, tp_plan: Any) -> Any:
    """The `DeviceMesh` of a load: the given one, or for a `tp_plan` alone a 1-D mesh ("tp") over the default
    process group."""
    from torch.distributed.device_mesh import DeviceMesh, init_device_mesh

    if device_mesh is None:
        if not torch.distributed.is_available() or not torch.distributed.is_initialized():
            raise ConfigError("from_pretrained(tp_plan=...) needs device_mesh= or an initialised process group "
                              "(torch.distributed.init_process_group, e.g. under torchrun)")
        device = "cuda" if torch.cuda.is_available() else "cpu"
        return init_device_mesh(device, (torch.distributed.get_world_size(),), mesh_dim_names=("tp",))
    if not isinstance(device_mesh, DeviceMesh):
        raise ConfigError(f"device_mesh must be a torch.distributed.DeviceMesh, got {type(device_mesh).__name__}")
    return device_mesh


def axis_names(mesh: Any) -> tuple[str, ...]:
    """The mesh's dimension names (`dim0`, `dim1`, ... where it has none)."""
    return tuple(mesh.mesh_dim_names or (f"dim{i}" for i in range(mesh.ndim)))


def shard_rules(model: nn.Module, keys: list[str], load: LoadContext) -> ShardRules | None:
    """The `ShardRules` of a load's `device_mesh=` / `tp_plan=` options (None for a plain load). The plan's
    module patterns may omit the base model's prefix; a tensor-parallel plan splits over the mesh's last axis."""
    options = load.options.backend
    if options.get("device_mesh") is None and options.get("tp_plan") is None:
        return None
    mesh = resolve_mesh(options.get("device_mesh"), options.get("tp_plan"))
    load.state["mesh"] = mesh
    tp_plan = options.get("tp_plan")
    if tp_plan is None:
        return fsdp_rules(model, keys, mesh, load)
    if tp_plan == "auto":
        tp_plan = getattr(type(model), "_tp_plan", None)
        if not tp_plan:
            raise ConfigError(f"tp_plan='auto': {type(model).__name__} declares no _tp_plan; pass tp_plan={{module "
                              "pattern: 'colwise' | 'rowwise' | 'replicate'}}")
    if not isinstance(tp_plan, Mapping):
        raise ConfigError(f"tp_plan must be 'auto' or a dict of module pattern -> style, got {tp_plan!r}")
    names = axis_names(mesh)
    embeddings = [name for name, module in model.named_modules() if isinstance(module, nn.Embedding)]
    rules = tp_plan_rules(tp_plan, keys, axis=names[-1], prefix=getattr(model, "base_model_prefix", ""),
                          embeddings=embeddings)
    return ShardRules(rules, dict(zip(names, mesh.shape)), "tp_plan")


def fsdp_rules(model: nn.Module, keys: list[str], mesh: Any, load: LoadContext) -> ShardRules:
    """`device_mesh=` alone: FSDP2's layout, every parameter split on dimension 0 over the (1-D) mesh as
    `torch.chunk` splits it."""
    if mesh.ndim != 1:
        raise ConfigError(f"device_mesh without tp_plan shards parameters with FSDP2 over a 1-D mesh; this one has "
                          f"the dimensions {axis_names(mesh)}: pass mesh[...] of one dimension, or a tp_plan")
    load.state["fsdp"] = True
    parameters = {name for name, p in model.named_parameters(remove_duplicate=False) if p.ndim}
    names = axis_names(mesh)
    rules = [(f"^{re.escape(key)}$", names) for key in keys if key in parameters]
    return ShardRules(rules, dict(zip(names, mesh.shape)), "device_mesh", uneven=True)


def fully_shard_empty(model: nn.Module, mesh: Any) -> None:
    """Apply FSDP2's `fully_shard` to each `_no_split_modules` block and the model (on the meta device), then
    allocate each rank's shards (uninitialised: the checkpoint fills them); buffers keep their values."""
    from torch.distributed.fsdp import fully_shard

    buffers = {name: buffer for name, buffer in model.named_buffers()}
    blocks = set(getattr(model, "_no_split_modules", None) or ())
    for module in model.modules():
        if module is not model and type(module).__name__ in blocks:
            fully_shard(module, mesh=mesh)
    fully_shard(model, mesh=mesh)
    model.to_empty(device=mesh.device_type)
    for name, buffer in buffers.items():
        owner, _, leaf = name.rpartition(".")
        model.get_submodule(owner)._buffers[leaf] = buffer


def local_dtensor(tensor: StreamedTensor, split: TensorSplit, mesh: Any, dtype: torch.dtype) -> torch.Tensor:
    """This rank's slice of `tensor` (only its bytes read) as a DTensor of the global shape."""
    from .loading import as_torch

    DTensor, Replicate, Shard = _dtensor_api()

    names = axis_names(mesh)
    coords = dict(zip(names, mesh.get_coordinate()))
    local = as_torch(tensor.read(split.index(coords, dict(zip(names, mesh.shape))))).to(dtype)
    placements = []
    for name in names:
        dims = [dim for dim, axes in enumerate(split.axes) if name in axes]
        placements.append(Shard(dims[0]) if dims else Replicate())
    stride = torch.empty(split.shape, device="meta").stride()
    return DTensor.from_local(local, mesh, placements, run_check=False, shape=torch.Size(split.shape), stride=stride)


def write_local(tensor: StreamedTensor, split: TensorSplit, mesh: Any, parameter: torch.Tensor) -> None:
    """Copy this rank's rows of `tensor` (only their bytes read) into an FSDP2-sharded parameter."""
    from .loading import as_torch

    names = axis_names(mesh)
    rows = tensor.read(split.index(dict(zip(names, mesh.get_coordinate())), dict(zip(names, mesh.shape))))
    with torch.no_grad():
        parameter.to_local().copy_(as_torch(rows))


def parallel_styles(model: nn.Module, splits: Mapping[str, TensorSplit]) -> dict[str, Any]:
    """`{module name: ColwiseParallel() | RowwiseParallel()}` for the modules whose weights `splits` splits."""
    from torch.distributed.tensor.parallel import ColwiseParallel, RowwiseParallel

    modules = dict(model.named_modules())
    styles = {}
    for key, split in splits.items():
        owner, _, leaf = key.rpartition(".")
        if leaf != "weight":
            continue
        output_split = bool(split.axes[1] if isinstance(modules.get(owner), nn.Embedding) else split.axes[0])
        styles[owner] = ColwiseParallel() if output_split else RowwiseParallel()
    return styles


def parallelize(model: nn.Module, load: LoadContext) -> None:
    """Give the tensor-parallel layers torch's input / output hooks (their parameters are DTensors already)."""
    mesh = load.state.get("mesh")
    if mesh is None or not load.shards or load.state.get("fsdp"):
        return
    from torch.distributed.tensor.parallel import parallelize_module

    parallelize_module(model, mesh, parallel_styles(model, load.shards))


def gathered(tensor: torch.Tensor) -> torch.Tensor:
    """`tensor` whole on this rank: a DTensor is all-gathered (every rank must call this, as `save_pretrained`)."""
    dtensor = _dtensor_api()[0]
    return tensor.full_tensor() if dtensor is not None and isinstance(tensor, dtensor) else tensor


def is_distributed(model: nn.Module) -> bool:
    """True when some parameter of `model` is a DTensor (saving then gathers collectively)."""
    dtensor = _dtensor_api()[0]
    return dtensor is not None and any(isinstance(p, dtensor) for p in model.parameters())


def _dtensor_api() -> tuple[Any, Any, Any]:
    """`(DTensor, Replicate, Shard)` from `torch.distributed.tensor` (torch >= 2.4), or from its earlier private home
    `torch.distributed._tensor`; `(None, None, None)` where torch has no DTensor."""
    try:
        from torch.distributed.tensor import DTensor, Replicate, Shard
    except ImportError:
        try:
            from torch.distributed._tensor import DTensor, Replicate, Shard
        except ImportError:
            return None, None, None
    return DTensor, Replicate, Shard


__all__ = ["fsdp_rules", "fully_shard_empty", "gathered", "is_distributed", "local_dtensor", "parallelize",
           "resolve_mesh", "shard_rules", "write_local"]
