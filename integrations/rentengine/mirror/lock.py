"""The one lock every writer of derived mirror state takes: webhook appliers, and the outbox when it applies its own posts."""

from __future__ import annotations

from django.db import connection

# Any constant: the PostgreSQL advisory lock that lets one applier at a time into the mirror.
APPLIER_LOCK = 0x52_45_57_48_4F_4F_4B  # "REWHOOK"


def appliers_serialize() -> None:
    """Wait (inside the current transaction) until no other webhook applier is writing the mirror.

    Two appliers on disjoint deliveries still touch the same prospects (an event's status refresh),
    in different orders: PostgreSQL deadlocks. One at a time costs nothing here (a batch of 200
    takes well under a second) and SQLite's IMMEDIATE transactions serialise writers anyway.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [APPLIER_LOCK])
