"""Checkpoint core: names, sizes, shard plans, streaming reads, atomic writes, integrity, bad input."""

from __future__ import annotations

import json
import os
import struct

import ml_dtypes
import numpy as np
import pytest

from pretrained.checkpoint import (
    CheckpointReader,
    HostTensor,
    add_variant,
    find_weights,
    load_index,
    parse_size,
    plan_shards,
    read_safetensors_header,
    shard_file_name,
    verify_checkpoint,
    write_checkpoint,
)
from pretrained.errors import CheckpointError, IntegrityError


def tensors(n: int = 4, size: int = 64) -> dict[str, HostTensor]:
    rng = np.random.default_rng(0)
    return {f"layer.{i}.weight": HostTensor.from_numpy(rng.normal(size=(size,)).astype(np.float32)) for i in range(n)}


def arrays(directory) -> dict[str, np.ndarray]:
    with CheckpointReader(find_weights(directory)) as reader:
        return {k: np.array(v) for k, v in reader.iter_tensors()}


@pytest.mark.parametrize(
    ("text", "expected"),
    [("5GB", 5 * 10**9), ("200MB", 200 * 10**6), ("10GiB", 10 * 2**30), ("1KiB", 1024), ("8kb", 1000), (123, 123)],
)
def test_parse_size(text, expected):
    assert parse_size(text) == expected


@pytest.mark.parametrize("bad", ["five", "", "-1GB", 0, True])
def test_parse_size_rejects(bad):
    with pytest.raises(ValueError):
        parse_size(bad)


def test_names():
    assert shard_file_name(1, 3) == "model-00001-of-00003.safetensors"
    assert add_variant("model.safetensors", "fp16") == "model.fp16.safetensors"
    assert add_variant("model.safetensors.index.json", "fp16") == "model.safetensors.index.fp16.json"
    assert shard_file_name(2, 2, variant="fp16") == "model.fp16-00002-of-00002.safetensors"


def test_plan_shards_greedy_with_oversized_tensor():
    assert plan_shards({"a": 4, "b": 4, "c": 30, "d": 1}, 10) == [["a", "b"], ["c"], ["d"]]


def test_single_file_round_trip_keeps_dtypes_and_scalars(tmp_path):
    data = {
        "f32": np.arange(6, dtype=np.float32).reshape(2, 3),
        "bf16": np.array([1.5, -2.0], dtype=ml_dtypes.bfloat16),
        "i64": np.array(0, dtype=np.int64),
    }
    write_checkpoint(tmp_path, {k: HostTensor.from_numpy(v) for k, v in data.items()})
    assert sorted(os.listdir(tmp_path)) == ["model.safetensors"]
    loaded = arrays(tmp_path)
    for key, value in data.items():
        assert loaded[key].dtype == value.dtype and loaded[key].shape == value.shape
        np.testing.assert_array_equal(loaded[key], value)
    _, metadata = read_safetensors_header(tmp_path / "model.safetensors")
    assert metadata == {"format": "pt"}


def test_sharded_round_trip_with_index_and_digests(tmp_path):
    source = tensors(4, 64)
    write_checkpoint(tmp_path, source, max_shard_size=600)
    names = sorted(os.listdir(tmp_path))
    assert names == [f"model-0000{i}-of-00002.safetensors" for i in (1, 2)] + ["model.safetensors.index.json"]
    index = json.loads((tmp_path / "model.safetensors.index.json").read_text())
    assert index["metadata"]["total_size"] == 4 * 64 * 4
    assert set(index["weight_map"]) == set(source)
    checkpoint = find_weights(tmp_path)
    verify_checkpoint(checkpoint)
    assert set(arrays(tmp_path)) == set(source)


def test_resave_removes_stale_shards_only_after_commit(tmp_path):
    write_checkpoint(tmp_path, tensors(4, 64), max_shard_size=300)
    assert len([n for n in os.listdir(tmp_path) if n.endswith(".safetensors")]) == 4
    (tmp_path / "README.md").write_text("keep me")
    write_checkpoint(tmp_path, tensors(2, 64))
    assert sorted(os.listdir(tmp_path)) == ["README.md", "model.safetensors"]


def test_verify_catches_a_changed_shard(tmp_path):
    write_checkpoint(tmp_path, tensors(4, 64), max_shard_size=600)
    shard = tmp_path / "model-00002-of-00002.safetensors"
    raw = bytearray(shard.read_bytes())
    raw[-1] ^= 0xFF
    shard.write_bytes(bytes(raw))
    with pytest.raises(IntegrityError, match="model-00002-of-00002.safetensors"):
        verify_checkpoint(find_weights(tmp_path))


def test_failed_write_leaves_previous_checkpoint(tmp_path, monkeypatch):
    write_checkpoint(tmp_path, tensors(2, 8))
    before = arrays(tmp_path)
    from pretrained.checkpoint import _serialize

    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(_serialize, "_write", broken)
    with pytest.raises(CheckpointError, match="previous checkpoint is intact") as excinfo:
        write_checkpoint(tmp_path, tensors(3, 8))
    assert str(tmp_path / "model.safetensors") in str(excinfo.value)
    assert sorted(os.listdir(tmp_path)) == ["model.safetensors"]
    assert not [n for n in os.listdir(tmp_path.parent) if n.startswith(".tmp-")], "staging left behind"
    after = arrays(tmp_path)
    assert before.keys() == after.keys() and all(np.array_equal(before[k], after[k]) for k in before)


