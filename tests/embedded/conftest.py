"""The `embedded` marker: tests that run the whole embedded stack for minutes (`make test` runs
them; skip them locally with `make test PYTEST_ARGS='-m "not embedded"'`)."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "embedded: runs `manage.py demo` in embedded mode for minutes")
