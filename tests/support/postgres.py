"""PostgreSQL faults for tests: end other processes' connections the way an administrator, a
failover or a connection pooler's restart would (`pg_terminate_backend`).

Tag the victims' connections with `PGAPPNAME` (libpq reads it, so a worker started with
`worker_start(PGAPPNAME="faults-worker", ...)` names every connection it opens), then:

    backends_terminate("faults-worker")                 # -> how many connections were ended
    with terminating("faults-worker", every=(0.2, 0.8)) as killer:
        ...                                             # ended again and again, in a thread
    killer.terminated                                   # how many connections it ended
    with refusing_connections():                        # as during a restart or a failover:
        backends_terminate("faults-worker")             # ended, and no new connection accepted
"""

from __future__ import annotations

import contextlib
import random
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import psycopg
from django.db import connection, connections
from psycopg import sql

TERMINATE = (
    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
    "WHERE datname = current_database() AND application_name = %s AND pid <> pg_backend_pid()"
)


def backends_terminate(application_name: str) -> int:
    """End every connection to this database whose application_name is this; how many were ended."""
    with connection.cursor() as cursor:
        cursor.execute(TERMINATE, [application_name])
        return sum(1 for (ended,) in cursor.fetchall() if ended)


def backends(application_name: str) -> list[dict[str, object]]:
    """The connections with this application_name: pid, state, and the start of their query."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid, state, left(query, 120) FROM pg_stat_activity WHERE datname = current_database() AND application_name = %s",
            [application_name],
        )
        return [{"pid": pid, "state": state, "query": query} for pid, state, query in cursor.fetchall()]


@dataclass
class Terminator:
    """Ends the tagged connections over and over, at random intervals, until stopped."""

    application_name: str
    every: tuple[float, float] = (0.2, 0.8)
    seed: int = 1
    terminated: int = 0
    rounds: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _error: BaseException | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="pg-terminator", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        if self._error is not None:
            raise self._error

    def _run(self) -> None:
        rng = random.Random(self.seed)
        try:
            while not self._stop.wait(rng.uniform(*self.every)):
                self.terminated += backends_terminate(self.application_name)
                self.rounds += 1
        except BaseException as exc:  # reported by stop()
            self._error = exc
        finally:
            connections["default"].close()  # this thread's own connection


@contextlib.contextmanager
def terminating(application_name: str, *, every: tuple[float, float] = (0.2, 0.8), seed: int = 1) -> Iterator[Terminator]:
    killer = Terminator(application_name, every=every, seed=seed)
    killer.start()
    try:
        yield killer
    finally:
        killer.stop()


@contextlib.contextmanager
def refusing_connections() -> Iterator[None]:
    """New connections to the test database are refused meanwhile ("database ... is not currently
    accepting connections"), as while PostgreSQL restarts or fails over; open ones live on. This
    test's own connection must already be open, and is the only one it may use meanwhile."""
    settings = connection.settings_dict
    connection.ensure_connection()
    admin = psycopg.connect(
        dbname="postgres", user=settings["USER"], password=settings["PASSWORD"] or None,
        host=settings["HOST"] or "127.0.0.1", port=settings["PORT"] or 5432, autocommit=True,
    )  # fmt: skip
    name = sql.Identifier(settings["NAME"])
    try:
        admin.execute(sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS false").format(name))
        try:
            yield
        finally:
            admin.execute(sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS true").format(name))
    finally:
        admin.close()
