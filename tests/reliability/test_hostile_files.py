"""Hostile and broken files: each gives a clear exception naming the file; nothing crashes, nothing is executed.

Every case builds the bad file itself next to a tiny, valid BERT checkpoint and loads it through the public API
(`BertModel.from_pretrained`, `PretrainedConfig.from_pretrained`, `AutoConfig.from_pretrained`) and, where there is
one, through the lower-level reader (`pretrained.legacy.load_bin_file`, `pretrained.checkpoint.CheckpointReader`).
"""

from __future__ import annotations

import json
import logging
import struct
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from pretrained import AutoConfig, PretrainedConfig  # noqa: E402
from pretrained.checkpoint import CheckpointReader, find_weights  # noqa: E402
from pretrained.errors import (  # noqa: E402
    CheckpointError,
    ConfigError,
    IncompleteLoadError,
    PretrainedError,
    RemoteCodeError,
)
from pretrained.legacy import load_bin_file  # noqa: E402
from pretrained.models.bert import BertConfig, BertModel  # noqa: E402

TINY = {"vocab_size": 99, "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4,
        "intermediate_size": 37, "max_position_embeddings": 64}


@pytest.fixture
def tiny_dir(tmp_path) -> Path:
    torch.manual_seed(0)
    directory = tmp_path / "tiny"
    BertModel(BertConfig(**TINY)).save_pretrained(directory)
    return directory


def _short(exc: BaseException, tmp_path: Path) -> str:
    return f"{type(exc).__name__}: {str(exc).replace(str(tmp_path), '<tmp>')[:220]}"


