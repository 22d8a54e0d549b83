# Two commands on a fresh machine: `make run` starts the bot, `make test` runs every check.
# Both create ./.venv on first use and install from the lock files (hashes checked), again
# whenever a lock file or pyproject.toml changes. `make run` installs only what running needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --quiet
LOCK := pip-compile --quiet --generate-hashes --strip-extras --allow-unsafe

.PHONY: run test lint bench lock mutate

$(VENV)/.created:
	@$(PYTHON) -c 'import sys; v = sys.version_info; sys.exit(0 if v >= (3, 11) else \
		f"kling-bot needs Python 3.11 or newer, and $(PYTHON) is {v.major}.{v.minor}: run make PYTHON=python3.11 ...")'
	$(PYTHON) -m venv $(VENV)
	touch $@

# Runtime only: what `make run` and the Docker image install.
$(VENV)/.run: requirements.lock pyproject.toml $(VENV)/.created
	$(PIP) install --require-hashes -r requirements.lock
	$(PIP) install --no-deps -e .
	$(PIP) check  # a dependency added to pyproject.toml but not to the lock fails here
	touch $@

# Runtime, linters, test and benchmark tools.
$(VENV)/.dev: requirements-dev.lock pyproject.toml $(VENV)/.created
	$(PIP) install --require-hashes -r requirements-dev.lock
	$(PIP) install --no-deps -e .
	$(PIP) check
	touch $@ $(VENV)/.run

run: $(VENV)/.run
	$(BIN)/python -m bot

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/hadolint Dockerfile

test: lint
	$(BIN)/pytest

# Every benchmark in bench/, full size, one after the other (takes several minutes);
# `make bench BENCH=--smoke` for the few-seconds versions. See bench/README.md.
bench: $(VENV)/.dev
	$(BIN)/python -m bench $(BENCH)

# The mutation check of README's Guarantees table: each mutant in tests/mutations/mutants.py
# breaks one line of the code behind a promise, in a scratch copy, and the tests named for it
# must fail. Several minutes, so not part of `make test`; needs TEST_POSTGRES_URL. Run some
# with `make mutate MUTATE="quota lease"` (ids containing a word), `MUTATE=--jobs=2` on more cores.
mutate: $(VENV)/.dev
	$(BIN)/python -m tests.mutations.run $(MUTATE)

# After changing dependencies in pyproject.toml: pin them again, with hashes.
lock: $(VENV)/.dev
	$(BIN)/$(LOCK) -o requirements.lock pyproject.toml
	$(BIN)/$(LOCK) --extra dev -c requirements.lock -o requirements-dev.lock pyproject.toml
