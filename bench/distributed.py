"""Sharded-load benchmark: BERT-large loaded at 1, 2 and 4 ranks; per rank, the bytes the checkpoint reader read
(`CheckpointReader.bytes_read`) and the peak RSS growth over the RSS after imports, against the rank's share (the
bytes of the parameters it holds).

    python bench/distributed.py [--modes torch-fsdp,torch-tp,flax] [--ranks 1,2,4]

Modes: `torch-fsdp` (`device_mesh=` alone: every parameter split, FSDP2), `torch-tp` (`device_mesh=` +
`tp_plan="auto"`: BERT's MLP split, the rest replicated), `flax` (`mesh=` over one CPU device per process,
`jax.distributed.initialize`; BERT's `_partition_rules`: attention and MLP split). Ranks are processes on this
machine (gloo / jax CPU collectives). The checkpoint is bench/load.py's (`bench/.work/bert-large`, made once).
Results: a Markdown table on stdout and `bench/.work/results-distributed.json`.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
from load import WORK, PeakRSS, make_checkpoints


def rank_main(mode: str, checkpoint: str) -> None:
    """One rank: load, then print one JSON line (bytes read, RSS growth, share)."""
    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    reads: list[int] = []
    if mode.startswith("torch"):
        import torch.distributed as dist
        from torch.distributed.device_mesh import init_device_mesh
        from torch.distributed.tensor import DTensor

        from pretrained.checkpoint import CheckpointReader
        from pretrained.models.bert import BertModel

        dist.init_process_group("gloo")
        mesh = init_device_mesh("cpu", (world,), mesh_dim_names=("tp",))
        options = {"device_mesh": mesh, **({"tp_plan": "auto"} if mode == "torch-tp" else {})}
    else:
        import jax

        jax.config.update("jax_cpu_collectives_implementation", "gloo")
        jax.distributed.initialize(f"127.0.0.1:{os.environ['MASTER_PORT']}", num_processes=world, process_id=rank)
        from jax.sharding import Mesh

        from pretrained.checkpoint import CheckpointReader
        from pretrained.models.bert import FlaxBertModel

        options = {"mesh": Mesh(np.array(jax.devices()), ("tp",))}
    close = CheckpointReader.close

    def counting_close(self: CheckpointReader) -> None:
        reads.append(self.bytes_read)
        close(self)

    CheckpointReader.close = counting_close
    with PeakRSS() as rss:
        if mode.startswith("torch"):
            model = BertModel.from_pretrained(checkpoint, **options)
            share = sum((t.to_local() if isinstance(t, DTensor) else t).nbytes
                        for t in [*model.parameters(), *model.buffers()])
        else:
            from flax import nnx

            model = FlaxBertModel.from_pretrained(checkpoint, **options)
            share = sum(shard.data.nbytes for _, v in nnx.to_flat_state(nnx.state(model, nnx.Param))
                        for shard in v.get_value().addressable_shards)
    print(json.dumps({"rank": rank, "bytes_read": reads[-1], "rss_growth": rss.growth(), "share": share}))


def run(mode: str, world: int, checkpoint: Path) -> list[dict]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = str(sock.getsockname()[1])
    env = {**os.environ, "WORLD_SIZE": str(world), "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": port,
           "JAX_PLATFORMS": "cpu", "OMP_NUM_THREADS": "1"}
    ranks = [subprocess.Popen([sys.executable, __file__, "--rank", mode, str(checkpoint)], stdout=subprocess.PIPE,
                              text=True, env={**env, "RANK": str(rank)}) for rank in range(world)]
    results = []
    for process in ranks:
        out, _ = process.communicate()
        if process.returncode:
            raise SystemExit(f"{mode} at {world} ranks failed (exit {process.returncode})")
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--modes", default="torch-fsdp,torch-tp,flax")
    parser.add_argument("--ranks", default="1,2,4")
    parser.add_argument("--rank", nargs=2, metavar=("MODE", "CHECKPOINT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rank:
        rank_main(*args.rank)
        return
    checkpoint = make_checkpoints(quick=False)["bert-large"]
    rows = []
    print("| mode | ranks | read / rank (MB) | RSS growth / rank (MB) | share / rank (MB) | RSS / share |")
    print("|---|---|---|---|---|---|")
    for mode in args.modes.split(","):
        for world in [int(n) for n in args.ranks.split(",")]:
            results = run(mode, world, checkpoint)
            rows.append({"mode": mode, "ranks": world, "results": results})
            mb = 1e6
            read = max(r["bytes_read"] for r in results) / mb
            rss = max(r["rss_growth"] for r in results) / mb
            share = max(r["share"] for r in results) / mb
            print(f"| {mode} | {world} | {read:.0f} | {rss:.0f} | {share:.0f} | {rss / share:.2f} |", flush=True)
    (WORK / "results-distributed.json").write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
