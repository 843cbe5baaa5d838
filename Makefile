# One command to set up and run each job. The venv is created on first use.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: install demo test lint bench eval fit baselines train-reader clean

# The answering path needs no torch: `make demo` installs the package alone, `make install` adds
# the test and lint tools, `make baselines` the MiniLM embedder (torch) for bench/baselines.py.
$(VENV)/.package: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed: $(VENV)/.package
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

$(VENV)/.baselines: $(VENV)/.installed
	# torch first, pinned to the CPU wheel, so sentence-transformers does not pull a multi-GB CUDA build.
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev,baselines]'
	touch $@

install: $(VENV)/.installed

baselines: $(VENV)/.baselines
	$(BIN)/python bench/baselines.py

demo: $(VENV)/.package
	$(BIN)/qabot ask "What did Scholz say?"

test: install
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check index bot tests bench
	$(BIN)/mypy index bot

bench: install
	$(BIN)/python bench/bench.py

eval: install
	$(BIN)/qabot eval eval/dev.jsonl --with-source tests/data/harbour.txt --with-source tests/data/quake.md

fit: install
	$(BIN)/python bench/fit.py --write

# Retrain the reader from train/data/ (train/reader.toml; about an hour on 2 cores) and ship it
# to index/data/; then refit the answer model on it with `make fit`.
train-reader: install
	$(BIN)/pip install --quiet -e '.[train]'
	$(BIN)/python train/train_reader.py --ship
	QABOT_EXPORT_TEST=1 $(BIN)/python -m pytest -q tests/test_reader.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
