#!/usr/bin/env bash
# Create .venv-anchor: transformers 4.57.6 (the last release with TF and Flax base classes) beside the same
# torch / tensorflow-cpu / jax / flax as the project, for bench/compare.py. Never mixed into .venv.
# Idempotent: a stamp file records a finished install; delete .venv-anchor to rebuild.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PY:-python3}"
VENV="${ANCHOR_VENV:-.venv-anchor}"
STAMP="$VENV/.anchor-installed"
# Keep in step with the project's extras (pyproject.toml); the jax/flax pair is the one v4's Flax BERT runs on.
PKGS=(
  "transformers==4.57.6"
  "huggingface_hub<1.0"
  "torch==2.14.1"
  "torchvision==0.29.1"
  "timm"
  "tensorflow-cpu==2.21.*"
  "tf-keras==2.21.*"
  "jax[cpu]==${ANCHOR_JAX:-0.10.2}"
  "flax==${ANCHOR_FLAX:-0.12.8}"
  "safetensors"
  "psutil"
  "numpy"
)
if [[ -f "$STAMP" ]]; then
  echo "anchor: $VENV is ready ($(cat "$STAMP"))"
  exit 0
fi
test -x "$VENV/bin/python" || "$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q "${PKGS[@]}"
# triton (pulled in by torch) segfaults beside TensorFlow in one process; it is unused on CPU.
"$VENV/bin/python" -m pip uninstall -y -q triton || true
"$VENV/bin/python" - <<'PY'
import transformers, torch, tensorflow, jax, flax
print("anchor smoke: transformers", transformers.__version__, "torch", torch.__version__,
      "tf", tensorflow.__version__, "jax", jax.__version__, "flax", flax.__version__)
PY
"$VENV/bin/python" -m pip freeze | grep -iE '^(transformers|torch|tensorflow|tf.keras|jax|flax)' | tr '\n' ' ' > "$STAMP"
echo "anchor: $VENV ready"
