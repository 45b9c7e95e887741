"""What the live-screen tests share."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import connections

from tests.dashboard.conftest import fast_passwords, world

__all__ = ["fast_passwords", "world"]


@pytest.fixture(autouse=True)
def connections_close_after_each_request() -> Iterator[None]:
    """Requests served through the ASGI app in this process run their ORM calls on threads that
    end with the request; with a persistent CONN_MAX_AGE their connections would outlive them and
    keep the test database from being dropped. Closing at the end of each request avoids that."""
    config = connections.settings["default"]
    saved = config.get("CONN_MAX_AGE", 0)
    config["CONN_MAX_AGE"] = 0
    yield
    config["CONN_MAX_AGE"] = saved
