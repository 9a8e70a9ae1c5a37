"""Property-based (hypothesis): random configs and mutated safetensors files load, or raise our error type.

The allowed outcomes are "loaded" or a `pretrained.errors.PretrainedError` subclass (each is also the built-in type
a v4 user would catch); any other exception, a hang or a crash of the process is a failure. The mutated files are
read in-process through safetensors' Rust reader, so a segfault would take the test run down with it.
"""

from __future__ import annotations

import json
import struct
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from pretrained import PretrainedConfig
from pretrained.checkpoint import DTYPES, CheckpointReader, checkpoint_from_file
from pretrained.errors import PretrainedError
from pretrained.models.bert import BertConfig

SETTINGS = settings(max_examples=150, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

KNOWN_FIELDS = [
    "return_dict", "output_hidden_states", "output_attentions", "torchscript", "tie_word_embeddings",
    "is_encoder_decoder", "is_decoder", "add_cross_attention", "chunk_size_feed_forward", "dtype", "torch_dtype",
    "pruned_heads", "architectures", "finetuning_task", "auto_map", "problem_type", "bos_token_id", "pad_token_id",
    "eos_token_id", "id2label", "label2id", "num_labels", "name_or_path", "_commit_hash", "model_type",
    "vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size", "hidden_act",
    "hidden_dropout_prob", "max_position_embeddings", "type_vocab_size", "layer_norm_eps", "position_embedding_type",
    "classifier_dropout", "use_cache", "attribute_map", "__class__", "__dict__", "to_dict", "num_labels",
]
json_scalars = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | st.text(max_size=8)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)
config_dicts = st.dictionaries(st.sampled_from(KNOWN_FIELDS) | st.text(max_size=10), json_values, max_size=8)


class _Scratch:
    """One temporary directory per test function (hypothesis reuses it across examples)."""

    def __init__(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="reliability-property-"))

    def file(self, name: str, payload: bytes) -> Path:
        path = self.directory / name
        path.write_bytes(payload)
        return path


@pytest.fixture(scope="module")
def scratch():
    import shutil

    box = _Scratch()
    yield box
    shutil.rmtree(box.directory, ignore_errors=True)



@pytest.mark.parametrize("config_class", [PretrainedConfig, BertConfig], ids=lambda c: c.__name__)
def test_random_config_dicts(config_class, scratch, observed):
    """Generate 150 JSON objects mixing known field names (with values of any JSON type) and random keys, write
    each as `config.json` and load it with `from_pretrained`; a loaded config must also serialise back to JSON."""
    counts = {"loaded": 0, "refused": 0}

    @SETTINGS
    @given(payload=config_dicts)
    @example(payload={"num_labels": "x"})
    @example(payload={"id2label": {"0": [1]}})
    @example(payload={"attribute_map": 1})
    def check(payload):
        path = scratch.file(f"{config_class.__name__}.json", json.dumps(payload).encode())
        try:
            config = config_class.from_pretrained(path)
            config.to_json_string()
        except PretrainedError:
            counts["refused"] += 1
        else:
            counts["loaded"] += 1

    check()
    observed(f"{counts['loaded']} configs loaded, {counts['refused']} refused with a PretrainedError, nothing else")


# ============================================================================================== safetensors
def _base_file() -> bytes:
    from safetensors.numpy import save

    return save(
        {"a": np.arange(6, dtype=np.float32).reshape(2, 3), "b": np.arange(4, dtype=np.int64),
         "c": np.ones((3, 1), dtype=np.float16), "empty": np.zeros((0, 2), dtype=np.float32)},
        metadata={"format": "pt"},
    )


BASE = _base_file()
HEADER_END = 8 + struct.unpack("<Q", BASE[:8])[0]


def _load_all(path: Path) -> int:
    with CheckpointReader(checkpoint_from_file(path)) as reader:
        return sum(int(np.asarray(array).size) for _, array in reader.iter_tensors())


mutations = st.one_of(
    st.tuples(st.just("truncate"), st.integers(0, len(BASE) - 1)),
    st.tuples(st.just("bytes"), st.lists(st.tuples(st.integers(0, HEADER_END + 16), st.integers(0, 255)),
                                         min_size=1, max_size=6)),
    st.tuples(st.just("bytes-anywhere"), st.lists(st.tuples(st.integers(0, len(BASE) - 1), st.integers(0, 255)),
                                                  min_size=1, max_size=6)),
    st.tuples(st.just("length"), st.integers(0, 2**64 - 1)),
    st.tuples(st.just("append"), st.binary(max_size=64)),
)


def _mutate(mutation) -> bytes:
    kind, arg = mutation
    data = bytearray(BASE)
    if kind == "truncate":
        return bytes(data[:arg])
    if kind in ("bytes", "bytes-anywhere"):
        for position, value in arg:
            if position < len(data):
                data[position] = value
        return bytes(data)
    if kind == "length":
        return struct.pack("<Q", arg) + bytes(data[8:])
    return bytes(data) + arg


def test_random_mutations_of_a_safetensors_file(scratch, observed):
    """Truncate a small 4-tensor safetensors file at random, overwrite random header (or any) bytes, set a random
    header length or append junk (150 examples); read every tensor with `CheckpointReader` in-process."""
    counts = {"loaded": 0, "refused": 0}

    @SETTINGS
    @given(mutation=mutations)
    @example(mutation=("truncate", HEADER_END))
    @example(mutation=("length", 2**64 - 1))
    def check(mutation):
        path = scratch.file("mutated.safetensors", _mutate(mutation))
        try:
            _load_all(path)
        except PretrainedError:
            counts["refused"] += 1
        else:
            counts["loaded"] += 1

    check()
    observed(f"{counts['loaded']} mutated files loaded, {counts['refused']} refused with CheckpointError; no "
             "other exception, no crash")


header_entries = st.fixed_dictionaries({
    "dtype": st.sampled_from([*DTYPES, "F7", "f32", "", "BF16 "]) | st.integers(),
    "shape": st.lists(st.integers(-3, 2**40), max_size=3) | st.integers() | st.none(),
    "data_offsets": st.lists(st.integers(-8, 2**40), min_size=0, max_size=3) | st.text(max_size=3),
})


@SETTINGS
@given(entries=st.dictionaries(st.text(max_size=5), header_entries, min_size=1, max_size=4),
       data_size=st.integers(0, 256), metadata=st.none() | st.dictionaries(st.text(max_size=3), json_scalars))
def _check_random_header(entries, data_size, metadata, path, counts):
    header = dict(entries)
    if metadata is not None:
        header["__metadata__"] = metadata
    text = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(text)) + text + bytes(range(256))[:data_size])
    try:
        _load_all(path)
    except PretrainedError:
        counts["refused"] += 1
    else:
        counts["loaded"] += 1


def test_random_safetensors_headers(scratch, observed):
    """Generate 150 safetensors headers from random entries (known and unknown dtypes, odd shapes, offsets of any
    length and sign, metadata of any type) over 0-256 data bytes; read every tensor with `CheckpointReader`."""
    counts = {"loaded": 0, "refused": 0}
    path = scratch.directory / "random-header.safetensors"
    _check_random_header(path=path, counts=counts)
    observed(f"{counts['loaded']} generated files loaded, {counts['refused']} refused with CheckpointError; no other "
             "exception, no crash")
