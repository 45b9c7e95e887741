"""Where the limiter's state lives, and how one rule is applied to it atomically.

Each store runs a rule from `rules.py` as one read-modify-write: `MemoryStore` under a thread lock
(tests, private limiters), `FileStore` under `flock` on a small file in VAR_DIR (embedded mode: every
process of one machine), `RedisStore` in a WATCH/MULTI transaction (every process on every host).
The rules are written once, in Python, and run the same in all three.
"""

from __future__ import annotations

import base64
import binascii
import fcntl
import functools
import json
import logging
import os
import threading
import time
from array import array
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path
from typing import Any

import redis

from integrations.rentengine.limiter.rules import (
    LANES,
    Attempt,
    Lane,
    LimiterConfig,
    LimiterState,
    LimiterUnavailable,
    Report429,
    Shared,
    attempt,
    forget,
    release,
    report_429,
    snapshot,
    unregister,
)

logger = logging.getLogger(__name__)

type Rule[T] = Callable[[Shared, float], T]
type Clock = Callable[[], float]

FORMAT = 1
_FIELDS = tuple(f.name for f in fields(Shared))
_decoder = json.JSONDecoder()
_encoder = json.JSONEncoder(separators=(",", ":"))


def shared_encode(s: Shared, *, at: float, boot: str) -> bytes:
    """The state as compact JSON; `done` as packed doubles (parsing thousands of stamps as text is slow)."""
    raw: dict[str, Any] = {"format": FORMAT, "boot": boot, "at": at, **{name: getattr(s, name) for name in _FIELDS}}
    raw["done"] = base64.b64encode(array("d", s.done).tobytes()).decode("ascii")
    return _encoder.encode(raw).encode()


def shared_decode(data: bytes) -> tuple[Shared, dict[str, Any]]:
    """The state and its envelope (`boot`, `at`); raises ValueError on anything unreadable.

    Only the first JSON value counts: a shorter state written over a longer one leaves a stale tail."""
    try:
        raw, _ = _decoder.raw_decode(data.decode(errors="replace"))
        if raw["format"] != FORMAT:
            raise ValueError(f"format {raw['format']!r}")
        shared = Shared(**{name: raw[name] for name in _FIELDS if name in raw})  # fields added later start empty
        stamps = array("d")
        stamps.frombytes(base64.b64decode(raw["done"]))
        shared.done = stamps.tolist()
        if len(shared.waiters) != len(LANES) or len(shared.usage) != len(LANES):
            raise ValueError("not one entry per lane")
    except (KeyError, TypeError, binascii.Error) as exc:
        raise ValueError(str(exc)) from exc
    return shared, raw


class Store:
    """The operations the front end needs, each one rule applied atomically by `transact`."""

    name = ""

    def __init__(self, config: LimiterConfig) -> None:
        self.config = config

    def transact[T](self, rule: Rule[T]) -> T:
        raise NotImplementedError

    def attempt(self, lane: Lane, waiter: str, slot: str, waited: float = 0.0) -> Attempt:
        return self.transact(lambda s, now: attempt(s, self.config, now, lane, waiter, slot, waited))

    def release(self, slot: str) -> None:
        try:
            self.transact(lambda s, now: release(s, self.config, now, slot))
        except LimiterUnavailable as exc:
            logger.warning("Could not release a rate-limiter slot (%s); it stops counting after %g s", exc, self.config.hold)

    def unregister(self, lane: Lane, waiter: str) -> None:
        try:
            self.transact(lambda s, now: unregister(s, self.config, now, lane, waiter))
        except LimiterUnavailable:
            logger.warning("Could not remove a %s waiter from the rate limiter; it expires by itself", lane)

    def report_429(self, retry_after: float | None, granted_at: float | None, jitter: float = 0.5) -> Report429:
        return self.transact(lambda s, now: report_429(s, self.config, now, retry_after, granted_at, jitter))

    def state(self) -> LimiterState:
        return self.transact(lambda s, now: snapshot(s, self.config, now, self.name))

    def clear(self) -> None:
        self.transact(lambda s, now: forget(s, self.config, now))


# One state per key prefix for the whole process, as Redis is one store for all processes: two
# limiters built in one process still share one budget.
_memory: dict[str, tuple[threading.Lock, Shared]] = {}
_memory_lock = threading.Lock()


class MemoryStore(Store):
    """Threads of one process."""

    name = "memory"

    def __init__(self, config: LimiterConfig, *, prefix: str = "rentengine:limiter:", clock: Clock = time.monotonic) -> None:
        super().__init__(config)
        self.clock = clock
        with _memory_lock:
            self._lock, self._s = _memory.setdefault(prefix, (threading.Lock(), Shared()))

    def transact[T](self, rule: Rule[T]) -> T:
        with self._lock:
            return rule(self._s, self.clock())


