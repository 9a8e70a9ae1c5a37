"""transformers v4's `tf_model.h5` and `flax_model.msgpack` read as canonical checkpoints: v4's name rules, both h5
layouts (Keras 2 groups, v4 shards), the committed v4 fixtures, and every bad input (a clear error naming the file and
the weight, nothing deserialized)."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

h5py = pytest.importorskip("h5py")

from pretrained.checkpoint import (  # noqa: E402
    H5Reader,
    MsgpackReader,
    checkpoint_from_file,
    find_weights,
    open_checkpoint,
    tf_weight_name_to_key,
)
from pretrained.errors import CheckpointError, MissingBackendError  # noqa: E402
from pretrained.layout import LayoutOverride  # noqa: E402

FIXTURES = Path(__file__).resolve().parents[1] / "models" / "bert" / "fixtures"


def write_keras_h5(path: Path, layers: dict[str, dict[str, np.ndarray]], *, scope: str = "tf_toy") -> Path:
    """A weights file as Keras 2 / transformers v4 wrote it: `layer_names`, one group per layer, `weight_names`."""
    with h5py.File(path, "w") as handle:
        handle.attrs["layer_names"] = [name.encode() for name in layers]
        for layer, weights in layers.items():
            group = handle.create_group(layer)
            group.attrs["weight_names"] = [f"{scope}/{name}".encode() for name in weights]
            for name, array in weights.items():
                group[f"{scope}/{name}"] = array
    return path


def toy_weights() -> dict[str, dict[str, np.ndarray]]:
    rng = np.random.default_rng(0)
    return {"body": {"body/dense/kernel:0": rng.normal(size=(3, 4)).astype(np.float32),
                     "body/dense/bias:0": np.zeros(4, np.float32),
                     "body/norm/gamma:0": np.ones(4, np.float32)},
            "head": {"head/conv/kernel:0": rng.normal(size=(2, 2, 3, 5)).astype(np.float32)}}


# ============================================================================================== names
@pytest.mark.parametrize(
    ("name", "scoped", "expected"),
    [
        ("tf_bert_model/bert/encoder/layer_._0/attention/self/query/kernel:0", True,
         ("bert.encoder.layer.0.attention.self.query.weight", "kernel")),
        ("tf_bert_for_masked_lm/mlm___cls/predictions/bias:0", True, ("cls.predictions.bias", "identity")),
        ("tf_bert_model/bert/embeddings/position_embeddings/embeddings:0", True,
         ("bert.embeddings.position_embeddings.weight", "identity")),
        ("tf_bert_model/bert/embeddings/word_embeddings/weight:0", True,
         ("bert.embeddings.word_embeddings.weight", "identity")),
        ("tf_bert_model/bert/embeddings/LayerNorm/beta:0", True, ("bert.embeddings.LayerNorm.bias", "identity")),
        ("tf_resnet/resnet/embedder/normalization/moving_variance:0", True,
         ("resnet.embedder.normalization.running_var", "identity")),
        ("tf_conv_bert/convbert/sep/pointwise_kernel:0", True, ("convbert.sep.pointwise.weight", "transpose")),
        ("final_logits_bias:0", True, ("final_logits_bias", "identity")),
        ("mlm___cls/predictions/transform/dense/kernel:0", False, ("cls.predictions.transform.dense.weight", "kernel")),
        ("bert/encoder/layer_._11/output/dense/bias:0", False, ("bert.encoder.layer.11.output.dense.bias", "identity")),
    ],
)
def test_v4_weight_names_map_to_canonical_keys(name, scoped, expected):
    assert tf_weight_name_to_key(name, scoped=scoped) == expected


def test_a_models_overrides_replace_key_and_transform():
    rename = LayoutOverride(r"model\.shared\.weight", "model.embed_tokens.weight", "transpose")
    assert tf_weight_name_to_key("tf_toy/model.shared/weight:0", overrides=[rename]) == (
        "model.embed_tokens.weight", "transpose")
    assert tf_weight_name_to_key("tf_toy/other/weight:0", overrides=[rename]) == ("other.weight", "identity")


# ============================================================================================== reading
def test_keras_groups_read_in_canonical_layout(tmp_path):
    weights = toy_weights()
    path = write_keras_h5(tmp_path / "tf_model.h5", weights)
    with open_checkpoint(find_weights(tmp_path)) as reader:
        assert isinstance(reader, H5Reader) and len(reader) == 4
        assert sorted(reader.keys()) == ["body.dense.bias", "body.dense.weight", "body.norm.weight", "head.conv.weight"]
        assert reader.info("head.conv.weight").shape == (5, 3, 2, 2) and reader.info("head.conv.weight").file == path
        conv = reader.get("head.conv.weight")
        np.testing.assert_array_equal(conv, weights["head"]["head/conv/kernel:0"].transpose(3, 2, 0, 1))
        assert conv.flags.c_contiguous
        np.testing.assert_array_equal(reader.get("body.dense.weight"), weights["body"]["body/dense/kernel:0"].T)
        assert reader.total_bytes() == sum(a.nbytes for w in weights.values() for a in w.values())
        assert [key for key, _ in reader.iter_tensors()] == sorted(reader.keys())


def test_chunked_attributes_big_endian_data_and_top_level_weights(tmp_path):
    path = tmp_path / "tf_model.h5"
    with h5py.File(path, "w") as handle:  # Keras 2 splits attributes over 64 KB into name0, name1, ...
        handle.attrs["layer_names0"] = [b"a"]
        handle.attrs["layer_names1"] = [b"b"]
        for layer in ("a", "b", "top_level_model_weights"):
            handle.create_group(layer).attrs["weight_names"] = [f"m/{layer}/bias:0".encode()]
            handle[f"{layer}/m/{layer}/bias:0"] = np.arange(3, dtype=">f4")
    with H5Reader(checkpoint_from_file(path)) as reader:
        assert reader.keys() == ["a.bias", "b.bias", "top_level_model_weights.bias"]
        value = reader.get("b.bias")
        assert value.dtype == np.float32 and value.dtype.isnative and value.tolist() == [0, 1, 2]


def test_v4_fixtures_hold_the_canonical_keys():
    pytest.importorskip("msgpack", reason="the v4 Flax fixture needs msgpack (installed with pretrained[flax])")
    with open_checkpoint(find_weights(FIXTURES / "transformers_tf_bert_tiny_mlm")) as sharded:
        assert sharded.checkpoint.is_sharded and len(sharded.checkpoint.files) == 2
        keys = set(sharded.keys())
    with open_checkpoint(find_weights(FIXTURES / "transformers_flax_bert_tiny_mlm")) as msgpack:
        assert isinstance(msgpack, MsgpackReader)
        assert set(msgpack.keys()) == keys  # the same model in two v4 formats
    with open_checkpoint(find_weights(FIXTURES / "transformers_bert_tiny_mlm")) as canonical:
        tied = {"cls.predictions.decoder.weight", "cls.predictions.decoder.bias"}
        assert keys == set(canonical.keys()) - tied
    with open_checkpoint(find_weights(FIXTURES / "transformers_tf_bert_tiny")) as base:
        assert all(key.startswith("bert.") for key in base.keys())  # v4's TF main layer keeps its scope


def test_a_weight_listed_under_two_layers_is_served_once():
    with H5Reader(checkpoint_from_file(FIXTURES / "transformers_tf_bert_tiny_cls" / "tf_model.h5")) as reader:
        assert len(reader) == len(set(reader.keys())) == 41


# ============================================================================================== bad input
def damaged(tmp_path: Path, name: str, content: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: damaged(d, "tf_model.h5", b"\x89HDF\r\n\x1a\n garbage"), "not a readable HDF5"),
        (lambda d: damaged(d, "tf_model.h5", (FIXTURES / "transformers_tf_bert_tiny" / "tf_model.h5").read_bytes()
                           [:40_000]), "not a readable HDF5"),
    ],
    ids=["garbled", "truncated"],
)
def test_unreadable_files_name_the_file(tmp_path, make, message):
    path = make(tmp_path)
    with pytest.raises(CheckpointError, match=message) as caught:
        open_checkpoint(find_weights(tmp_path))
    assert str(path) in str(caught.value)


def test_a_whole_keras_model_is_refused_and_its_config_never_deserialized(tmp_path):
    sentinel = tmp_path / "executed"
    code = f"open({str(sentinel)!r}, 'w').write('x')"  # what a Lambda layer's marshalled function could do
    config = {"class_name": "Functional", "config": {"layers": [
        {"class_name": "Lambda", "config": {"name": "lambda", "function": [code, None, None],
                                            "function_type": "lambda"}}]}}
    path = write_keras_h5(tmp_path / "tf_model.h5", toy_weights())
    with h5py.File(path, "a") as handle:
        handle.attrs["model_config"] = json.dumps(config)
    with pytest.raises(CheckpointError, match="a whole Keras model .* never deserializes") as caught:
        open_checkpoint(find_weights(tmp_path))
    assert str(path) in str(caught.value) and not sentinel.exists()


def edit(path: Path, change) -> Path:
    with h5py.File(path, "a") as handle:
        change(handle)
    return path


def add_weight(handle, layer: str, name: str, data: np.ndarray) -> None:
    group = handle[layer]
    names = [n if isinstance(n, bytes) else str(n).encode() for n in group.attrs["weight_names"]]
    group.attrs["weight_names"] = [*names, f"tf_toy/{name}".encode()]
    group[f"tf_toy/{name}"] = data


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: f.attrs.__delitem__("layer_names"), "no 'layer_names' attribute"),
        (lambda f: f.attrs.__setitem__("layer_names", [b"body", b"gone"]), "lists 'gone' but the file has no such"),
        (lambda f: f["body/tf_toy/body"].__delitem__("norm"),
         "weight 'body/tf_toy/body/norm/gamma:0' is listed in 'weight_names' but missing"),
        (lambda f: add_weight(f, "head", "head/text:0", np.array([b"x"])), "weight 'head/tf_toy/head/text:0' has dtype"),
        (lambda f: add_weight(f, "head", "body/dense/bias:0", np.zeros(7, np.float32)),
         "'body/tf_toy/body/dense/bias:0' and 'head/tf_toy/body/dense/bias:0' both map to 'body.dense.bias'"),
    ],
    ids=["no-layer-names", "missing-layer", "missing-weight", "string-dtype", "conflicting-duplicate"],
)
def test_malformed_weights_files_name_the_file_and_the_weight(tmp_path, change, message):
    path = edit(write_keras_h5(tmp_path / "tf_model.h5", toy_weights()), change)
    with pytest.raises(CheckpointError, match=message) as caught:
        open_checkpoint(find_weights(tmp_path))
    assert str(path) in str(caught.value)


def test_data_outside_the_file_is_refused(tmp_path):
    other = write_keras_h5(tmp_path / "other.h5", toy_weights())

    def link_elsewhere(handle) -> None:
        conv = handle["head/tf_toy/head/conv"]
        del conv["kernel:0"]
        conv["kernel:0"] = h5py.ExternalLink(str(other), "/head/tf_toy/head/conv/kernel:0")

    path = edit(write_keras_h5(tmp_path / "tf_model.h5", toy_weights()), link_elsewhere)
    with pytest.raises(CheckpointError, match="weight 'head/tf_toy/head/conv/kernel:0' is a link to another file"):
        open_checkpoint(checkpoint_from_file(path))


def test_a_sharded_index_that_disagrees_with_its_shards(tmp_path):
    source = FIXTURES / "transformers_tf_bert_tiny_mlm"
    shutil.copytree(source, tmp_path / "ckpt")
    index_path = tmp_path / "ckpt" / "tf_model.h5.index.json"
    index = json.loads(index_path.read_text())
    name = next(n for n, shard in index["weight_map"].items() if shard.startswith("tf_model-00001"))
    index["weight_map"][name] = "tf_model-00002-of-00002.h5"
    index_path.write_text(json.dumps(index))
    with pytest.raises(CheckpointError, match=f"weight '{name}' is mapped to tf_model-00002-of-00002.h5 but stored "
                                              "in tf_model-00001-of-00002.h5"):
        open_checkpoint(find_weights(tmp_path / "ckpt"))


def test_a_garbled_msgpack_names_the_file(tmp_path):
    pytest.importorskip("msgpack", reason="reading msgpack needs msgpack (installed with pretrained[flax])")
    path = damaged(tmp_path, "flax_model.msgpack", b"\xc1 not msgpack")
    with pytest.raises(CheckpointError, match="not a flax msgpack checkpoint") as caught:
        open_checkpoint(find_weights(tmp_path))
    assert str(path) in str(caught.value)


def test_without_h5py_the_error_names_the_file_and_the_install(tmp_path, monkeypatch):
    path = damaged(tmp_path, "tf_model.h5", b"\x89HDF")
    monkeypatch.setitem(sys.modules, "h5py", None)  # as if h5py were not installed
    with pytest.raises(MissingBackendError, match=f"{path}: reading a transformers v4 tf_model.h5 needs h5py: pip "
                                                  "install h5py"):
        open_checkpoint(find_weights(tmp_path))
