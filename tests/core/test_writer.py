"""The streaming writer and the commit: lazy tensors written in canonical layout, safetensors compatibility, the
directory exchange (foreign files kept, metadata kept), the in-place fallback, orphans of killed saves."""

from __future__ import annotations

import json
import os
import stat
import struct
import subprocess
import threading
from pathlib import Path

import ml_dtypes
import numpy as np
import pytest
from safetensors import safe_open

from pretrained.checkpoint import (
    CheckpointReader,
    HostTensor,
    LazyTensor,
    _commit,
    _serialize,
    find_weights,
    load_index,
    read_safetensors_header,
    verify_checkpoint,
    write_checkpoint,
)
from pretrained.checkpoint._lock import directory_lock
from pretrained.checkpoint._tensors import array_chunks
from pretrained.errors import CheckpointError


def lazy(array: np.ndarray, transposed: bool = False, calls: list | None = None) -> LazyTensor:
    """A LazyTensor whose canonical value is `array` (stored transposed, as a backend kernel, when asked)."""
    stored = np.ascontiguousarray(array.T) if transposed else array

    def read():
        if calls is not None:
            calls.append(1)
        return stored.T if transposed else stored

    return LazyTensor(array.dtype.name, tuple(array.shape), read=read)


def arrays(directory, **kwargs) -> dict[str, np.ndarray]:
    with CheckpointReader(find_weights(directory, **kwargs)) as reader:
        return {k: np.array(v) for k, v in reader.iter_tensors()}


def staging_dirs(directory) -> list[str]:
    return sorted(p.name for p in directory.parent.iterdir() if p.name.startswith(".tmp-"))


@pytest.fixture(params=["exchange", "in place"])
def mode(request, monkeypatch):
    monkeypatch.setattr(_commit, "USE_EXCHANGE", request.param == "exchange")
    return request.param


# ------------------------------------------------------------------------------------------------ the format
def test_lazy_tensors_are_read_when_written_in_canonical_layout(tmp_path):
    rng = np.random.default_rng(0)
    data = {
        "big.weight": rng.normal(size=(1500, 700)).astype(np.float32),  # > 2 chunks when transposed
        "conv.weight": rng.normal(size=(8, 3, 3, 3)).astype(np.float32),
        "half.weight": rng.normal(size=(5, 7)).astype(ml_dtypes.bfloat16),
        "bn.num_batches_tracked": np.array(3, np.int64),
        "empty.weight": np.zeros((0, 4), np.float32),
    }
    calls: list = []
    tensors = {k: lazy(v, transposed=v.ndim == 2, calls=calls) for k, v in data.items()}
    kernel = np.ascontiguousarray(np.transpose(data["conv.weight"], (2, 3, 1, 0)))  # Keras (kh, kw, in, out)
    tensors["conv.weight"] = LazyTensor("float32", (8, 3, 3, 3), read=lambda: np.transpose(kernel, (3, 2, 0, 1)))
    assert not calls
    write_checkpoint(tmp_path, tensors)
    assert len(calls) == 4  # each lazy tensor read once, by the writer
    with safe_open(str(tmp_path / "model.safetensors"), framework="np") as handle:
        assert handle.metadata() == {"format": "pt"}
        for key, value in data.items():
            np.testing.assert_array_equal(handle.get_tensor(key), value)
            assert handle.get_tensor(key).dtype == value.dtype


def test_header_is_padded_and_tensors_aligned(tmp_path):
    tensors = {"a.weight": HostTensor.from_numpy(np.ones(3, np.float16)),
               "b.num_batches_tracked": HostTensor.from_numpy(np.zeros((), np.int64)),
               "c.weight": HostTensor.from_numpy(np.ones(5, np.uint8))}
    write_checkpoint(tmp_path, tensors)
    raw = (tmp_path / "model.safetensors").read_bytes()
    (length,) = struct.unpack("<Q", raw[:8])
    assert length % 8 == 0 and raw[8 + length - 1 : 8 + length] in (b" ", b"}")
    infos, _ = read_safetensors_header(tmp_path / "model.safetensors")
    for info in infos.values():  # every tensor starts on a multiple of its element size
        assert (info.offset - 8 - length) % np.dtype(info.dtype).itemsize == 0
    order = sorted(infos, key=lambda k: infos[k].offset)
    assert order == ["b.num_batches_tracked", "a.weight", "c.weight"]


