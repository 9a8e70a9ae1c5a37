"""Slice reads of checkpoint tensors (checkpoint/_slices.py, CheckpointReader.read_runs, bytes_read)."""

from __future__ import annotations

import numpy as np
import pytest

from pretrained.checkpoint import (
    CheckpointReader,
    HostTensor,
    MemoryReader,
    TensorStream,
    byte_runs,
    find_weights,
    read_slice,
    write_checkpoint,
)


@pytest.fixture
def checkpoint(tmp_path):
    tensors = {"m": np.arange(24, dtype=np.float32).reshape(4, 6),
               "c": np.arange(60, dtype=np.int64).reshape(3, 4, 5)}
    write_checkpoint(tmp_path, {k: HostTensor.from_numpy(v) for k, v in tensors.items()})
    return tmp_path, tensors


@pytest.mark.parametrize("index", [[(1, 3), (0, 6)], [(0, 4), (2, 5)], [(1, 2), (5, 6)], [(0, 4), (0, 6)]])
def test_matrix_slices_read_only_their_bytes(checkpoint, index):
    directory, tensors = checkpoint
    with CheckpointReader(find_weights(directory)) as reader:
        part = read_slice(reader, "m", index)
        expected = tensors["m"][tuple(slice(a, b) for a, b in index)]
        np.testing.assert_array_equal(part, expected)
        assert reader.bytes_read == expected.nbytes


def test_three_dimensional_slice(checkpoint):
    directory, tensors = checkpoint
    index = [(1, 3), (2, 4), (1, 4)]
    with CheckpointReader(find_weights(directory)) as reader:
        np.testing.assert_array_equal(read_slice(reader, "c", index), tensors["c"][1:3, 2:4, 1:4])
        assert reader.bytes_read == 2 * 2 * 3 * 8


def test_row_slice_is_one_run_and_column_slice_one_per_row():
    assert byte_runs((4, 6), 4, [(1, 3), (0, 6)]) == [(24, 48)]
    assert len(byte_runs((4, 6), 4, [(0, 4), (0, 3)])) == 4


def test_a_slice_outside_the_tensor_is_refused():
    with pytest.raises(ValueError, match=r"slice \[\(0, 5\), \(0, 6\)\] does not fit a tensor of shape \(4, 6\)"):
        byte_runs((4, 6), 4, [(0, 5), (0, 6)])


def test_an_empty_slice_reads_nothing(checkpoint):
    directory, _ = checkpoint
    with CheckpointReader(find_weights(directory)) as reader:
        assert read_slice(reader, "m", [(4, 4), (0, 6)]).shape == (0, 6) and reader.bytes_read == 0


def test_in_memory_readers_slice_the_whole_tensor():
    reader = MemoryReader({"w": np.arange(6).reshape(2, 3)})
    assert read_slice(reader, "w", [(1, 2), (0, 2)]).tolist() == [[3, 4]]


def test_stream_leaves_sliced_tensors_unread(checkpoint):
    directory, tensors = checkpoint
    with CheckpointReader(find_weights(directory)) as reader, TensorStream(reader) as stream:
        parts = {t.key: t.read([(0, 1), (0, 6)]) if t.key == "m" else t.array() for t in
                 stream.tensors(["m", "c"], sliced=["m"])}
        np.testing.assert_array_equal(parts["m"], tensors["m"][:1])
        assert reader.bytes_read == tensors["c"].nbytes + 6 * 4
