"""Browser tests reuse the screens' small world (tests/dashboard/conftest.py)."""

from __future__ import annotations

from tests.dashboard.conftest import fast_passwords, world

__all__ = ["fast_passwords", "world"]