# ============================================================================================== pickle
class _Payload:
    """Unpickling this runs `exec(code)`: here, code that creates a marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (exec, (f"open({str(self.marker)!r}, 'w').write('pwned')",))


def _evil_bin(path: Path, marker: Path) -> Path:
    torch.save({"embeddings.word_embeddings.weight": torch.zeros(99, 32), "x": _Payload(marker)}, path)
    return path


def test_pickle_payload_is_live(tmp_path, observed):
    """Control: unpickle the hostile `pytorch_model.bin` with `torch.load(weights_only=False)` in a throwaway
    subprocess, to prove that the payload used by the next cases really runs code when a loader lets it."""
    marker = tmp_path / "control-marker"
    path = _evil_bin(tmp_path / "pytorch_model.bin", marker)
    code = f"import torch; torch.load({str(path)!r}, weights_only=False)"
    subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=120)
    assert marker.exists()
    observed("torch.load(weights_only=False) ran the payload: the marker file was created")


def test_pickle_payload_refused_by_load_bin_file(tmp_path, observed):
    """Build a `pytorch_model.bin` whose pickle writes a marker file when unpickled; read it with
    `pretrained.legacy.load_bin_file`."""
    marker = tmp_path / "marker"
    path = _evil_bin(tmp_path / "pytorch_model.bin", marker)
    with pytest.raises(CheckpointError) as excinfo:
        load_bin_file(path)
    assert str(path) in str(excinfo.value)
    assert not marker.exists(), "the pickle payload ran"
    observed(_short(excinfo.value, tmp_path) + "; marker never created")


def test_pickle_payload_refused_by_from_pretrained(tiny_dir, tmp_path, observed):
    """Replace the tiny checkpoint's weights by the hostile `pytorch_model.bin` and call
    `BertModel.from_pretrained(dir)` (and `use_safetensors=False`)."""
    (tiny_dir / "model.safetensors").unlink()
    marker = tmp_path / "marker"
    path = _evil_bin(tiny_dir / "pytorch_model.bin", marker)
    for kwargs in ({}, {"use_safetensors": False}):
        with pytest.raises(CheckpointError) as excinfo:
            BertModel.from_pretrained(tiny_dir, **kwargs)
        assert str(path) in str(excinfo.value)
    assert not marker.exists(), "the pickle payload ran"
    observed(_short(excinfo.value, tmp_path) + "; marker never created")


# ============================================================================================== safetensors
def _split(path: Path) -> tuple[dict, bytes]:
    raw = path.read_bytes()
    (length,) = struct.unpack("<Q", raw[:8])
    return json.loads(raw[8: 8 + length]), raw[8 + length:]


def _join(header: dict, data: bytes, *, length: int | None = None) -> bytes:
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text) if length is None else length) + text + data


def _first_two(header: dict) -> tuple[str, str]:
    keys = sorted((k for k in header if k != "__metadata__"), key=lambda k: header[k]["data_offsets"][0])
    return keys[0], keys[1]


def _corrupt(kind: str, path: Path) -> None:
    header, data = _split(path)
    a, b = _first_two(header)
    if kind == "truncated data":
        path.write_bytes(path.read_bytes()[:-1000])
    elif kind == "truncated header":
        path.write_bytes(path.read_bytes()[:50])
    elif kind == "file shorter than 8 bytes":
        path.write_bytes(b"\x10\x00")
    elif kind == "header length larger than the file":
        body = _join(header, data)
        path.write_bytes(struct.pack("<Q", len(body) + 100) + body[8:])
    elif kind == "header length 2**64-1":
        path.write_bytes(b"\xff" * 8 + path.read_bytes()[8:])
    elif kind == "header not JSON":
        text = json.dumps(header).encode()
        path.write_bytes(struct.pack("<Q", len(text)) + b"\x00" * len(text) + data)
    elif kind == "overlapping offsets":
        begin, end = header[a]["data_offsets"]
        size = end - begin
        header[b]["data_offsets"] = [begin + size // 2, begin + size // 2 + (header[b]["data_offsets"][1] -
                                                                              header[b]["data_offsets"][0])]
        path.write_bytes(_join(header, data))
    elif kind == "out-of-range offsets":
        begin, end = header[b]["data_offsets"]
        header[b]["data_offsets"] = [len(data) + 8, len(data) + 8 + end - begin]
        path.write_bytes(_join(header, data))
    elif kind == "negative offsets":
        header[a]["data_offsets"] = [-4, header[a]["data_offsets"][1] - 4]
        path.write_bytes(_join(header, data))
    elif kind == "unknown dtype":
        header[a]["dtype"] = "F7"
        path.write_bytes(_join(header, data))
    elif kind == "shape does not match the byte size":
        header[a]["shape"] = [int(x) + 1 for x in header[a]["shape"]]
        path.write_bytes(_join(header, data))
    elif kind == "shape with a negative or huge dimension":
        header[a]["shape"] = [2**62, 2**62]
        path.write_bytes(_join(header, data))
    elif kind == "metadata not strings":
        header["__metadata__"] = {"format": ["pt"]}
        path.write_bytes(_join(header, data))
    else:  # pragma: no cover
        raise AssertionError(kind)


SAFETENSORS_CASES = [
    "truncated data", "truncated header", "file shorter than 8 bytes", "header length larger than the file",
    "header length 2**64-1", "header not JSON", "overlapping offsets", "out-of-range offsets", "negative offsets",
    "unknown dtype", "shape does not match the byte size", "shape with a negative or huge dimension",
    "metadata not strings",
]


@pytest.mark.parametrize("kind", SAFETENSORS_CASES)
def test_corrupt_safetensors(kind, tiny_dir, tmp_path, observed):
    """Corrupt the tiny checkpoint's `model.safetensors` as named, then read it with `CheckpointReader` (every
    tensor) and load it with `BertModel.from_pretrained`."""
    path = tiny_dir / "model.safetensors"
    _corrupt(kind, path)
    with pytest.raises(CheckpointError) as excinfo:
        with CheckpointReader(find_weights(tiny_dir)) as reader:
            for _ in reader.iter_tensors():
                pass
    assert str(path) in str(excinfo.value)
    with pytest.raises(CheckpointError) as excinfo:
        BertModel.from_pretrained(tiny_dir)
    assert str(path) in str(excinfo.value)
    observed(_short(excinfo.value, tmp_path))


def test_unknown_dtype_the_loader_cannot_represent(tiny_dir, tmp_path, observed):
    """Rewrite a float32 tensor's header as F8_E5M2 with a 4x longer shape (a dtype safetensors knows, but the
    model's float32 parameter does not): loading must fail clearly or convert, never crash."""
    path = tiny_dir / "model.safetensors"
    header, data = _split(path)
    key = "embeddings.LayerNorm.weight"
    header[key]["dtype"] = "F8_E5M2"
    header[key]["shape"] = [header[key]["shape"][0] * 4]
    path.write_bytes(_join(header, data))
    try:
        BertModel.from_pretrained(tiny_dir)
    except PretrainedError as exc:
        observed(_short(exc, tmp_path))
    else:
        observed("loaded (the F8 tensor was converted into the model's float32 parameter, shape mismatch reported)")


