"""TensorFlow: `from_pretrained` inside `tf.distribute.MirroredStrategy().scope()` on 2 logical CPU devices."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("tensorflow")


def test_mirrored_strategy_reads_the_checkpoint_once(bert_checkpoint, run_dir, run_ranks, expected_bytes):
    directory = run_dir
    [result] = run_ranks("tf_mirrored", directory, nprocs=1)
    assert result["mirrored"] and result["bytes_read"] == expected_bytes(1)
    reference = np.load(bert_checkpoint / "reference.npy")
    assert len(result["hidden"]) == 2
    for hidden in result["hidden"]:
        np.testing.assert_allclose(hidden, reference, atol=1e-5)
    saved = (directory / "saved" / "model.safetensors").read_bytes()
    assert saved == (bert_checkpoint / "ckpt" / "model.safetensors").read_bytes()
