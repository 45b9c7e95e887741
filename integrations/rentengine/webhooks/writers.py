"""Where the webhook receiver's database writes run: a few long-lived writer threads under ASGI."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.db import DEFAULT_DB_ALIAS, InterfaceError, OperationalError, connection, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.http import HttpRequest

# Under ASGI, Django gives every request a new execution context and database connections are
# context-local, so each request opens its own PostgreSQL connection (about 5 ms here) and, with
# CONN_MAX_AGE > 0, leaves it open until "too many clients". The receiver's writes therefore run on
# a few long-lived writer threads, each keeping one connection for its whole life. Under WSGI
# (runserver, the test client) a thread keeps its connection anyway and the request's own is used.

WRITER_THREADS = 4
_writer_pool: ThreadPoolExecutor | None = None
_writer_pool_lock = threading.Lock()


def _writer() -> ThreadPoolExecutor:
    global _writer_pool
    with _writer_pool_lock:
        if _writer_pool is None:
            threads = int(getattr(settings, "RENTENGINE_WEBHOOK_WRITER_THREADS", WRITER_THREADS))
            _writer_pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="webhook-writer")
        return _writer_pool


def writers_stop() -> None:
    """Stop the writer threads and close their connections (tests, shutdown); the next ASGI delivery
    starts new ones."""
    global _writer_pool
    with _writer_pool_lock:
        pool, _writer_pool = _writer_pool, None
        wrappers, _writer_connections[:] = list(_writer_connections), []
    if pool is not None:
        pool.shutdown(wait=True)
    for wrapper in wrappers:
        wrapper.inc_thread_sharing()  # closed from this thread, the one that made it is gone
        wrapper.close()


_writer_connections: list[BaseDatabaseWrapper] = []
_writer_local = threading.local()


def _on_writer_connection[T](write: Callable[[], T]) -> T:
    """Run a write on this writer thread's own connection, reconnecting once if it went away (every
    write here is idempotent: an insert that ignores conflicts, or a counter bumped after a refusal)."""
    if not getattr(_writer_local, "known", False):
        _writer_local.known = True
        with _writer_pool_lock:
            _writer_connections.append(connections[DEFAULT_DB_ALIAS])
    try:
        return write()
    except (OperationalError, InterfaceError):
        connection.close()
        return write()


async def on_writer_thread[T](write: Callable[[], T]) -> T:
    """Run a write on one of the writer threads (ASGI code outside a Django request, too)."""
    return await asyncio.get_running_loop().run_in_executor(_writer(), _on_writer_connection, write)


async def written[T](request: HttpRequest, write: Callable[[], T]) -> T:
    if isinstance(request, ASGIRequest):
        return await on_writer_thread(write)
    # WSGI: the request's thread and connection (in tests, inside the test's transaction).
    return await sync_to_async(write)()
