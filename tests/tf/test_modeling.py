"""TFPreTrainedModel on a tiny custom model: the custom-models guide, deferred init, dtypes, errors, export."""

from __future__ import annotations

import json
import os
import subprocess
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from pretrained import PretrainedConfig  # noqa: E402
from pretrained.errors import ConfigError, MissingBackendError  # noqa: E402
from pretrained.tf import TFModelUtilsMixin, TFModuleUtilsMixin, TFPreTrainedModel, canonical_variables  # noqa: E402
from pretrained.tf.variables import LayerList, declare_input_shape  # noqa: E402

CALLS = {"init": 0}


def counting_init(shape, dtype=None):
    CALLS["init"] += 1
    return keras.random.normal(shape, stddev=0.02, dtype=dtype)


class TinyConfig(PretrainedConfig):
    model_type = "tiny-tf"

    def __init__(self, vocab_size=20, hidden=8, depth=2, **kwargs):
        self.vocab_size, self.hidden, self.depth = vocab_size, hidden, depth
        super().__init__(**kwargs)


class TFTinyModel(TFPreTrainedModel):
    config_class = TinyConfig

    def __init__(self, config, **kwargs):
        super().__init__(config, **kwargs)
        self.embed = declare_input_shape(keras.layers.Embedding(config.vocab_size, config.hidden, name="embed",
                                                                embeddings_initializer=counting_init), None)
        blocks = [declare_input_shape(keras.layers.Dense(config.hidden, kernel_initializer=counting_init, name=str(i)),
                                      (None, None, config.hidden)) for i in range(config.depth)]
        self.layers_ = LayerList(blocks, name="layers")
        self.norm = keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5, name="norm")  # built lazily

    def get_input_embeddings(self):
        return self.embed

    def call(self, input_ids, training=False):
        return self.norm(self.layers_(self.embed(input_ids)), training=training)


def test_canonical_keys_and_layout(tmp_path):
    model = TFTinyModel(TinyConfig())
    model.build_model()
    keys = {v.key: v.canonical_shape for v in canonical_variables(model)}
    assert keys == {"embed.weight": (20, 8), "layers.0.weight": (8, 8), "layers.0.bias": (8,),
                    "layers.1.weight": (8, 8), "layers.1.bias": (8,), "norm.weight": (8,), "norm.bias": (8,),
                    "norm.running_mean": (8,), "norm.running_var": (8,)}
    state = model.canonical_state_dict()
    assert state["norm.num_batches_tracked"].dtype == "int64" and state["norm.num_batches_tracked"].shape == ()
    kernel = model.layers_[0].kernel.numpy()
    np.testing.assert_array_equal(np.asarray(state["layers.0.weight"].owner), kernel.T)  # (in, out) -> (out, in)
    assert model.num_parameters() == 20 * 8 + 2 * (8 * 8 + 8) + 2 * 8
    assert TFModelUtilsMixin is TFModuleUtilsMixin


def test_from_pretrained_runs_no_initializer_for_loaded_weights(tmp_path):
    model = TFTinyModel(TinyConfig())
    model.build_model()
    ids = np.array([[1, 2, 3]])
    model.save_pretrained(tmp_path, max_shard_size="300B")
    assert (tmp_path / "model.safetensors.index.json").exists()
    CALLS["init"] = 0
    loaded = TFTinyModel.from_pretrained(tmp_path)
    assert CALLS["init"] == 0
    np.testing.assert_allclose(loaded(ids).numpy(), model(ids).numpy(), atol=1e-6)
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["architectures"] == ["TinyModel"]  # the PyTorch name and config["dtype"] == "float32"
    # a deeper model: only the new layer is initialised, and the report says so
    CALLS["init"] = 0
    deeper, info = TFTinyModel.from_pretrained(tmp_path, depth=3, output_loading_info=True)
    assert deeper.config.depth == 3 and info["missing_keys"] == ["layers.2.weight", "layers.2.bias"]
    assert CALLS["init"] == 1


def test_float16_loading_and_saving(tmp_path):
    model = TFTinyModel(TinyConfig())
    model.build_model()
    model.save_pretrained(tmp_path / "fp32")
    half = TFTinyModel.from_pretrained(tmp_path / "fp32", dtype="float16", from_pt=True)
    assert half.dtype_policy.name == "float16" and half.layers_[0].kernel.dtype == "float16"
    half.save_pretrained(tmp_path / "fp16")
    assert json.loads((tmp_path / "fp16" / "config.json").read_text())["dtype"] == "float16"
    auto = TFTinyModel.from_pretrained(tmp_path / "fp16", dtype="auto")
    assert auto.embed.embeddings.dtype == "float16"
    np.testing.assert_array_equal(auto.embed.embeddings.numpy(), model.embed.embeddings.numpy().astype(np.float16))


def test_bad_inputs(tmp_path):
    with pytest.raises(ConfigError, match="TinyConfig"):
        TFTinyModel({"hidden": 3})
    with pytest.raises(OSError, match="neither a local directory"):
        TFTinyModel.from_pretrained(tmp_path / "nowhere")


def test_export_and_saved_model(tmp_path):
    model = TFTinyModel(TinyConfig())
    ids = np.array([[1, 2, 3]], np.int32)
    expected = model(ids).numpy()
    model.export(tmp_path / "export", verbose=False)
    reloaded = tf.saved_model.load(str(tmp_path / "export"))  # keep a reference: it owns the variables
    np.testing.assert_allclose(reloaded.serve({"input_ids": tf.constant(ids)})["last_hidden_state"], expected,
                               atol=1e-6)
    tf.saved_model.save(model, str(tmp_path / "sm"), signatures=model.serving)
    loaded = tf.saved_model.load(str(tmp_path / "sm"))
    out = loaded.signatures["serving_default"](input_ids=tf.constant(ids))
    np.testing.assert_allclose(out["last_hidden_state"], expected, atol=1e-6)


def test_register_for_auto_class():
    class TFOther(TFTinyModel):
        pass

    TFOther.register_for_auto_class()
    assert TFOther._auto_class == "TFAutoModel" and TFTinyModel._auto_class is None


def test_other_keras_backend_is_a_clear_error():
    code = "import pretrained.tf"
    env = {**os.environ, "KERAS_BACKEND": "numpy", "TF_CPP_MIN_LOG_LEVEL": "2"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode != 0
    assert "MissingBackendError" in result.stderr and "KERAS_BACKEND=tensorflow" in result.stderr
    assert issubclass(MissingBackendError, ImportError)
