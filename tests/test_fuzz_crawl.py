"""Every URL the dashboard serves, crawled with hostile values in its path, its query and its form:
bad input is a 4xx or a clamped page, never a 5xx."""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from dashboard.lists import filters as list_filters
from dashboard.lists.filtering import ListFilter
from tests.dashboard.conftest import LOCKBOX_MAPLE, fast_passwords, world

__all__ = ["fast_passwords", "world"]  # fixtures

pytestmark = pytest.mark.django_db

FUZZ = [
    "\x00",
    "a\x00b",
    "x" * 10_000,
    "9999-12-31",
    "0001-01-01",
    "-1",
    str(2**63),
    str(-(2**63) - 1),
    "1e999999",
    "NaN",
    "%ff%fe",
    "🏠" * 50,
    "not-a-cursor",
    "eyJnYXJiYWdlIjogdHJ1ZX0",  # base64 of a JSON the cursor decoder won't expect
    "",
]
INVALID_UTF8 = "q=%ff%fe%00&after=%c3%28&date=%ff&s=%80&sort=%fe"
# Query and form names the views read, besides every list filter's own.
EXTRA_NAMES = {"after", "keep", "only", "q", "since", "was", "s", "view", "date", "sort", "account", "next", "ids",
               "resource", "role", "accounts", "name", "id", "full", "query", "list", "default", "shared", "step",
               "user_ids", "note", "source", "apply_in_bulk", "rentengine_user_id", "until", "created_from", "created_to"}  # fmt: skip
PATH_VALUES = {"int": ["3318", "0", str(2**63), "999999999999"], "uuid": [LOCKBOX_MAPLE, "00000000-0000-0000-0000-000000000000"],
               "str": ["x", "a" * 300], "slug": ["x"], "path": ["x"]}  # fmt: skip
SKIPPED = (
    "admin/",
    "logout/",
    "webhooks/",
    "metrics",
)  # Django's admin; logging out mid-crawl; machine endpoints with their own tests


def names() -> set[str]:
    found = set(EXTRA_NAMES)
    for _, cls in inspect.getmembers(list_filters, inspect.isclass):
        if issubclass(cls, ListFilter) and cls is not ListFilter:
            found |= set(cls.base_filters) | set(getattr(cls, "FIELDS", {}))
    return found


def patterns(resolver: URLResolver | None = None, prefix: str = "") -> Iterator[tuple[str, URLPattern]]:
    for entry in (resolver or get_resolver()).url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from patterns(entry, route)
        else:
            yield route, entry


def paths(route: str) -> list[str]:
    """The route with every converter filled in, once per value to try."""
    converters = re.findall(r"<(?:(\w+):)?\w+>", route)
    if not converters:
        return ["/" + route.lstrip("^").rstrip("$")]
    out = []
    for value_index in range(4):
        path = route
        for kind in converters:
            values = PATH_VALUES.get(kind or "str", ["x"])
            path = re.sub(r"<(?:\w+:)?\w+>", values[value_index % len(values)], path, count=1)
        out.append("/" + path)
    return sorted(set(out))


def crawl(client: Client) -> list[str]:
    failures = []
    fields = sorted(names())
    for route, _ in patterns():
        if route.startswith(SKIPPED):
            continue
        variants = paths(route)
        tries = [(variants[0], value) for value in FUZZ] + [(path, "") for path in variants[1:]]
        for path, value in tries:
            query = {name: value for name in fields}
            for answer in (client.get(path, query), client.post(path, query)):
                if answer.status_code >= 500:
                    failures.append(f"{answer.request['REQUEST_METHOD']} {path} {value[:20]!r}: {answer.status_code}")
        raw = client.get(f"{variants[0]}?{INVALID_UTF8}")  # bytes that are not UTF-8, sent as they are
        if raw.status_code >= 500:
            failures.append(f"GET {variants[0]} invalid UTF-8: {raw.status_code}")
    return failures


def test_a_manager_crawling_every_url_with_hostile_values_never_gets_a_5xx(world: Any, mia_client: Client) -> None:
    assert crawl(mia_client) == []


def test_an_agent_crawling_every_url_with_hostile_values_never_gets_a_5xx(world: Any, client: Client, ari: Any) -> None:
    client.force_login(ari)
    assert crawl(client) == []


def test_a_stranger_crawling_every_url_never_gets_a_5xx(client: Client, db: None) -> None:
    assert crawl(client) == []
