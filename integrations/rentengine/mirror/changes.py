"""Change versions: a counter per screen scope ("prospects:<account>", "sync", ...), bumped when the mirror changes.

Counters live in the database (embedded mode works); with Redis each bump is also published, so open
pages hear of it at once instead of polling.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from integrations.rentengine.mirror.database import commit_relaxed
from integrations.rentengine.models import ScopeVersion

logger = logging.getLogger(__name__)

CHANNEL = "leasing-desk:changes"


def channel() -> str:
    """The pub/sub channel of this deployment's counters: `CHANNEL:<database name>`.

    Redis pub/sub ignores the database number in REDIS_URL (channels are server-wide), so two
    deployments, or two test runs, sharing one Redis server would otherwise hear each other's
    versions, and a page told "v57" by another database's counter would then ignore its own "v4".
    The counters live in the database, so the database names the channel."""
    return f"{CHANNEL}:{connection.settings_dict['NAME']}"


# Which screen scopes a change to a mirror table touches.
KIND_SCOPES: dict[str, tuple[str, ...]] = {
    "units": ("units",),
    "prospects": ("prospects",),
    "leasing_events": ("prospects", "showings"),
    "showings": ("showings",),
    "lockboxes": ("lockboxes",),
    "lockbox_events": ("lockboxes",),
    "lockbox_installations": ("lockboxes", "units"),
    "subteams": ("team",),
    "prescreening_templates": ("reference",),
    "multifamily_properties": ("reference",),
    "floorplans": ("reference",),
    "availability": ("units",),
}


def scopes_for(kind: str, account_ids: Iterable[str]) -> list[str]:
    return [f"{scope}:{account}" for scope in KIND_SCOPES.get(kind, (kind,)) for account in sorted({str(a) for a in account_ids})]


def scopes_bump(scopes: Iterable[str]) -> None:
    """Bump each scope's counter once the current transaction commits (readers must see the data)."""
    wanted = sorted(set(scopes))
    if wanted:
        transaction.on_commit(lambda: _bump_now(wanted))


def mirror_changed(kind: str, account_ids: Iterable[str]) -> None:
    scopes_bump(scopes_for(kind, account_ids))


def _bump_now(scopes: list[str]) -> None:
    """One statement bumps every scope and returns the new versions. On PostgreSQL its commit does
    not wait for the disk: a counter lost in a crash costs an open page one refresh it would have
    made anyway on reconnect, and the sync bumps after every page it applies."""
    table = connection.ops.quote_name(ScopeVersion._meta.db_table)
    rows = ", ".join(["(%s, 1, CURRENT_TIMESTAMP)"] * len(scopes))  # sorted: concurrent bumps lock rows in one order
    with transaction.atomic(), connection.cursor() as cursor:
        commit_relaxed()
        cursor.execute(
            f"INSERT INTO {table} (scope, version, changed_at) VALUES {rows} "  # noqa: S608 - identifiers and placeholders only
            f"ON CONFLICT (scope) DO UPDATE SET version = {table}.version + 1, changed_at = CURRENT_TIMESTAMP "
            "RETURNING scope, version",
            scopes,
        )
        versions = {scope: version for scope, version in cursor.fetchall()}
    _publish(versions)


def scope_versions(scopes: Iterable[str]) -> dict[str, int]:
    wanted = list(set(scopes))
    found = dict(ScopeVersion.objects.filter(scope__in=wanted).values_list("scope", "version"))
    return {scope: found.get(scope, 0) for scope in wanted}


def _publish(versions: dict[str, int]) -> None:
    if not settings.REDIS_URL:
        return
    try:
        client = _redis()
        client.publish(channel(), json.dumps(versions))
    except Exception as exc:  # a lost notice only delays a screen until its next version check
        logger.warning("could not publish change notice: %s", exc)


_client: Any = None


def _redis() -> Any:
    global _client
    if _client is None:
        import redis

        _client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
    return _client