def test_array_chunks_bounded_and_exact():
    a = np.arange(40 * 30, dtype=np.float64).reshape(40, 30)
    sizes = []

    def scratch(n):
        sizes.append(n)
        return np.empty(n, np.uint8)

    out = b"".join(bytes(c) for c in array_chunks(a.T, scratch, chunk_bytes=1000))
    assert np.array_equal(np.frombuffer(out, np.float64).reshape(30, 40), a.T)
    assert max(sizes) <= 1000 and len(sizes) > 1


def test_bad_dtype_and_mismatched_read_name_the_file_and_key(tmp_path):
    write_checkpoint(tmp_path, {"w": HostTensor.from_numpy(np.ones(2, np.float32))})
    before = (tmp_path / "model.safetensors").read_bytes()
    with pytest.raises(CheckpointError, match=r"model\.safetensors.*'x'.*complex64"):
        write_checkpoint(tmp_path, {"x": LazyTensor("complex64", (2,), read=lambda: None)})
    liar = LazyTensor("float32", (3,), read=lambda: np.ones(4, np.float32))
    with pytest.raises(CheckpointError, match=r"model\.safetensors.*'liar'.*float32 \[4\]"):
        write_checkpoint(tmp_path, {"liar": liar})

    def broken():
        raise RuntimeError("device lost")

    with pytest.raises(RuntimeError, match="device lost"):
        write_checkpoint(tmp_path, {"w": LazyTensor("float32", (2,), read=broken)})
    assert (tmp_path / "model.safetensors").read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["model.safetensors"] and not staging_dirs(tmp_path)


def test_sharded_digests_match_the_files(tmp_path):
    rng = np.random.default_rng(1)
    tensors = {f"layer.{i}.weight": lazy(rng.normal(size=(64, 32)).astype(np.float32), transposed=True)
               for i in range(6)}
    write_checkpoint(tmp_path, tensors, max_shard_size=20_000)
    checkpoint = find_weights(tmp_path)
    assert len(checkpoint.files) == 3
    verify_checkpoint(checkpoint)  # the digests computed while writing are the files' digests


