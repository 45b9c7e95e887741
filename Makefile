# Leasing Desk: `make demo` runs the whole product locally; `make test` runs the whole suite.
# Both set themselves up from a fresh clone: they find Python >= 3.12, build .venv and install the
# pinned dependencies (.ci/requirements.lock) the first time, and again when pyproject.toml changes.

SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
LOCK := .ci/requirements.lock

# The first interpreter >= 3.12 that actually runs: python3.13 / python3.12 on PATH, then pyenv's
# versions. (A pyenv shim is on PATH but fails unless a version is selected, so each one is run.)
PYTHON ?= $(shell for p in python3.13 python3.12 python3 \
    $$(ls -d "$$(pyenv root 2>/dev/null || echo "$$HOME/.pyenv")"/versions/3.*/bin/python3 2>/dev/null | sort -rV); do \
  "$$p" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null && { command -v "$$p"; break; }; done)

PIP_FLAGS := --disable-pip-version-check --quiet

.PHONY: demo test bench lint install install-dev lock clean help

help:
	@echo "make demo   - install, migrate, start simulator + web + worker + beat; prints the URL and a login"
	@echo "make test   - install and run the whole test suite (uses DATABASE_URL / REDIS_URL when set)"
	@echo "make bench  - run the benchmarks in bench/ and write bench/results/*.json"
	@echo "make lint   - ruff and mypy"

$(VENV)/.python-ok:
	@if [ -z "$(PYTHON)" ]; then \
	  echo "Leasing Desk needs Python 3.12 or newer (Django 6 does not run on older ones)." >&2; \
	  echo "Install one (e.g. 'pyenv install 3.12' or your OS package), or run: make PYTHON=/path/to/python3.12 demo" >&2; \
	  exit 1; fi
	@if [ -x $(PY) ] && ! $(PY) -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then \
	  echo "Rebuilding $(VENV): it was made with an older Python"; rm -rf $(VENV); fi
	@[ -x $(PY) ] || { echo "Creating $(VENV) with $(PYTHON) ($$($(PYTHON) --version))"; $(PYTHON) -m venv $(VENV); }
	@touch $@

$(VENV)/.installed: $(VENV)/.python-ok pyproject.toml $(LOCK)
	@echo "Installing dependencies into $(VENV) (pinned by $(LOCK))..."
	@$(PY) -m pip install $(PIP_FLAGS) --upgrade pip 2>&1 | grep -v "is ignored" || true
	@$(PY) -m pip install $(PIP_FLAGS) -c $(LOCK) -e . 2>&1 | grep -v "is ignored" || true
	@$(PY) -c 'import django, celery, httpx, django_htmx, uvicorn, pydantic' || { echo "Dependency install failed (see the pip output above)" >&2; exit 1; }
	@touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	@echo "Installing test dependencies..."
	@$(PY) -m pip install $(PIP_FLAGS) -c $(LOCK) -e '.[dev]' 2>&1 | grep -v "is ignored" || true
	@$(PY) -c 'import pytest, pytest_django, playwright, respx, hypothesis' || { echo "Test dependency install failed (see above)" >&2; exit 1; }
	@touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

demo: install
	@$(PY) manage.py migrate --noinput -v 0
	@$(PY) manage.py demo

test: install-dev
	@$(PY) -m pytest $(PYTEST_ARGS)

bench: install-dev
	@for b in bench/*.py; do echo "== $$b"; $(PY) $$b $(BENCH_ARGS) || exit 1; done

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy dashboard integrations

# Re-resolve the pinned versions (needs a venv made by `make install-dev`).
lock:
	@rm -rf /tmp/leasing-lock-venv && $(PYTHON) -m venv /tmp/leasing-lock-venv
	@/tmp/leasing-lock-venv/bin/pip install $(PIP_FLAGS) -e '.[dev]' 2>&1 | grep -v "is ignored" || true
	@/tmp/leasing-lock-venv/bin/pip freeze --exclude-editable | grep -v '^-e' > $(LOCK)
	@echo "wrote $(LOCK)"

clean:
	rm -rf $(VENV) var
