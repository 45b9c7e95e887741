"""Fixtures of the dashboard's assignment views: the cast of tests/dashboard."""

from tests.dashboard.conftest import fast_passwords, world

__all__ = ["fast_passwords", "world"]
