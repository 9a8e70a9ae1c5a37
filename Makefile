# Two commands on a fresh machine: `make demo` and `make test`. Both build .venv when it is missing.
# .venv is pinned by constraints/dev.txt (`make lock` regenerates it); pyproject.toml only states ranges.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.pretrained-installed
LOCK := constraints/dev.txt
# The dev environment: every backend, with the CPU-only TensorFlow wheel (`pretrained[tf]` is `tensorflow`).
DEV_EXTRAS := torch,tf-cpu,flax,test,docs

.PHONY: demo test lint docs bench venv lock dist smoke compat clean

venv: $(STAMP)

$(STAMP): pyproject.toml $(LOCK)
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c $(LOCK) -e ".[$(DEV_EXTRAS)]"
	# triton (pulled in by torch) segfaults beside TensorFlow in one process; it is unused on CPU.
	$(BIN)/python -m pip uninstall -y -q triton || true
	touch $(STAMP)

demo: $(STAMP)
	HF_HUB_DISABLE_XET=1 $(BIN)/python examples/custom_resnet/demo.py

test: $(STAMP)
	$(BIN)/ruff check src tests bench examples tools
	$(BIN)/python -m pytest -q -p no:cacheprovider -n 2 --dist loadgroup tests

lint: $(STAMP)
	$(BIN)/ruff check src tests bench examples tools

docs: $(STAMP)
	$(BIN)/mkdocs build --strict

# Re-resolve the newest versions pyproject.toml allows and pin them in constraints/dev.txt.
lock:
	PY=$(PY) tools/lock.sh

# Wheel + sdist in dist/ (the wheel is built from the sdist), metadata checked, wheel contents checked and
# compared with a wheel built straight from the tree.
dist: $(STAMP)
	rm -rf dist
	$(BIN)/python -m build --outdir dist .
	$(BIN)/twine check --strict dist/*
	$(BIN)/python tools/check_dist.py dist

# Extras smoke test: the built wheel in a fresh venv per extra ([torch], [tf], [flax] each alone).
smoke: dist
	$(BIN)/python tools/smoke_extras.py --lock $(LOCK) dist/*.whl

# Past CI: the oldest supported versions (constraints/compat.txt) in .venv-compat, and the core, round-trip and
# cross-framework tests.
compat:
	PY=$(PY) tools/compat.sh

# Our load benchmark, then the side-by-side comparison with transformers 4.57.6 (bench/anchor.sh builds
# .venv-anchor once; it is never mixed into .venv). Writes docs/benchmarks/. BENCH_ARGS="--runs 5" etc.
BENCH_ARGS ?= --runs 3
bench: $(STAMP)
	$(BIN)/python bench/load.py
	PY=$(PY) bench/anchor.sh
	$(BIN)/python bench/compare.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .venv-compat .venv-lock site build dist
