# Two commands for a fresh machine (see README): `make demo` and `make test`.
# Each creates the virtual environment it needs and installs into it.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test check lint venv clean

$(BIN)/botkit: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	@touch $(BIN)/botkit

venv: $(BIN)/botkit

# Runs the reference bot in the console simulator, on the embedded SQLite store, with its
# courier lookup answered by a fixture (no server to run). /help lists the commands.
demo: venv
	$(BIN)/botkit check flows/
	$(BIN)/botkit shell flows/ --fixtures flows/tests/demo.fixtures.yaml

# The whole test suite, exactly as CI runs it.
test: venv
	$(BIN)/python -m pytest

lint: venv
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
