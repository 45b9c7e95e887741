"""Webhook deliveries, QStash-style: at least once, in no promised order, retried with backoff.

Every change (an API write or simulated activity) becomes one message `{"type", "table", "record",
"old_record", "schema": "public"}` (API-FACTS 3.1; `schema` as Supabase's database webhooks send it)
whose record is the raw table row (rows.webhook_record). Each delivery is a POST with the configured
key in `X-API-Key` and QStash's `Upstash-Message-Id` (the same for every attempt of one message) and
`Upstash-Retried` (0, 1, ...). A non-2xx answer or a connection failure is retried after
`backoff_seconds * 2**n` (capped), up to `max_attempts`; then the message is given up.

Enqueueing is a constant-time append and delivery runs in background tasks, so a slow or absent
receiver never slows the API. The queue is capped (`queue_limit`): past it, new messages are dropped
and counted, so a long demo with no receiver cannot grow memory.

Knobs for tests: `duplicate_probability` (after a successful delivery, deliver the same message id
again, as QStash may), `reorder_probability` with `reorder_delay_seconds` (hold some messages back so
later ones overtake them).
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import random
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import httpx

from integrations.rentengine.vocabulary import WEBHOOK_TABLES

from .config import WebhookSettings
from .row_shapes import webhook_record
from .state import Row, json_bytes


@dataclass
class Message:
    id: str
    table: str
    type: str
    record_id: Any
    body: bytes
    retried: int = 0  # attempts made so far; sent as Upstash-Retried
    duplicate: bool = False


@dataclass
class Counters:
    enqueued: int = 0
    delivered: int = 0
    duplicates_delivered: int = 0
    attempts: int = 0
    failed_attempts: int = 0
    given_up: int = 0
    dropped: int = 0
    reordered: int = 0
    duplicates_scheduled: int = 0


@dataclass(eq=False)
class WebhookSender:
    settings: WebhookSettings
    seed: int = 1
    counters: Counters = field(default_factory=Counters)
    attempts_log: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=2000))
    _queue: list[tuple[float, int, Message]] = field(default_factory=list)
    _order: itertools.count[int] = field(default_factory=itertools.count)
    _in_flight: int = 0
    _wake: asyncio.Event | None = None
    _task: asyncio.Task[None] | None = None
    _workers: set[asyncio.Task[None]] = field(default_factory=set)
    _client: httpx.AsyncClient | None = None
    _rng: random.Random = field(default_factory=random.Random)

    def __post_init__(self) -> None:
        self._rng = random.Random(f"webhooks:{self.seed}")

    # --- producer side (called synchronously from API handlers and activity) ---------------------

    def enqueue(self, table: str, kind: str, record: Row | None, old_record: Row | None) -> None:
        if not self.settings.url or table not in WEBHOOK_TABLES:
            return
        if len(self._queue) + self._in_flight >= self.settings.queue_limit:
            self.counters.dropped += 1
            return
        payload = {
            "type": kind,
            "table": table,
            "record": webhook_record(table, record),
            "old_record": webhook_record(table, old_record),
            "schema": "public",
        }
        # Unique across runs, as QStash's ids are: a receiver remembers the ids it has stored, and a
        # seeded id sequence made every webhook of a restarted demo (same database) a "duplicate".
        message_id = "msg_" + uuid.uuid4().hex[:24]
        row = record or old_record or {}
        message = Message(message_id, table, kind, row.get("id"), json_bytes(payload))
        delay = 0.0
        if self.settings.reorder_probability and self._rng.random() < self.settings.reorder_probability:
            delay = self.settings.reorder_delay_seconds
            self.counters.reordered += 1
        self.counters.enqueued += 1
        self._push(message, delay)

    def _push(self, message: Message, delay: float) -> None:
        heapq.heappush(self._queue, (time.monotonic() + delay, next(self._order), message))
        if self._wake is not None:
            self._wake.set()

    # --- delivery side ---------------------------------------------------------------------------

    def start(self) -> None:
        self._wake = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._dispatch())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for worker in list(self._workers):
            worker.cancel()
        if self._workers:
            await asyncio.gather(*self._workers, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def _dispatch(self) -> None:
        assert self._wake is not None
        while True:
            self._wake.clear()
            now = time.monotonic()
            while self._queue and self._queue[0][0] <= now and self._in_flight < self.settings.concurrency:
                _, _, message = heapq.heappop(self._queue)
                self._in_flight += 1
                worker = asyncio.get_running_loop().create_task(self._deliver(message))
                self._workers.add(worker)
                worker.add_done_callback(self._workers.discard)
            timeout = None
            if self._queue and self._in_flight < self.settings.concurrency:
                timeout = max(0.0, self._queue[0][0] - time.monotonic())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)

    async def _deliver(self, message: Message) -> None:
        settings = self.settings
        status: int | None = None
        error: str | None = None
        try:
            if self._client is None:
                self._client = httpx.AsyncClient(timeout=settings.timeout_seconds)
            headers = {
                "Content-Type": "application/json",
                "User-Agent": "Upstash-QStash",
                "Upstash-Message-Id": message.id,
                "Upstash-Retried": str(message.retried),
            }
            if settings.key:
                headers[settings.header] = settings.key
            if not settings.url:
                raise RuntimeError("no webhook URL configured")
            response = await self._client.post(settings.url, content=message.body, headers=headers)
            status = response.status_code
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # any failure to deliver is retried like QStash does
            error = f"{type(exc).__name__}: {exc}"
        finally:
            self._in_flight -= 1
            if self._wake is not None:
                self._wake.set()
        ok = status is not None and 200 <= status < 300
        self.counters.attempts += 1
        self.attempts_log.append(
            {
                "message_id": message.id,
                "table": message.table,
                "type": message.type,
                "record_id": message.record_id,
                "retried": message.retried,
                "duplicate": message.duplicate,
                "status": status,
                "error": error,
                "ok": ok,
                "at": time.time(),
            }
        )
        if ok:
            if message.duplicate:
                self.counters.duplicates_delivered += 1
            else:
                self.counters.delivered += 1
                if settings.duplicate_probability and self._rng.random() < settings.duplicate_probability:
                    # QStash may deliver a message again after a success (at-least-once).
                    self.counters.duplicates_scheduled += 1
                    again = Message(
                        message.id, message.table, message.type, message.record_id, message.body, message.retried + 1, True
                    )
                    self._push(again, 0.05)
            return
        self.counters.failed_attempts += 1
        message.retried += 1
        if message.retried >= settings.max_attempts:
            self.counters.given_up += 1
            return
        delay = min(settings.max_backoff_seconds, settings.backoff_seconds * 2 ** (message.retried - 1))
        self._push(message, delay)

    # --- inspection ------------------------------------------------------------------------------

    def stats(self, recent: int = 200) -> dict[str, Any]:
        return {
            "url": self.settings.url,
            "pending": len(self._queue),
            "in_flight": self._in_flight,
            "idle": not self._queue and self._in_flight == 0,
            **self.counters.__dict__,
            "settings": {k: v for k, v in self.settings.__dict__.items() if k != "key"},
            "recent_attempts": list(self.attempts_log)[-recent:] if recent else [],
        }

    def reset(self) -> None:
        self._queue.clear()
        self.counters = Counters()
        self.attempts_log.clear()
        self._rng = random.Random(f"webhooks:{self.seed}")