@functools.cache
def _boot_id() -> str:
    """This boot of the machine (Linux), "" where unknown: monotonic stamps mean nothing across boots."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


class FileStore(Store):
    """Every process of one machine: a JSON file of a few KB, each call under `flock`.

    The clock is `time.monotonic()`, one system-wide clock on Linux that never jumps; the file
    records the boot it was written in and starts afresh after a restart. A file torn by power loss
    restarts with a cooldown of one window, so whatever it had granted has left the window first.
    """

    name = "file"

    def __init__(self, path: str | os.PathLike[str], config: LimiterConfig, *, clock: Clock = time.monotonic) -> None:
        super().__init__(config)
        self.path = Path(path)
        self.clock = clock

    def __repr__(self) -> str:
        return f"<FileStore {self.path}>"

    def transact[T](self, rule: Rule[T]) -> T:
        try:
            # A descriptor per call: flock locks an open file description, which forked Celery
            # children would share if it was opened before the fork.
            fd = self._open()
        except OSError as exc:
            raise self._unavailable(exc) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            now = self.clock()  # read under the lock, so stamps are written in clock order
            data = _read_all(fd)
            shared = self._load(data, now)
            result = rule(shared, now)
            out = shared_encode(shared, at=now, boot=_boot_id())
            if len(out) < len(data) <= 2 * len(out) + 16384:
                out = out.ljust(len(data))  # blanks over the old tail: one system call less than a truncate
            os.pwrite(fd, out, 0)
            if len(out) < len(data):
                os.ftruncate(fd, len(out))  # written first, cut second: a stale tail is ignored when read
            return result
        except OSError as exc:
            raise self._unavailable(exc) from exc
        finally:
            os.close(fd)  # also releases the lock

    def _open(self) -> int:
        try:
            return os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        except FileNotFoundError:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            return os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)

    def _unavailable(self, exc: OSError) -> LimiterUnavailable:
        return LimiterUnavailable(
            f"the shared RentEngine rate limiter file {self.path} cannot be used: {exc}; no request is sent without it, "
            "so that processes never exceed the limit together (check that VAR_DIR is writable)"
        )

    def _load(self, data: bytes, now: float) -> Shared:
        if not data.strip():
            return Shared()
        try:
            shared, raw = shared_decode(data)
        except ValueError as exc:
            logger.warning("rate limiter file %s is unreadable (%s): starting afresh after one window", self.path, exc)
            return Shared(cooldown_until=now + self.config.window)
        if raw.get("boot") != _boot_id() or raw.get("at", now) > now:
            return Shared()  # written before the machine restarted: its monotonic stamps mean nothing now
        return shared


def _read_all(fd: int) -> bytes:
    data = b""
    while chunk := os.pread(fd, 65536, len(data)):
        data += chunk
    return data


class RedisStore(Store):
    """Every process on every host: the state in one Redis key, changed in a WATCH/MULTI transaction.

    The clock is Redis's own `TIME` (hosts share it), never allowed behind the last call's reading.
    """

    name = "redis"
    ATTEMPTS = 100  # optimistic retries under contention before giving up

    def __init__(
        self, url: str, config: LimiterConfig, *, prefix: str = "rentengine:limiter:", clock: Clock | None = None
    ) -> None:
        super().__init__(config)
        self.key = f"{prefix}shared"  # one JSON value (the older Lua limiter kept hashes under other keys)
        self.clock = clock
        self.client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)

    def transact[T](self, rule: Rule[T]) -> T:
        try:
            with self.client.pipeline() as pipe:
                for _ in range(self.ATTEMPTS):
                    try:
                        pipe.watch(self.key)
                        data: Any = pipe.get(self.key)
                        now = self._now(pipe)
                        shared, last = self._load(data)
                        now = max(now, last)
                        result = rule(shared, now)
                        pipe.multi()
                        # Expires once nothing in it can matter: the longest window, a hold, a cooldown.
                        pipe.set(self.key, shared_encode(shared, at=now, boot="redis"), ex=self._ttl())
                        pipe.execute()
                        return result
                    except redis.WatchError:
                        continue
        except redis.RedisError as exc:
            raise LimiterUnavailable(
                f"the shared RentEngine rate limiter (Redis at REDIS_URL) is unreachable: {exc}; "
                "no request is sent without it, so that processes never exceed the limit together"
            ) from exc
        raise LimiterUnavailable(f"the rate limiter state on Redis kept changing under {self.ATTEMPTS} tries")

    def _now(self, pipe: Any) -> float:
        if self.clock is not None:
            return self.clock()
        seconds, micros = pipe.time()
        return seconds + micros / 1_000_000

    def _load(self, data: bytes | None) -> tuple[Shared, float]:
        if not data:
            return Shared(), float("-inf")
        try:
            shared, raw = shared_decode(data)
        except ValueError as exc:
            logger.warning("rate limiter state on Redis is unreadable (%s): starting afresh", exc)
            return Shared(), float("-inf")
        return shared, float(raw.get("at", float("-inf")))

    def _ttl(self) -> int:
        c = self.config
        return int(c.window * c.max_slowdown + c.hold + c.max_cooldown + c.usage_horizon + c.window * c.recovery_steps) + 60
