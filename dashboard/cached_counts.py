"""Counts (funnel bars, chart days, the team's workload) kept in the cache until the data under them
changes: the key holds the change versions of the scopes the count reads, so a change makes the
next view recount and nothing is invalidated by hand."""

from __future__ import annotations

import pickle
from collections.abc import Callable, Iterable
from typing import Any

from django.core.cache import cache

from integrations.rentengine.models import ScopeVersion

CACHE_SECONDS = 300


def scopes_stamp(scopes: Iterable[str]) -> str | None:
    """One string naming the current version of every scope (one query), or None when a scope has
    never been bumped. The bump time rides along: a counter restarts at 1 on a fresh database."""
    wanted = sorted(set(scopes))
    found = {
        scope: f"{version}.{changed_at.timestamp():.6f}"
        for scope, version, changed_at in ScopeVersion.objects.filter(scope__in=wanted).values_list(
            "scope", "version", "changed_at"
        )
    }
    if len(found) < len(wanted):
        return None
    return "|".join(f"{scope}={found[scope]}" for scope in wanted)


def counted[T](name: str, *, scopes: Iterable[str], compute: Callable[[], T], extra: Any = "") -> T:
    """`compute()`, or its cached answer while none of `scopes` changed (and `extra` is the same)."""
    stamp = scopes_stamp(scopes)
    if stamp is None:
        return compute()
    key = f"counts:{name}:{extra}:{stamp}"
    try:
        found = cache.get(key)
    except (ImportError, AttributeError, pickle.UnpicklingError):  # written by an older release's classes
        found = None
    if found is not None:
        return found
    value = compute()
    cache.set(key, value, CACHE_SECONDS)
    return value
