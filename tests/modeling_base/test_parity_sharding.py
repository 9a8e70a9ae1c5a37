"""The parity rows of sharded loading: each scenario runs on every backend that has the option (torch's
`device_mesh` / `tp_plan`, Flax's `mesh` / `partition_rules`, TensorFlow's `tf.distribute` strategy scope), on a
one-device mesh in this process, and the normalised outcomes must agree. Several devices and processes:
tests/distributed."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("tensorflow")
pytest.importorskip("flax")

from pretrained.checkpoint import to_numpy  # noqa: E402
from pretrained.models import bert  # noqa: E402
from pretrained.models.bert import BertConfig  # noqa: E402

PREFIXES = {"torch": "", "tf": "TF", "flax": "Flax"}
CONFIG = dict(vocab_size=50, hidden_size=16, num_hidden_layers=2, num_attention_heads=4, intermediate_size=32,
              max_position_embeddings=32)
# the same bad plan in each backend's spelling: a module / path that does not exist
NO_SUCH_LAYER = {"torch": {"tp_plan": {"encoder.layer.*.nothing": "colwise"}},
                 "flax": {"partition_rules": [(r"encoder/layer/\d+/nothing/kernel", (None, "tp"))]}}


@contextlib.contextmanager
def one_device_mesh(backend: str) -> Iterator[dict[str, Any]]:
    """The backend's sharding options over a one-device mesh named "tp" (TF: a one-device MirroredStrategy scope)."""
    if backend == "torch":
        import torch.distributed as dist
        from torch.distributed.device_mesh import init_device_mesh

        dist.init_process_group("gloo", rank=0, world_size=1, store=dist.HashStore())
        try:
            yield {"device_mesh": init_device_mesh("cpu", (1,), mesh_dim_names=("tp",)), "tp_plan": "auto"}
        finally:
            dist.destroy_process_group()
    elif backend == "flax":
        import jax
        from jax.sharding import Mesh

        yield {"mesh": Mesh(np.array(jax.devices()[:1]), ("tp",))}
    else:
        import tensorflow as tf

        with tf.distribute.MirroredStrategy(["/cpu:0"]).scope():
            yield {}


def state(model: Any) -> dict[str, np.ndarray]:
    return {key: np.array(to_numpy(value), copy=True) for key, value in model.canonical_state_dict().items()}


def checkpoint(backend: str, directory: Path) -> type:
    cls = getattr(bert, PREFIXES[backend] + "BertModel")
    if backend == "torch":
        import torch

        torch.manual_seed(0)
    cls(BertConfig(**CONFIG)).save_pretrained(directory / "ckpt")
    return cls


def sharded_load_equals_plain(backend: str, directory: Path) -> Any:
    cls = checkpoint(backend, directory)
    plain = state(cls.from_pretrained(directory / "ckpt"))
    with one_device_mesh(backend) as options:
        model = cls.from_pretrained(directory / "ckpt", **options)
        model.save_pretrained(directory / "saved")
        loaded = state(model)
    same = plain.keys() == loaded.keys() and all(np.array_equal(plain[k], loaded[k]) for k in plain)
    saved = (directory / "saved" / "model.safetensors").read_bytes()
    return {"same": same, "save_is_canonical": saved == (directory / "ckpt" / "model.safetensors").read_bytes()}


def rule_matching_no_parameter(backend: str, directory: Path) -> Any:
    cls = checkpoint(backend, directory)
    with one_device_mesh(backend) as options:
        cls.from_pretrained(directory / "ckpt", **{**options, **NO_SUCH_LAYER[backend]})


def plan_without_a_mesh(backend: str, directory: Path) -> Any:
    cls = checkpoint(backend, directory)
    cls.from_pretrained(directory / "ckpt", **NO_SUCH_LAYER[backend])


def mesh_of_the_wrong_type(backend: str, directory: Path) -> Any:
    cls = checkpoint(backend, directory)
    cls.from_pretrained(directory / "ckpt", **{"torch": {"device_mesh": "cpu"}, "flax": {"mesh": "cpu"}}[backend])


def outcome(function: Callable[[str, Path], Any], backend: str, directory: Path) -> Any:
    """The scenario's result, or for an exception its class and message with the option's and the rule's spelling
    (which differ by backend) replaced by placeholders."""
    try:
        return function(backend, directory)
    except Exception as exc:  # the outcome of a bad input, compared across backends
        message = str(exc).splitlines()[0]
        message = re.sub(r"\b(tp_plan|partition_rules|device_mesh|mesh)\b", "<option>", message)
        message = re.sub(r"(module pattern|rule) '[^']*'", "<rule>", message)
        message = re.sub(r"\((keys|names) look like .*\)$", "", message)
        message = re.sub(r"must be a [\w.]+", "must be a <mesh>", message)
        return {"raises": type(exc).__name__, "message": message.strip()}


SCENARIOS: dict[str, tuple[Callable[[str, Path], Any], tuple[str, ...], Any]] = {
    "sharded_load_equals_plain": (sharded_load_equals_plain, ("torch", "tf", "flax"),
                                  {"same": True, "save_is_canonical": True}),
    "rule_matching_no_parameter": (rule_matching_no_parameter, ("torch", "flax"),
                                   {"raises": "ConfigError", "message": "<option>: <rule> matches no parameter of the "
                                                                        "model"}),
    "plan_without_a_mesh": (plan_without_a_mesh, ("torch", "flax"), {"raises": "ConfigError"}),
    "mesh_of_the_wrong_type": (mesh_of_the_wrong_type, ("torch", "flax"),
                               {"raises": "ConfigError", "message": "<option> must be a <mesh>, got str"}),
}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_same_outcome_in_every_backend_with_the_option(name: str, tmp_path: Path) -> None:
    function, backends, expected = SCENARIOS[name]
    outcomes = {}
    for backend in backends:
        (tmp_path / backend).mkdir()
        outcomes[backend] = outcome(function, backend, tmp_path / backend)
    first = outcomes[backends[0]]
    if "message" in expected or "raises" not in expected:
        for backend in backends[1:]:
            assert outcomes[backend] == first, f"{backend} differs from {backends[0]}:\n{outcomes}"
    assert {k: first[k] for k in expected} == expected, outcomes
