"""Flax: `from_pretrained(mesh=..., partition_rules=...)` on 8 forced host devices and across 2 processes."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("flax")


EIGHT_DEVICES = {"XLA_FLAGS": "--xla_force_host_platform_device_count=8", "JAX_PLATFORMS": "cpu"}


def test_eight_host_devices(bert_checkpoint, run_dir, run_ranks, expected_bytes):
    directory = run_dir
    [result] = run_ranks("flax_host_devices", directory, nprocs=1, env=EIGHT_DEVICES)
    assert result["devices"] == 8 and result["spec"] == "P(None, 'tp')"
    assert result["local_slices"] == [[[0, 16], [8 * i, 8 * i + 8]] for i in range(4)]
    assert result["bytes_read"] == expected_bytes(1)  # one process holds every slice: read once
    np.testing.assert_allclose(result["hidden"], np.load(bert_checkpoint / "reference.npy"), atol=1e-5)
    saved = (directory / "saved" / "model.safetensors").read_bytes()
    assert saved == (bert_checkpoint / "ckpt" / "model.safetensors").read_bytes()
    odd = result["odd"]
    assert odd["raises"] == "ConfigError" and odd["bytes_read"] == 0
    assert odd["message"].endswith("splits dimension 0 of encoder.layer.0.intermediate.dense.weight (shape "
                                   "(30, 16)) 4 ways over mesh axes ['tp']; 30 is not divisible by 4")


def test_two_processes_each_read_their_devices_slices(bert_checkpoint, run_dir, run_ranks, expected_bytes):
    directory = run_dir
    results = run_ranks("flax_processes", directory, nprocs=2, env={"JAX_PLATFORMS": "cpu"})
    for rank, result in enumerate(results):
        assert result["devices"] == 2 and result["local_slices"] == [[[0, 16], [16 * rank, 16 * rank + 16]]]
        assert result["bytes_read"] == expected_bytes(2, "flax")
    saved = (directory / "saved" / "model.safetensors").read_bytes()
    assert saved == (bert_checkpoint / "ckpt" / "model.safetensors").read_bytes()