# ------------------------------------------------------------------------------------------------ bad input
def write_raw(path, header: dict, data: bytes = b"") -> None:
    raw = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + data)


def test_truncated_file(tmp_path):
    write_checkpoint(tmp_path, tensors(1, 64))
    path = tmp_path / "model.safetensors"
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(CheckpointError, match=r"model\.safetensors.*outside the data region"):
        CheckpointReader(find_weights(tmp_path))


def test_header_not_json(tmp_path):
    path = tmp_path / "model.safetensors"
    path.write_bytes(struct.pack("<Q", 5) + b"{nope")
    with pytest.raises(CheckpointError, match="not valid JSON"):
        read_safetensors_header(path)


def test_header_length_larger_than_file(tmp_path):
    path = tmp_path / "model.safetensors"
    path.write_bytes(struct.pack("<Q", 10**6) + b"{}")
    with pytest.raises(CheckpointError, match="exceeds the file size"):
        read_safetensors_header(path)


def test_tiny_file(tmp_path):
    path = tmp_path / "model.safetensors"
    path.write_bytes(b"abc")
    with pytest.raises(CheckpointError, match="no header length"):
        read_safetensors_header(path)


def test_unknown_dtype(tmp_path):
    path = tmp_path / "model.safetensors"
    write_raw(path, {"w": {"dtype": "Q7", "shape": [1], "data_offsets": [0, 4]}}, b"\0" * 4)
    with pytest.raises(CheckpointError, match="unknown dtype 'Q7'"):
        read_safetensors_header(path)


def test_overlapping_offsets(tmp_path):
    path = tmp_path / "model.safetensors"
    header = {
        "a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
        "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]},
    }
    write_raw(path, header, b"\0" * 12)
    with pytest.raises(CheckpointError, match="overlaps"):
        read_safetensors_header(path)


def test_shape_does_not_match_offsets(tmp_path):
    path = tmp_path / "model.safetensors"
    write_raw(path, {"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}, b"\0" * 8)
    with pytest.raises(CheckpointError, match="needs 12 bytes but its offsets span 8"):
        read_safetensors_header(path)


def test_index_missing_shard(tmp_path):
    (tmp_path / "model.safetensors.index.json").write_text(json.dumps({"weight_map": {"w": "model-00001-of-00001.safetensors"}}))
    with pytest.raises(CheckpointError, match="missing"):
        find_weights(tmp_path)


def test_index_shard_outside_directory(tmp_path):
    (tmp_path / "model.safetensors.index.json").write_text(json.dumps({"weight_map": {"w": "../../etc/passwd"}}))
    with pytest.raises(CheckpointError, match="outside the checkpoint directory"):
        find_weights(tmp_path)


def test_index_key_in_two_shards(tmp_path):
    text = '{"weight_map": {"w": "a.safetensors", "w": "b.safetensors"}}'
    (tmp_path / "model.safetensors.index.json").write_text(text)
    with pytest.raises(CheckpointError, match="appears twice"):
        load_index(tmp_path / "model.safetensors.index.json")


def test_key_stored_in_two_shards(tmp_path):
    for name in ("a.safetensors", "b.safetensors"):
        write_raw(tmp_path / name, {"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}, b"\0" * 4)
    index = {"weight_map": {"w": "a.safetensors", "v": "b.safetensors"}}
    (tmp_path / "model.safetensors.index.json").write_text(json.dumps(index))
    with pytest.raises(CheckpointError, match="also stored in"):
        CheckpointReader(find_weights(tmp_path))


def test_empty_directory(tmp_path):
    with pytest.raises(CheckpointError, match="no weights found"):
        find_weights(tmp_path)


@pytest.mark.parametrize(
    ("present", "use_safetensors", "found"),
    [
        (["model.safetensors", "pytorch_model.bin", "tf_model.h5", "flax_model.msgpack"], None, "model.safetensors"),
        (["pytorch_model.bin", "tf_model.h5", "flax_model.msgpack"], None, "pytorch_model.bin"),
        (["tf_model.h5", "flax_model.msgpack.index.json"], None, "tf_model.h5"),
        (["tf_model.h5.index.json", "flax_model.msgpack"], None, "tf_model.h5.index.json"),
        (["flax_model.msgpack.index.json"], None, "flax_model.msgpack.index.json"),
        (["model.safetensors", "tf_model.h5"], False, "tf_model.h5"),
    ],
)
def test_legacy_v4_files_are_found_after_the_canonical_ones(tmp_path, present, use_safetensors, found):
    for name in present:
        (tmp_path / name).write_text('{"weight_map": {}}' if name.endswith(".json") else "x")
    checkpoint = find_weights(tmp_path, use_safetensors=use_safetensors)
    assert (checkpoint.index_path or checkpoint.files[0]).name == found
    assert checkpoint.kind == {"model": "safetensors", "pytorch_model": "bin", "tf_model": "h5",
                               "flax_model": "msgpack"}[found.split(".")[0]]


def test_use_safetensors_true_names_the_legacy_file_it_skips(tmp_path):
    (tmp_path / "tf_model.h5").write_bytes(b"\0")
    with pytest.raises(CheckpointError, match="It holds tf_model.h5, which use_safetensors=True excludes"):
        find_weights(tmp_path, use_safetensors=True)


def test_checkpoint_reader_points_legacy_formats_to_open_checkpoint(tmp_path):
    (tmp_path / "tf_model.h5").write_bytes(b"\0")
    with pytest.raises(CheckpointError, match="open_checkpoint"):
        CheckpointReader(find_weights(tmp_path))
