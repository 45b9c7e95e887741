"""Links to one object's page ("prospect", "unit", "lockbox"...) and to lists, without resolving the
URL pattern per row."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from django.urls import reverse

_INT_MARK = 987654321987
_UUID_MARK = "0f0f0f0f-0f0f-4f0f-8f0f-0f0f0f0f0f0f"


@lru_cache(maxsize=32)
def _pattern(name: str, kind: str) -> str:
    return reverse(name, args=[_INT_MARK if kind == "int" else _UUID_MARK])


def link(name: str, value: Any) -> str:
    """reverse(name, args=[value]) for the one-id URLs ("prospect", "unit", "lockbox"...)."""
    if isinstance(value, int):
        return _pattern(name, "int").replace(str(_INT_MARK), str(value))
    return _pattern(name, "uuid").replace(_UUID_MARK, str(value))


@lru_cache(maxsize=32)
def list_link(name: str) -> str:
    """reverse(name) for a URL without arguments (a list's own address)."""
    return reverse(name)