# ============================================================================================== index
@pytest.mark.parametrize("shard", ["../../etc/passwd", "/etc/passwd", "sub/../../outside.safetensors",
                                   "..\\..\\etc\\passwd"])
def test_index_naming_a_shard_outside_the_checkpoint(shard, tiny_dir, tmp_path, observed):
    """Replace the weights by an index whose `weight_map` names the shard as given; load the directory."""
    (tiny_dir / "model.safetensors").unlink()
    index = tiny_dir / "model.safetensors.index.json"
    index.write_text(json.dumps({"metadata": {}, "weight_map": {"embeddings.word_embeddings.weight": shard}}))
    with pytest.raises(CheckpointError) as excinfo:
        BertModel.from_pretrained(tiny_dir)
    assert str(index) in str(excinfo.value) and "outside" in str(excinfo.value)
    observed(_short(excinfo.value, tmp_path))


def test_index_naming_a_shard_outside_the_repo_on_the_hub(local_hub, tmp_path, observed):
    """Upload `config.json` + an index naming `../../etc/passwd` to a LocalHub repo; `from_pretrained(repo_id)`
    must refuse before downloading anything for that name."""
    from huggingface_hub import HfApi

    api = HfApi()
    repo = api.create_repo("evil-index").repo_id
    api.upload_file(path_or_fileobj=BertConfig(**TINY).to_json_string().encode(), path_in_repo="config.json",
                    repo_id=repo)
    index = {"metadata": {}, "weight_map": {"embeddings.word_embeddings.weight": "../../etc/passwd"}}
    api.upload_file(path_or_fileobj=json.dumps(index).encode(), path_in_repo="model.safetensors.index.json",
                    repo_id=repo)
    local_hub.requests.clear()
    with pytest.raises(CheckpointError) as excinfo:
        BertModel.from_pretrained(repo)
    assert "model.safetensors.index.json" in str(excinfo.value)
    assert not any("passwd" in path for _, path in local_hub.requests)
    observed(_short(excinfo.value, tmp_path) + "; no request for the named path")


# ============================================================================================== config.json
def _write_config(directory: Path, text: str | bytes) -> Path:
    path = directory / "config.json"
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


CONFIG_CASES = {
    "not an object (a list)": "[1, 2, 3]",
    "not an object (a string)": '"bert"',
    "not JSON": "{model_type: bert",
    "not UTF-8": b'{"model_type": "\xff\xfe"}',
    "deeply nested (100k levels)": '{"model_type": "bert", "x": ' + "[" * 100_000 + "]" * 100_000 + "}",
    "huge (20 MB)": '{"model_type": "bert", "pad": "' + "x" * 20_000_000 + '"}',
    "num_labels is a string": '{"model_type": "bert", "num_labels": "x"}',
    "output_attentions is a string": '{"model_type": "bert", "output_attentions": "yes"}',
    "id2label is a number": '{"model_type": "bert", "id2label": 5}',
    "id2label with non-integer keys": '{"model_type": "bert", "id2label": {"a": "A"}}',
    "label2id is a number": '{"model_type": "bert", "id2label": {"0": "A"}, "label2id": 5}',
    "pruned_heads is a list": '{"model_type": "bert", "pruned_heads": [1, 2]}',
    "problem_type unknown": '{"model_type": "bert", "problem_type": "guessing"}',
}
# structure the model checks when it is built (transformers v4 builds configs like these without complaint)
MODEL_CASES = {
    "hidden_size is a string": '{"model_type": "bert", "hidden_size": "big"}',
    "num_attention_heads is 0": '{"model_type": "bert", "num_attention_heads": 0}',
}


@pytest.mark.parametrize("case", [*CONFIG_CASES, *MODEL_CASES])
def test_broken_config_json(case, tiny_dir, tmp_path, observed):
    """Overwrite the tiny checkpoint's `config.json` as named; load it with `BertConfig.from_pretrained`,
    `PretrainedConfig.from_pretrained` and `BertModel.from_pretrained` (a ConfigError naming the file expected;
    structural values are refused when the model is built, so the config alone loads, as in transformers v4)."""
    _write_config(tiny_dir, {**CONFIG_CASES, **MODEL_CASES}[case])
    seen = []
    loads = (BertModel.from_pretrained,) if case in MODEL_CASES else (BertConfig.from_pretrained,
                                                                       BertModel.from_pretrained)
    for load in loads:
        with pytest.raises(ConfigError) as excinfo:
            load(tiny_dir)
        assert "config.json" in str(excinfo.value) and str(tiny_dir) in str(excinfo.value), str(excinfo.value)
        seen.append(excinfo.value)
    try:
        PretrainedConfig.from_pretrained(tiny_dir)
    except ConfigError as exc:
        assert str(tiny_dir) in str(exc)
    observed(_short(seen[-1], tmp_path)[:200])


