# Two commands on a fresh machine: `make run` starts the bot, `make test` runs every check.
# Both create ./.venv on first use and reinstall when pyproject.toml changes.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python -m bot

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
	$(BIN)/pytest

# Every benchmark in bench/, full size, one after the other (takes several minutes);
# `make bench BENCH=--smoke` for the few-seconds versions. See bench/README.md.
bench: $(STAMP)
	$(BIN)/python -m bench $(BENCH)
