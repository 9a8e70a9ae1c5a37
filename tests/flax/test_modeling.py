"""FlaxPreTrainedModel on a tiny custom NNX model: keys, abstract loading, partial init, params, dtypes, Hub."""

from __future__ import annotations

from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

import pretrained
from pretrained import PretrainedConfig
from pretrained.errors import ConfigError, ShapeMismatchError
from pretrained.flax import FlaxPreTrainedModel

CALLS: list[bool] = []  # for each initialiser call: was it run on concrete values (a real random init)?


def recording_init(key, shape, dtype=jnp.float32):
    CALLS.append(not isinstance(key, jax.core.Tracer))
    return jax.random.normal(key, shape, dtype) * 0.5 + 3.0


class TinyConfig(PretrainedConfig):
    model_type = "flax-tiny-test"

    def __init__(self, vocab: int = 11, hidden: int = 4, **kwargs):
        self.vocab = vocab
        self.hidden = hidden
        super().__init__(**kwargs)


class Stats(nnx.Module):
    def __init__(self, hidden: int):
        self.mean = nnx.Param(jnp.ones((hidden,)))  # a Param called "mean": not a running mean


class FlaxTiny(FlaxPreTrainedModel):
    config_class = TinyConfig
    base_model_prefix = "tiny"

    def __init__(self, config, *, rngs=None, dtype=jnp.float32, param_dtype=jnp.float32):
        super().__init__(config, rngs=rngs, dtype=dtype, param_dtype=param_dtype)
        self.embed = nnx.Embed(config.vocab, config.hidden, param_dtype=param_dtype, rngs=self.rngs)
        self.layers = nnx.List([nnx.Linear(config.hidden, config.hidden, kernel_init=recording_init,
                                           param_dtype=param_dtype, rngs=self.rngs), None,
                                nnx.BatchNorm(config.hidden, param_dtype=param_dtype, rngs=self.rngs)])
        self.stats = Stats(config.hidden)
        self.post_init()

    def get_input_embeddings(self):
        return self.embed

    def __call__(self, input_ids):
        hidden = self.layers[2](self.layers[0](self.embed(jnp.asarray(input_ids))))
        return hidden * self.stats.mean.get_value()


IDS = np.array([[1, 2, 3]])


def test_canonical_keys_follow_the_leaf_rules() -> None:
    keys = FlaxTiny(TinyConfig()).canonical_state_dict()
    assert set(keys) == {
        "embed.weight", "layers.0.weight", "layers.0.bias", "layers.2.weight", "layers.2.bias",
        "layers.2.running_mean", "layers.2.running_var", "layers.2.num_batches_tracked", "stats.mean",
    }
    assert keys["layers.0.weight"].shape == (4, 4) and keys["layers.2.num_batches_tracked"].dtype == "int64"


def test_from_pretrained_runs_no_initialiser_for_loaded_weights(tmp_path: Path) -> None:
    model = FlaxTiny(TinyConfig())
    model.save_pretrained(tmp_path)
    CALLS.clear()
    loaded = FlaxTiny.from_pretrained(tmp_path)
    assert CALLS and not any(CALLS)  # only traced (abstract), never run
    assert loaded.layers[2].use_running_average  # eval mode
    np.testing.assert_array_equal(np.asarray(model.eval()(IDS)), np.asarray(loaded(IDS)))


def test_only_missing_leaves_are_initialised(tmp_path: Path) -> None:
    from safetensors.numpy import load_file, save_file

    model = FlaxTiny(TinyConfig())
    model.save_pretrained(tmp_path)
    weights = load_file(tmp_path / "model.safetensors")
    del weights["layers.0.weight"]
    save_file(weights, tmp_path / "model.safetensors", metadata={"format": "pt"})
    loaded, info = FlaxTiny.from_pretrained(tmp_path, output_loading_info=True, seed=3)
    assert info["missing_keys"] == ["layers.0.weight"]
    kernel = np.asarray(loaded.layers[0].kernel.get_value())
    assert abs(kernel.mean() - 3.0) < 1.0  # the module's own initialiser, not zeros
    np.testing.assert_array_equal(np.asarray(loaded.embed.embedding.get_value()), weights["embed.weight"])


def test_prefix_is_added_and_stripped(tmp_path: Path) -> None:
    model = FlaxTiny(TinyConfig())
    tensors = {f"tiny.{k}": np.array(t.owner) for k, t in model.canonical_state_dict().items()}
    from safetensors.numpy import save_file

    save_file(tensors, tmp_path / "model.safetensors", metadata={"format": "pt"})
    TinyConfig().save_pretrained(tmp_path)
    loaded, info = FlaxTiny.from_pretrained(tmp_path, output_loading_info=True)
    assert info["missing_keys"] == [] and info["unexpected_keys"] == []
    np.testing.assert_array_equal(np.asarray(loaded.stats.mean.get_value()), tensors["tiny.stats.mean"])


def test_params_view_setter_and_casts() -> None:
    model = FlaxTiny(TinyConfig())
    params = model.params
    assert set(params) == {"embed", "layers", "stats"} and "mean" not in params["layers"][2]
    model.params = {"stats": {"mean": jnp.full((4,), 2.0)}}
    assert float(model.stats.mean.get_value()[0]) == 2.0
    with pytest.raises(ShapeMismatchError):
        model.params = {"stats": {"mean": jnp.ones((5,))}}
    with pytest.raises(ValueError, match="unknown"):
        model.params = {"nope": jnp.ones(1)}
    mask = jax.tree.map(lambda _: False, params)
    mask["embed"]["embedding"] = True
    half = model.to_fp16(params, mask)
    assert half["embed"]["embedding"].dtype == jnp.float16 and half["stats"]["mean"].dtype == jnp.float32
    assert jax.tree.leaves(model.to_fp32(model.to_bf16(params)))[0].dtype == jnp.float32


def test_param_dtype_and_compute_dtype(tmp_path: Path) -> None:
    FlaxTiny(TinyConfig()).save_pretrained(tmp_path)
    model = FlaxTiny.from_pretrained(tmp_path, param_dtype=jnp.bfloat16, dtype=jnp.float32)
    assert model.embed.embedding.get_value().dtype == jnp.bfloat16 and model.dtype == jnp.float32


def test_misc_surface(tmp_path: Path) -> None:
    assert pretrained.FlaxPreTrainedModel is FlaxPreTrainedModel
    model = FlaxTiny(TinyConfig())
    assert model.num_parameters() == 11 * 4 + 4 * 4 + 4 + 4 + 4 + 4
    assert model.eval() is model and model.layers[2].use_running_average
    assert model.train() is model and not model.layers[2].use_running_average
    with pytest.raises(ConfigError, match="TinyConfig"):
        FlaxTiny(PretrainedConfig())
    FlaxTiny.register_for_auto_class()
    assert FlaxTiny._auto_class == "FlaxAutoModel"
    FlaxTiny._auto_class = None
    out = nnx.jit(lambda m, ids: m(ids))(model.eval(), jnp.asarray(IDS))
    np.testing.assert_allclose(np.asarray(out), np.asarray(model(IDS)), atol=1e-6)


def test_push_to_hub_and_load_by_repo_id(tmp_path: Path) -> None:
    from pretrained.testing import LocalHub

    model = FlaxTiny(TinyConfig()).eval()
    with LocalHub():
        model.push_to_hub("me/flax-tiny", max_shard_size="200B")
        loaded = FlaxTiny.from_pretrained("me/flax-tiny", cache_dir=tmp_path)
    np.testing.assert_array_equal(np.asarray(loaded(IDS)), np.asarray(model(IDS)))
