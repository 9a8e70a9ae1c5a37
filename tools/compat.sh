#!/usr/bin/env bash
# Past CI (`make compat`): the oldest supported versions (constraints/compat.txt) in .venv-compat, then the core,
# round-trip and cross-framework tests against them, in two phases:
#   1. torch + TensorFlow at their floors with numpy 1.26 (the numpy floor);
#   2. + jax / Flax at their floors (numpy 2.0, the oldest jax 0.8 accepts), and the whole subset.
# The first run downloads the old torch (a CUDA build from PyPI, ~3.5 GB with its nvidia-* wheels) and TensorFlow
# into pip's cache; later runs reuse .venv-compat and the cache.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-python3}
VENV=${COMPAT_VENV:-.venv-compat}
PINS=constraints/compat.txt
start=$(date +%s)
stamp() { echo "[compat $(( $(date +%s) - start ))s] $*"; }
pip() { "$VENV/bin/python" -m pip "$@"; }
pytest() { "$VENV/bin/python" -m pytest -q -p no:cacheprovider -n 2 --dist loadgroup -W ignore::DeprecationWarning "$@"; }
check_env() {
    # torch requires triton, removed on purpose (it segfaults beside TensorFlow); anything else is a real conflict
    local out
    out=$(pip check 2>&1 | grep -v -i "requires triton" || true)
    if [ -n "$out" ] && [ "$out" != "No broken requirements found." ]; then echo "$out"; exit 1; fi
    "$VENV/bin/python" - <<'PY'
from importlib.metadata import version
names = ["torch", "torchvision", "timm", "tensorflow", "keras", "jax", "flax", "numpy", "safetensors",
         "huggingface_hub", "tqdm"]
found = []
for name in names:
    try:
        found.append(f"{name} {version(name)}")
    except Exception:
        pass
print("  " + ", ".join(found))
PY
}

test -x "$VENV/bin/python" || "$PY" -m venv "$VENV"
pip install -q --upgrade pip

stamp "phase 1: install torch + TensorFlow floors, numpy 1.26"
pip uninstall -y -q jax jaxlib flax 2>/dev/null || true   # a rerun starts from phase 1 again
pip install -q --prefer-binary -c "$PINS" "numpy==1.26.0" -e ".[torch,tf,test]"
pip uninstall -y -q triton 2>/dev/null || true
check_env
stamp "phase 1: tests"
pytest tests/core tests/torch tests/tf tests/test_cross_torch_tf.py tests/test_import.py \
    tests/models --ignore=tests/models/bert/test_modeling_flax_bert.py \
    --ignore=tests/models/resnet/test_modeling_flax_resnet.py \
    --deselect tests/tf/test_modeling.py::test_other_keras_backend_is_a_clear_error

stamp "phase 2: install jax / Flax floors, numpy 2.0"
pip install -q --prefer-binary -c "$PINS" "numpy==2.0.0" -e ".[torch,tf,flax,test]"
pip uninstall -y -q triton 2>/dev/null || true
check_env
stamp "phase 2: tests"
pytest tests/core tests/torch tests/tf tests/flax tests/models tests/test_cross_torch_tf.py \
    tests/test_cross_torch_flax.py tests/test_conversion.py tests/test_import.py tests/test_auto.py \
    tests/test_dynamic.py tests/cli tests/modeling_base/test_parity.py tests/reliability/test_hub_faults.py tests/test_tf_timm_segfault_guard.py \
    tests/packaging/test_guard.py
stamp "passed"
