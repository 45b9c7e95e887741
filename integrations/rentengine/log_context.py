"""What every log line carries: the request id of a web request, the task and its resource or job in a worker.

A context variable holds the fields; `ContextFilter` (in settings' LOGGING) copies them onto each
record, so the JSON formatter shows them on every line. Tasks get theirs from Celery's signals.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
from collections.abc import Iterator
from typing import Any

from celery.signals import task_postrun, task_prerun

_context: contextvars.ContextVar[dict[str, Any]] = contextvars.ContextVar("log_context", default={})  # noqa: B039 - never mutated
FIELDS = ("request_id", "task", "task_id", "resource", "job")


class ContextFilter(logging.Filter):
    """Puts the current context's fields on every record (empty strings where there are none)."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = _context.get()
        for name in FIELDS:
            if not hasattr(record, name):
                setattr(record, name, context.get(name, ""))
        return True


@contextlib.contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    """Add fields to every log line written inside the block (nested blocks add to the outer ones)."""
    token = _context.set({**_context.get(), **{k: v for k, v in fields.items() if v is not None}})
    try:
        yield
    finally:
        _context.reset(token)


_task_tokens: dict[str, contextvars.Token[dict[str, Any]]] = {}


@task_prerun.connect
def _task_started(task_id: str | None = None, task: Any = None, args: Any = None, **_: Any) -> None:
    """A task's lines name the task and, for a sync step, its resource (the outbox adds each row's job)."""
    fields: dict[str, Any] = {"task": getattr(task, "name", ""), "task_id": task_id or ""}
    if getattr(task, "name", "") in ("rentengine.sync_step", "rentengine.sync_start") and args:
        fields["resource"] = args[0]
    if task_id:
        _task_tokens[task_id] = _context.set({**_context.get(), **fields})


@task_postrun.connect
def _task_finished(task_id: str | None = None, **_: Any) -> None:
    token = _task_tokens.pop(task_id or "", None)
    if token is not None:
        with contextlib.suppress(ValueError):  # set in another context: nothing to undo here
            _context.reset(token)
