# Two commands on a fresh machine: `make demo` and `make test`. Both build .venv when it is missing.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.pretrained-installed

.PHONY: demo test lint docs bench venv clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[all,test,docs]"
	# triton (pulled in by torch) segfaults beside TensorFlow in one process; it is unused on CPU.
	$(BIN)/python -m pip uninstall -y -q triton || true
	touch $(STAMP)

demo: $(STAMP)
	HF_HUB_DISABLE_XET=1 $(BIN)/python -m pretrained.demo

test: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/python -m pytest -q -p no:cacheprovider -n 2 --dist loadgroup tests

lint: $(STAMP)
	$(BIN)/ruff check src tests bench

docs: $(STAMP)
	$(BIN)/mkdocs build --strict

# Our load benchmark, then the side-by-side comparison with transformers 4.57.6 (bench/anchor.sh builds
# .venv-anchor once; it is never mixed into .venv). Writes docs/benchmarks/. BENCH_ARGS="--runs 5" etc.
BENCH_ARGS ?= --runs 3
bench: $(STAMP)
	$(BIN)/python bench/load.py
	PY=$(PY) bench/anchor.sh
	$(BIN)/python bench/compare.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) site build
