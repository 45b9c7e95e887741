"""Celery beat that ticks on one host only: a second beat (started by mistake, or as a standby) stays idle.

Every beat keeps its schedule, but only the holder of a lock sends the due tasks: a Redis lock with a
short expiry when REDIS_URL is set (a dead beat's lock lapses and a standby takes over), otherwise an
`flock` on a file in VAR_DIR, which the kernel releases when the process dies.
"""

from __future__ import annotations

import fcntl
import logging
import os
from pathlib import Path
from typing import Any

import redis
from celery.beat import PersistentScheduler, ScheduleEntry
from django.conf import settings
from redis.exceptions import LockError

logger = logging.getLogger(__name__)

LOCK_NAME = "leasing-desk:beat"


class SingleBeatScheduler(PersistentScheduler):
    """Sends due tasks only while it holds the beat lock (`CELERY_BEAT_SCHEDULER` points here)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._redis_lock: Any = None
        self._file: int | None = None
        self._leading = False
        super().__init__(*args, **kwargs)

    def apply_entry(self, entry: ScheduleEntry, producer: Any = None) -> None:
        if self.leading():
            super().apply_entry(entry, producer=producer)
        else:
            logger.debug("beat: another beat holds the lock; not sending %s", entry.task)

    def leading(self) -> bool:
        """True while this beat holds the lock (taking it when free, refreshing it when held)."""
        was = self._leading
        try:
            self._leading = self._redis_leading() if settings.REDIS_URL else self._file_leading()
        except (redis.RedisError, OSError) as exc:
            logger.warning("beat: could not check the beat lock (%s); not sending this tick", exc)
            self._leading = False
        if self._leading != was:
            logger.info(
                "beat: %s", "this beat sends the schedule" if self._leading else "another beat sends the schedule; standing by"
            )
        return self._leading

    def _redis_leading(self) -> bool:
        if self._redis_lock is None:
            client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=5)
            self._redis_lock = client.lock(LOCK_NAME, timeout=settings.BEAT_LOCK_SECONDS, thread_local=False)
        if self._redis_lock.owned():
            try:
                self._redis_lock.reacquire()
                return True
            except LockError:
                return False
        return bool(self._redis_lock.acquire(blocking=False))

    def _file_leading(self) -> bool:
        if self._file is None:
            path = Path(settings.VAR_DIR) / "beat.lock"
            self._file = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            return False
