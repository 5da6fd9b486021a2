# Two commands for a fresh machine (see README): `make demo` and `make test`.
# Each creates the virtual environment it needs and installs into it.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

# Extra pip flags for the install: CI passes "--upgrade --upgrade-strategy eager" so that every
# dependency (and theirs) is the newest release, as a user installing today would get.
INSTALL_FLAGS ?=
# The instant `make test-faketime` starts the wall clock at, in FAKE_TZ (the clock then ticks).
FAKE_AT ?= 2026-12-06 03:00:00
FAKE_TZ ?= Asia/Seoul

.PHONY: demo test test-faketime reliability check lint venv clean npm

$(BIN)/botkit: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet $(INSTALL_FLAGS) -e ".[dev]"
	@touch $(BIN)/botkit

venv: $(BIN)/botkit

# The Mermaid library the diagram's browser test renders with (tests/browser/test_mermaid.py),
# from the npm registry; installed once, when npm is there (without Chromium the browser tests
# are skipped anyway).
MERMAID := tests/browser/mermaid/node_modules/mermaid/package.json
$(MERMAID): tests/browser/mermaid/package.json
	@if command -v npm >/dev/null; then \
	  npm install --silent --no-audit --no-fund --prefix tests/browser/mermaid && touch $@; \
	else echo "npm not found: the Mermaid browser test will say how to install it"; fi

npm: $(MERMAID)

# Runs the reference bot in the console simulator, on the embedded SQLite store, with its
# courier lookup and refund answered by fixtures (no server to run) and its experiments pinned
# to variant A (flows/tests/demo.fixtures.yaml). /help lists the commands.
demo: venv
	$(BIN)/botkit check flows/
	$(BIN)/botkit shell flows/ --fixtures flows/tests/demo.fixtures.yaml

# How `make test` runs pytest: on PYTEST_WORKERS processes (pytest-xdist), each test file on one
# of them so that a file's session fixtures (planted traffic, the CLI's runs) are built once, and
# with the tests' scratch files (SQLite stores, uploads) on a RAM disk when the machine has one:
# the suite writes thousands of small databases, and on a busy disk their fsyncs were most of
# its time (11 minutes instead of 6 on a 2-core machine). PYTEST_WORKERS=0 runs in one process.
PYTEST_WORKERS ?= 2
PYTEST := $(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile
SCRATCH = tmp=$$(mktemp -d -p /dev/shm botkit-tests.XXXXXX 2>/dev/null || mktemp -d); \
	trap 'rm -rf "$$tmp"' EXIT; export TMPDIR="$$tmp";

# The whole test suite, exactly as CI runs it.
test: venv npm
	@$(SCRATCH) $(PYTEST)

# The whole suite again on a faked wall clock (Debian's faketime, apt-get install faketime), as
# CI runs it: by default Sunday 03:00 in Seoul, when the reference bot's CS team is out. A test
# that reads the wall clock, the weekday or the machine's time zone instead of an injected clock
# fails here. Another instant: make test-faketime FAKE_AT="2026-12-25 11:00:00" FAKE_TZ=UTC.
# FAKETIME_DONT_FAKE_MONOTONIC is left unset: with it, libfaketime 0.9.10 makes time.sleep fail
# (EINVAL); without it the monotonic clock is shifted too and still ticks, which is all we need.
test-faketime: venv npm
	@$(SCRATCH) TZ="$(FAKE_TZ)" faketime -f "@$(FAKE_AT)" $(PYTEST)

# The reliability suite's full run (tests/reliability, docs/reliability.md): kill -9 mid-burst,
# same-user bursts, the bad-input table, hanging upstreams, secrets in logs. Prints its figures;
# PostgreSQL's too when BOTKIT_TEST_POSTGRES_URL is set. `make test` runs its fast subset.
reliability: venv
	BOTKIT_RELIABILITY=full $(BIN)/python -m tests.reliability

lint: venv
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
