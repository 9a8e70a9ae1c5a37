"""torch: `from_pretrained(device_mesh=..., tp_plan=...)` over gloo with 2 and 4 processes."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")


@pytest.mark.parametrize("world", [2, 4])
def test_tensor_parallel_load_reads_its_slices_and_runs_like_the_plain_model(bert_checkpoint, run_dir, run_ranks,
                                                                             expected_bytes, world):
    directory = run_dir
    results = run_ranks("torch_tp", directory, nprocs=world)
    reference = np.load(bert_checkpoint / "reference.npy")
    for result in results:
        assert result["dtensor"] and result["local_shape"] == [32 // world, 16]
        assert result["bytes_read"] == expected_bytes(world)
        np.testing.assert_allclose(result["hidden"], reference, atol=1e-5)
    saved = (directory / "saved" / "model.safetensors").read_bytes()
    assert saved == (bert_checkpoint / "ckpt" / "model.safetensors").read_bytes()
    if world == 4:  # intermediate_size 30: refused on every rank before anything is read
        for result in results:
            assert result["odd"]["raises"] == "ConfigError" and result["odd"]["bytes_read"] == 0
            assert result["odd"]["message"].endswith(
                "splits dimension 0 of encoder.layer.0.intermediate.dense.weight (shape (30, 16)) 4 ways over mesh "
                "axes ['tp']; 30 is not divisible by 4")



def test_device_mesh_alone_shards_every_parameter_with_fsdp2(bert_checkpoint, run_dir, run_ranks, expected_bytes):
    results = run_ranks("torch_fsdp", run_dir, nprocs=2)
    reference = np.load(bert_checkpoint / "reference.npy")
    for result in results:
        assert result["dtensor"] and result["placements"] == "(Shard(dim=0),)" and result["local_shape"] == [16, 16]
        assert result["bytes_read"] == expected_bytes(2, "all")
        np.testing.assert_allclose(result["hidden"], reference, atol=1e-5)
    saved = (run_dir / "saved" / "model.safetensors").read_bytes()
    assert saved == (bert_checkpoint / "ckpt" / "model.safetensors").read_bytes()
    assert '"BertModel"' in (run_dir / "saved" / "config.json").read_text()
