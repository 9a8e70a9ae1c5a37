"""A small BERT checkpoint (and one whose MLP width no mesh here divides) plus inputs, for the distributed tests."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pretrained.checkpoint import CheckpointReader, find_weights

CONFIG = dict(vocab_size=32, hidden_size=16, num_hidden_layers=2, num_attention_heads=4, intermediate_size=32,
              max_position_embeddings=16)


@pytest.fixture(scope="session")
def bert_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`ckpt/` (torch BERT), `odd/` (intermediate_size 30), `inputs.npy`, `reference.npy` (the plain forward)."""
    torch = pytest.importorskip("torch")
    from pretrained.models.bert import BertConfig, BertModel

    root = tmp_path_factory.mktemp("distributed")
    torch.manual_seed(0)
    model = BertModel(BertConfig(**CONFIG)).eval()
    model.save_pretrained(root / "ckpt")
    BertModel(BertConfig(**{**CONFIG, "intermediate_size": 30})).save_pretrained(root / "odd")
    inputs = (np.arange(10).reshape(2, 5) % CONFIG["vocab_size"]).astype(np.int64)
    np.save(root / "inputs.npy", inputs)
    with torch.no_grad():
        np.save(root / "reference.npy", model(torch.from_numpy(inputs)).last_hidden_state.numpy())
    return root


@pytest.fixture
def run_dir(bert_checkpoint: Path, tmp_path: Path) -> Path:
    """A fresh directory holding links to the shared checkpoint files (each run writes its own results)."""
    for name in ("ckpt", "odd", "inputs.npy"):
        (tmp_path / name).symlink_to(bert_checkpoint / name)
    return tmp_path


@pytest.fixture
def expected_bytes(bert_checkpoint: Path) -> Any:
    """`expected_bytes(ways, backend="torch")`: the bytes a rank reads under the backend's default BERT plan."""
    return lambda ways, backend="torch": split_bytes(bert_checkpoint, ways, SPLIT[backend])


@pytest.fixture
def run_ranks() -> Any:
    """`run_ranks(scenario, directory, nprocs=..., env=...)`: see `launch`."""
    return launch


# the keys BERT's default plans split: torch's _tp_plan (the MLP), Flax's _partition_rules (attention and MLP)
_MLP = r"intermediate\.dense\.|layer\.\d+\.output\.dense\.weight"
SPLIT = {"torch": _MLP, "flax": _MLP + r"|attention\.self\.|attention\.output\.dense\.weight", "all": r"."}


def split_bytes(root: Path, ways: int, split: str) -> int:
    """Bytes a rank should read when the keys matching `split` are split `ways` ways and the rest is replicated."""
    with CheckpointReader(find_weights(root / "ckpt")) as reader:
        total = reader.total_bytes()
        parted = sum(reader.info(k).nbytes for k in reader.keys() if re.search(split, k))
    return total - parted + parted // ways


WORKERS = Path(__file__).with_name("workers.py")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def launch(scenario: str, directory: Path, *, nprocs: int, env: dict[str, str] | None = None,
           timeout: float = 240) -> list[dict[str, Any]]:
    """Run `workers.py scenario directory` as ranks 0..nprocs-1; return their results (rank order), or fail with
    every rank's output."""
    port = str(free_port())
    processes = []
    for rank in range(nprocs):
        child_env = {**os.environ, "RANK": str(rank), "LOCAL_RANK": str(rank), "WORLD_SIZE": str(nprocs),
                     "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": port, "OMP_NUM_THREADS": "1",
                     "TF_CPP_MIN_LOG_LEVEL": "3", **(env or {})}
        processes.append(subprocess.Popen([sys.executable, str(WORKERS), scenario, str(directory)], env=child_env,
                                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    outputs = []
    for process in processes:
        try:
            out, _ = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            for other in processes:
                other.kill()
            raise
        outputs.append(out)
    failed = [(rank, p.returncode) for rank, p in enumerate(processes) if p.returncode]
    assert not failed, f"ranks failed {failed}:\n" + "\n".join(f"--- rank {r}\n{o[-3000:]}" for r, o in
                                                              enumerate(outputs))
    return [json.loads((directory / f"rank{rank}.json").read_text()) for rank in range(nprocs)]