def test_write_error_in_background_thread_surfaces(tmp_path, monkeypatch, mode):
    write_checkpoint(tmp_path, {"w": HostTensor.from_numpy(np.ones(2, np.float32))})
    calls = {"n": 0}
    real_write = os.write

    def flaky(fd, data):
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError(28, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(_serialize, "_write", flaky)
    big = {f"t.{i}.weight": lazy(np.ones((600, 600), np.float32), transposed=True) for i in range(4)}
    with pytest.raises(CheckpointError, match="No space left on device.*previous checkpoint is intact"):
        write_checkpoint(tmp_path, big, max_shard_size="2MB")
    assert sorted(os.listdir(tmp_path)) == ["model.safetensors"] and not staging_dirs(tmp_path)
    assert list(arrays(tmp_path)) == ["w"]
    assert threading.active_count() < 10  # the writer threads ended


# ------------------------------------------------------------------------------------------------ the commit
def _save(directory, n: int, seed: int, **kwargs):
    rng = np.random.default_rng(seed)
    tensors = {f"layer.{i}.weight": HostTensor.from_numpy(rng.normal(size=(64,)).astype(np.float32)) for i in range(n)}
    config = json.dumps({"seed": seed}).encode()
    write_checkpoint(directory, tensors, extra_files={"config.json": config}, **kwargs)
    return {k: t.owner for k, t in tensors.items()}


LAYOUTS = {
    "single": {},
    "3 shards": {"max_shard_size": 600},
    "4 shards": {"max_shard_size": 300},
    "bin": {"serialize": "bin"},
    "bin 3 shards": {"serialize": "bin", "max_shard_size": 600},
}


def _kwargs(layout: str) -> dict:
    kwargs = dict(LAYOUTS[layout])
    if kwargs.pop("serialize", None):
        pytest.importorskip("torch")
        from pretrained.checkpoint._legacy import write_bin_shard

        kwargs["serialize"] = write_bin_shard
    return kwargs


@pytest.mark.parametrize("old", list(LAYOUTS))
@pytest.mark.parametrize("new", ["single", "3 shards", "bin"])
def test_any_layout_replaces_any_layout(tmp_path, old, new, mode):
    directory = tmp_path / "ckpt"
    _save(directory, 6, seed=1, **_kwargs(old))
    (directory / "README.md").write_text("mine")
    expected = _save(directory, 6, seed=2, **_kwargs(new))
    loaded = arrays(directory)
    assert loaded.keys() == expected.keys() and all(np.array_equal(loaded[k], expected[k]) for k in expected)
    assert json.loads((directory / "config.json").read_text()) == {"seed": 2}
    names = set(os.listdir(directory)) - {"README.md", "config.json"}
    index = [n for n in names if n.endswith(".json")]
    used = {p.name for p in load_index(directory / index[0]).files} | set(index) if index else names
    assert names == used, f"stale weight files: {sorted(names - used)}"
    assert not staging_dirs(directory) and not [n for n in names if n.startswith(".")]


def test_same_shard_names_in_place_take_other_names(tmp_path, monkeypatch):
    monkeypatch.setattr(_commit, "USE_EXCHANGE", False)
    _save(tmp_path, 6, seed=1, max_shard_size=600)
    expected = _save(tmp_path, 6, seed=2, max_shard_size=600)
    shards = sorted(n for n in os.listdir(tmp_path) if n.endswith(".safetensors"))
    assert len(shards) == 3 and all(len(n.split(".")) == 3 for n in shards)  # model-0000i-of-00003.<token>.safetensors
    assert all(np.array_equal(arrays(tmp_path)[k], v) for k, v in expected.items())
    _save(tmp_path, 6, seed=3, max_shard_size=600)  # no collision now: the standard names again
    assert sorted(n for n in os.listdir(tmp_path) if n.endswith(".safetensors")) == [
        f"model-0000{i}-of-00003.safetensors" for i in (1, 2, 3)]


def test_exchange_keeps_foreign_files_and_directory_metadata(tmp_path):
    directory = tmp_path / "ckpt"
    _save(directory, 2, seed=1)
    (directory / "tokenizer.json").write_text("tok")
    (directory / "sub" / "deeper").mkdir(parents=True)
    (directory / "sub" / "deeper" / "notes.txt").write_text("n")
    os.chmod(directory / "sub", 0o750)
    os.symlink("tokenizer.json", directory / "link.json")
    _save(directory, 2, seed=1, variant="fp16")  # another variant is a foreign file for the next save
    os.chmod(directory, 0o751)
    inode, directory_inode = (directory / "tokenizer.json").stat().st_ino, directory.stat().st_ino
    _save(directory, 3, seed=2)
    assert directory.stat().st_ino != directory_inode  # a new directory took the old one's place
    assert (directory / "tokenizer.json").stat().st_ino == inode  # hard-linked, not copied
    assert (directory / "sub" / "deeper" / "notes.txt").read_text() == "n"
    assert stat.S_IMODE((directory / "sub").stat().st_mode) == 0o750
    assert stat.S_IMODE(directory.stat().st_mode) == 0o751
    assert os.readlink(directory / "link.json") == "tokenizer.json"
    assert (directory / "model.fp16.safetensors").is_file()
    assert len(arrays(directory)) == 3 and len(arrays(directory, variant="fp16")) == 2
    assert not staging_dirs(directory)


def test_save_through_a_symlink_replaces_the_target(tmp_path):
    real = tmp_path / "runs" / "3"
    _save(real, 2, seed=1)
    link = tmp_path / "latest"
    link.symlink_to(real)
    _save(link, 2, seed=2)
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert json.loads((real / "config.json").read_text()) == {"seed": 2}
    assert not staging_dirs(real)


def test_current_directory_is_saved_in_place(tmp_path, monkeypatch):
    directory = tmp_path / "ckpt"
    _save(directory, 2, seed=1)
    monkeypatch.chdir(directory)
    inode = directory.stat().st_ino
    _save(".", 2, seed=2)
    assert directory.stat().st_ino == inode and os.getcwd() == str(directory)
    assert json.loads((directory / "config.json").read_text()) == {"seed": 2}


def test_orphans_of_killed_saves_are_cleaned(tmp_path):
    directory = tmp_path / "ckpt"
    _save(directory, 2, seed=1)
    dead = 2**22 + 12345  # above pid_max: no such process
    never = tmp_path / f".tmp-{dead}-0123abcd-ckpt"  # a save killed before its exchange
    never.mkdir()
    (never / _commit.MARKER).touch()
    (never / "model.safetensors").write_bytes(b"partial")
    replaced = tmp_path / f".tmp-{dead}-4567cdef-ckpt"  # killed after it: holds the replaced directory
    replaced.mkdir()
    (replaced / "config.json").write_text("{}")
    os.link(directory / "model.safetensors", replaced / "model.safetensors")
    (replaced / "late.txt").write_text("written while the killed save ran")
    (directory / f".tmp-{dead}-89abcdef-model.safetensors").write_bytes(b"x")  # an in-place save's temp file
    other = tmp_path / f".tmp-{dead}-0123abcd-other"  # another directory's: not ours to touch
    other.mkdir()
    _save(directory, 2, seed=2)
    assert not never.exists() and not replaced.exists() and other.exists()
    assert (directory / "late.txt").read_text() == "written while the killed save ran"
    assert not [n for n in os.listdir(directory) if n.startswith(".")]


def test_reader_lock_follows_an_exchanged_directory(tmp_path):
    directory = tmp_path / "ckpt"
    _save(directory, 2, seed=1)
    before = directory.stat().st_ino
    with directory_lock(directory, shared=True):
        done = threading.Event()
        thread = threading.Thread(target=lambda: (_save(directory, 2, seed=2), done.set()))
        thread.start()
        assert not done.wait(0.5), "the save committed while a reader held the lock"
    thread.join(30)
    assert done.is_set() and directory.stat().st_ino != before
    with directory_lock(directory, shared=True):  # locks the new directory, not the replaced one
        assert json.loads((directory / "config.json").read_text()) == {"seed": 2}


ANCHOR = Path(os.environ.get("PRETRAINED_ANCHOR_PYTHON",
                             Path(__file__).resolve().parents[2] / ".venv-anchor" / "bin" / "python"))


@pytest.mark.skipif(not ANCHOR.exists(), reason="no transformers v4 interpreter (bench/anchor.sh builds .venv-anchor)")
def test_transformers_v4_reads_what_the_writer_writes(tmp_path):
    torch = pytest.importorskip("torch")
    from pretrained.models.bert import BertConfig, BertModel

    torch.manual_seed(0)
    model = BertModel(BertConfig(vocab_size=300, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                                 intermediate_size=128))
    model.save_pretrained(tmp_path / "single")
    model.save_pretrained(tmp_path / "sharded", max_shard_size="50KB")
    np.savez(tmp_path / "ref.npz", **{k: v.numpy() for k, v in model.state_dict().items()})
    script = (
        "import sys, numpy as np\nfrom transformers import BertModel\nref = np.load(sys.argv[1])\n"
        "for d in sys.argv[2:]:\n"
        "    m, info = BertModel.from_pretrained(d, output_loading_info=True)\n"
        "    sd = m.state_dict()\n"
        "    assert not info['missing_keys'] and not info['unexpected_keys'], info\n"
        "    assert all(np.array_equal(sd[k].numpy(), ref[k]) for k in ref.files if k in sd), d\n"
        "print('ok')\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([str(ANCHOR), "-c", script, str(tmp_path / "ref.npz"), str(tmp_path / "single"),
                           str(tmp_path / "sharded")], capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0 and done.stdout.strip().endswith("ok"), done.stderr[-2000:]