def test_model_type_of_another_library(tiny_dir, tmp_path, caplog, observed):
    """Write a Llama `config.json` (model_type "llama", Llama field names) plus Llama-named weights; load it with
    `BertConfig.from_pretrained`, `BertModel.from_pretrained` (default and `strict=True`) and `AutoConfig`.

    Decision (transformers v4 semantics): the config loads with a warning naming both model types (Llama fields
    become extra attributes, BERT fields keep their defaults); a model load reports every key as missing /
    unexpected in a warning, and `strict=True` turns that into `IncompleteLoadError`; AutoConfig, which has no
    "llama", raises a ConfigError listing the known model types.
    """
    from safetensors.numpy import save_file

    llama = {"model_type": "llama", "hidden_size": 32, "intermediate_size": 37, "num_hidden_layers": 2,
             "num_attention_heads": 4, "num_key_value_heads": 4, "rms_norm_eps": 1e-6, "vocab_size": 99,
             "architectures": ["LlamaForCausalLM"]}
    _write_config(tiny_dir, json.dumps(llama))
    import numpy as np

    (tiny_dir / "model.safetensors").unlink()
    save_file({"model.embed_tokens.weight": np.zeros((99, 32), np.float32),
               "model.norm.weight": np.ones(32, np.float32)}, str(tiny_dir / "model.safetensors"),
              metadata={"format": "pt"})
    with caplog.at_level(logging.WARNING):
        config = BertConfig.from_pretrained(tiny_dir)
    assert "llama" in caplog.text and "bert" in caplog.text
    assert config.num_key_value_heads == 4 and config.hidden_size == 32
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="pretrained"):
        BertModel.from_pretrained(tiny_dir)
    warnings = "\n".join(r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING)
    assert "None of the 2 weights" in warnings and "another architecture" in warnings
    # v4: unused weights of a checkpoint whose `architectures` do not name the class are logged at info level
    assert "model.embed_tokens.weight" in caplog.text
    with pytest.raises(IncompleteLoadError) as strict:
        BertModel.from_pretrained(tiny_dir, strict=True)
    with pytest.raises((ConfigError, ValueError, KeyError)) as auto:
        AutoConfig.from_pretrained(tiny_dir)
    assert "llama" in str(auto.value)
    observed("BertConfig: warning naming 'llama' and 'bert', Llama fields kept as attributes; BertModel: warning "
             f"that no weight matched (unused keys at info level, as v4 for another architecture); strict=True: {_short(strict.value, tmp_path)[:120]}; AutoConfig: "
             f"{_short(auto.value, tmp_path)[:120]}")


# ============================================================================================== auto_map paths
@pytest.mark.parametrize("reference", ["../evil.EvilConfig", "..evil.EvilConfig", "/tmp/evil.EvilConfig",
                                       "sub/../../evil.EvilConfig", "evil.EvilConfig.extra", "os.system"])
def test_auto_map_outside_the_checkpoint_is_refused(reference, tmp_path, observed):
    """Write a config whose `auto_map["AutoConfig"]` is the reference given, with a marker-writing `evil.py` both
    in the checkpoint's parent directory and at `/tmp`-like absolute paths; `AutoConfig.from_pretrained(dir,
    trust_remote_code=True)` must refuse it with a RemoteCodeError and import nothing."""
    checkpoint = tmp_path / "ckpt"
    checkpoint.mkdir()
    marker = tmp_path / "marker"
    code = f"open({str(marker)!r}, 'w').write('imported')\nclass EvilConfig: pass\n"
    (tmp_path / "evil.py").write_text(code)
    (checkpoint / "sub").mkdir()
    (checkpoint / "sub" / "evil.py").write_text(code)
    _write_config(checkpoint, json.dumps({"model_type": "evil-remote", "auto_map": {"AutoConfig": reference}}))
    with pytest.raises(RemoteCodeError) as excinfo:
        AutoConfig.from_pretrained(checkpoint, trust_remote_code=True)
    assert reference in str(excinfo.value) or f"{reference.split('.')[0]}.py" in str(excinfo.value)
    assert not marker.exists()
    observed(_short(excinfo.value, tmp_path)[:200])

