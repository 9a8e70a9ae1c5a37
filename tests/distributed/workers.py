"""Worker scenarios for tests/distributed: `python workers.py <scenario> <directory>`, one process per rank (the
launcher sets RANK / WORLD_SIZE / MASTER_ADDR / MASTER_PORT). Each writes `rank<r>.json` into the directory. The
directory holds `ckpt/` (a small BERT checkpoint) and `inputs.npy`, written by the test."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np

SCENARIO, DIRECTORY = sys.argv[1], Path(sys.argv[2])
RANK, WORLD = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])


def bytes_counter() -> list[int]:
    """Record the bytes each CheckpointReader read when it closes."""
    from pretrained.checkpoint import CheckpointReader

    reads: list[int] = []
    close = CheckpointReader.close

    def counting_close(self: CheckpointReader) -> None:
        reads.append(self.bytes_read)
        close(self)

    CheckpointReader.close = counting_close
    return reads


def torch_tp() -> dict:
    import torch
    import torch.distributed as dist
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.tensor import DTensor

    from pretrained.models.bert import BertModel

    dist.init_process_group("gloo")
    mesh = init_device_mesh("cpu", (WORLD,), mesh_dim_names=("tp",))
    reads = bytes_counter()
    model = BertModel.from_pretrained(DIRECTORY / "ckpt", device_mesh=mesh, tp_plan="auto")
    weight = model.encoder.layer[0].intermediate.dense.weight
    ids = torch.from_numpy(np.load(DIRECTORY / "inputs.npy"))
    with torch.no_grad():
        hidden = model(ids).last_hidden_state
    model.save_pretrained(DIRECTORY / "saved", is_main_process=RANK == 0)
    dist.barrier()
    result = {"dtensor": isinstance(weight, DTensor), "local_shape": list(weight.to_local().shape),
              "bytes_read": reads[-1], "hidden": hidden.numpy().tolist()}
    if WORLD == 4:
        try:
            BertModel.from_pretrained(DIRECTORY / "odd", device_mesh=mesh, tp_plan="auto")
        except Exception as exc:  # noqa: BLE001 - the outcome compared by the test
            result["odd"] = {"raises": type(exc).__name__, "message": str(exc), "bytes_read": reads[-1]}
    dist.destroy_process_group()
    return result


def torch_fsdp() -> dict:
    import torch
    import torch.distributed as dist
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.tensor import DTensor

    from pretrained.models.bert import BertModel

    dist.init_process_group("gloo")
    mesh = init_device_mesh("cpu", (WORLD,), mesh_dim_names=("dp",))
    reads = bytes_counter()
    model = BertModel.from_pretrained(DIRECTORY / "ckpt", device_mesh=mesh)
    weight = model.embeddings.word_embeddings.weight
    with torch.no_grad():
        hidden = model(torch.from_numpy(np.load(DIRECTORY / "inputs.npy"))).last_hidden_state
    model.save_pretrained(DIRECTORY / "saved", is_main_process=RANK == 0)
    dist.barrier()
    dist.destroy_process_group()
    return {"dtensor": isinstance(weight, DTensor), "placements": str(weight.placements),
            "local_shape": list(weight.to_local().shape), "bytes_read": reads[-1], "hidden": hidden.numpy().tolist(),
            "class": type(model).__name__}


def flax_state(model, inputs) -> dict:
    import jax

    hidden = model(inputs).last_hidden_state if inputs is not None else None
    kernel = model.encoder.layer[0].intermediate.dense.kernel.get_value()
    shards = sorted({tuple(tuple(s.indices(n)[:2]) for s, n in zip(shard.index, kernel.shape))
                     for shard in kernel.addressable_shards})
    return {"spec": str(kernel.sharding.spec), "devices": len(jax.devices()), "local_slices": shards,
            "hidden": None if hidden is None else np.asarray(hidden).tolist()}


def flax_host_devices() -> dict:
    import jax
    from jax.sharding import Mesh

    from pretrained.models.bert import FlaxBertModel

    reads = bytes_counter()
    mesh = Mesh(np.array(jax.devices()).reshape(2, 4), ("dp", "tp"))
    model = FlaxBertModel.from_pretrained(DIRECTORY / "ckpt", mesh=mesh)
    result = {**flax_state(model, np.load(DIRECTORY / "inputs.npy")), "bytes_read": reads[-1]}
    model.save_pretrained(DIRECTORY / "saved")
    try:
        FlaxBertModel.from_pretrained(DIRECTORY / "odd", mesh=mesh)
    except Exception as exc:  # noqa: BLE001 - the outcome compared by the test
        result["odd"] = {"raises": type(exc).__name__, "message": str(exc), "bytes_read": reads[-1]}
    return result


def flax_processes() -> dict:
    import jax

    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(f"127.0.0.1:{os.environ['MASTER_PORT']}", num_processes=WORLD, process_id=RANK)
    from jax.sharding import Mesh

    from pretrained.models.bert import FlaxBertModel

    reads = bytes_counter()
    mesh = Mesh(np.array(jax.devices()), ("tp",))
    model = FlaxBertModel.from_pretrained(DIRECTORY / "ckpt", mesh=mesh)
    result = {**flax_state(model, None), "bytes_read": reads[-1], "process": jax.process_index()}
    model.save_pretrained(DIRECTORY / "saved", is_main_process=RANK == 0)
    jax.distributed.shutdown()
    return result


def tf_mirrored() -> dict:
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    from pretrained.models.bert import TFBertModel

    reads = bytes_counter()
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    with strategy.scope():
        model = TFBertModel.from_pretrained(DIRECTORY / "ckpt")
    variable = model.encoder.layer[0].intermediate.dense.kernel
    inputs = tf.constant(np.load(DIRECTORY / "inputs.npy"))
    per_replica = strategy.run(tf.function(lambda x: model(x).last_hidden_state), args=(inputs,))
    hidden = [np.asarray(value).tolist() for value in strategy.experimental_local_results(per_replica)]
    model.save_pretrained(DIRECTORY / "saved")
    return {"mirrored": isinstance(variable.value, tf.distribute.DistributedValues), "bytes_read": reads[-1],
            "hidden": hidden}


if __name__ == "__main__":
    result = globals()[SCENARIO]()
    (DIRECTORY / f"rank{RANK}.json").write_text(json.dumps(result))
