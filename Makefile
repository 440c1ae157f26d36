# Every target a person runs. `make demo` and `make test` set everything up on a fresh machine.
SHELL := /bin/bash
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export TALKTRACKS_DATA_DIR ?= talktracks-data

.PHONY: demo test bench lint format clean install sample-audio

$(BIN)/python:
	@command -v $(PY) >/dev/null 2>&1 || { echo "need $(PY) on PATH"; exit 1; }
	$(PY) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

# Synthetic year of history (talktracks.demo) + the ten sample calls; each step is timed.
demo:
	@t0=$$(date +%s); $(MAKE) --no-print-directory install; echo "    install took $$(( $$(date +%s) - t0 )) s"
	$(BIN)/python scripts/run_demo.py

test: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python bench/bench_pipeline.py
	$(BIN)/python bench/bench_tagging.py
	$(BIN)/python bench/bench_analyze.py
	$(BIN)/python bench/bench_memory.py
	$(BIN)/python bench/bench_cli_startup.py

lint: $(STAMP)
	$(BIN)/ruff check src tests flows bench scripts
	$(BIN)/ruff format --check src tests flows bench scripts

format: $(STAMP)
	$(BIN)/ruff format src tests flows bench scripts
	$(BIN)/ruff check --fix src tests flows bench scripts

sample-audio: $(STAMP)
	$(BIN)/python scripts/make_sample_audio.py

clean:
	rm -rf $(VENV) $(TALKTRACKS_DATA_DIR) artifacts .pytest_cache
