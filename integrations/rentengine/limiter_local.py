"""The limiter on one machine: its rules in Python, with the state in memory or in a file.

The rules (`attempt`, `release`, `unregister`, `report_429`, `snapshot`) are pure functions of a
`Shared` state and a clock reading; a backend only decides where that state lives and how a
read-modify-write of it is made atomic:

* `FileBackend` (embedded mode: no REDIS_URL): the state is a small JSON file under VAR_DIR, and
  each call takes `fcntl.flock` on it, loads it, runs one rule and writes it back before unlocking.
  Every process on the machine (web server, Celery children, beat, `manage.py rentengine_sync`)
  therefore shares one budget, and a process started right after another one sees the window the
  first one used.
* `MemoryBackend`: the same state behind a `threading.Lock`, for threads of one process (unit tests,
  and clients given a private limiter on purpose).

Why a JSON file and not SQLite: the state is under 1 KB at the default limit (see `Shared`; the
finished stamps are packed doubles in base64, the rest readable JSON), and one call is one open, one
flock, one pread, one pwrite, one close: about as cheap as a shared read-modify-write gets, and the
rules stay written once in Python between load and save. SQLite would need the rules rewritten in
SQL (a third copy, after Python and Lua) or would store this same blob with a journal and page cache
around it; and SQLite waits for a busy lock by polling with sleeps, where flock queues in the kernel.
What SQLite would add is crash atomicity, which matters little here: a SIGKILL releases the flock
(the kernel closes the descriptor); the write is one pwrite of a few KB at offset 0 (padded with
blanks over a longer old state, or followed by a truncate), and the reader parses the first JSON value
and ignores what follows, so a process killed mid-call leaves a readable file; a file unreadable
anyway (power loss) restarts with a cooldown of one configured window rather than with nothing, so
the grants it held have left the window before anyone is granted again.

Clock: `time.monotonic()`, which on Linux and macOS is one system-wide clock (processes of one
machine compare their stamps), and never jumps when NTP or a person changes the wall clock (which
would freeze or stretch windows). It restarts at boot, so the file records the boot id and is started
afresh when it was written before a restart. One file serves one machine: it is no way to share a
budget between hosts (they share neither the clock nor, over NFS, a dependable flock); that is Redis.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import fcntl
import functools
import json
import logging
import os
import threading
import time
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path

from integrations.rentengine.limiter_core import (
    LANES,
    Attempt,
    Lane,
    LimiterConfig,
    LimiterState,
    LimiterUnavailable,
    recovery_reason,
    reduction_reason,
)

# The front end's logger, so that logging configuration for the limiter covers every part of it.
logger = logging.getLogger("integrations.rentengine.limiter")

MARGIN = 2e-6  # a hair stricter than the window, as in the Redis script (its scores are rounded to 1 us)
USAGE_BUCKETS = 12  # per-lane usage is counted in usage_horizon / 12 buckets (5 s at the default 60 s)


def _minus_infinity() -> float:
    return float("-inf")


@dataclass
class Shared:
    """Everything the rules remember, kept small: the file backend reads and writes all of it per call.

    The log is split in two. `flying` holds the slots in flight (stamped now + hold until released)
    and `done` the stamps of finished ones; of those only the newest `limit` are kept (an older one can
    never decide a grant: a window holds `limit` stamps or fewer whatever its length) and none older
    than the longest window a slowdown can reach. Per-lane usage for the /sync/ page is counted in
    coarse time buckets rather than kept as a minute of log entries.
    """

    done: list[float] = field(default_factory=list)  # completion stamps, ascending
    flying: dict[str, float] = field(default_factory=dict)  # slot -> now + hold
    waiters: list[dict[str, float]] = field(default_factory=lambda: [{} for _ in LANES])  # per lane: waiter -> expiry
    usage: list[list[list[int]]] = field(default_factory=lambda: [[] for _ in LANES])  # per lane: [bucket, grants]
    cooldown_until: float = 0.0
    slowdown: float = 1.0
    strikes: int = 0
    last_strike_at: float = field(default_factory=_minus_infinity)
    last_429_at: float = field(default_factory=_minus_infinity)
    changed_at: float = field(default_factory=_minus_infinity)
    reason: str = ""


# --- the rules ------------------------------------------------------------------------------------


def _tidy(s: Shared, c: LimiterConfig, now: float) -> None:
    """Slow recovery, expiry of dead waiters and of unreleased slots, and pruning of the log."""
    if s.slowdown > 1 and now - max(s.last_429_at, s.changed_at) >= c.recovery_quiet:
        s.slowdown = max(1.0, s.slowdown / 2)
        s.changed_at = now
        s.reason = "" if s.slowdown <= 1 else recovery_reason(c, s.slowdown)
    for registrations in s.waiters:
        for waiter in [w for w, expires in registrations.items() if expires <= now]:
            del registrations[waiter]
    # A slot whose hold ran out (its process died mid-request) is an ordinary entry from now on.
    for slot in [slot for slot, stamp in s.flying.items() if stamp <= now]:
        bisect.insort(s.done, s.flying.pop(slot))
    longest = c.window * max(s.slowdown, c.max_slowdown)  # a 429 may widen the window at any time
    drop = max(bisect.bisect_right(s.done, now - longest - MARGIN), len(s.done) - c.limit)
    if drop > 0:
        del s.done[:drop]
    width = c.usage_horizon / USAGE_BUCKETS
    for buckets in s.usage:
        while buckets and (buckets[0][0] + 1) * width <= now - c.usage_horizon:
            buckets.pop(0)


def attempt(s: Shared, c: LimiterConfig, now: float, lane: Lane, waiter: str, slot: str) -> Attempt:
    _tidy(s, c, now)
    index = LANES.index(lane)
    window = c.window * s.slowdown

    def wait(seconds: float, why: str) -> Attempt:
        s.waiters[index][waiter] = now + c.waiter_ttl
        return Attempt(False, now, max(seconds, 0.0), why, s.slowdown)

    if s.cooldown_until > now:
        return wait(s.cooldown_until - now, "cooldown")
    if any(s.waiters[higher] for higher in range(index)):
        return wait(0.0, "priority")
    # Ascending: finished stamps are <= now, and after _tidy every slot in flight is stamped > now.
    in_window = s.done[bisect.bisect_right(s.done, now - window - MARGIN) :] + sorted(s.flying.values())
    if len(in_window) >= c.limit:
        return wait(in_window[len(in_window) - c.limit] + window + MARGIN - now, "window")
    s.flying[slot] = now + c.hold
    s.waiters[index].pop(waiter, None)
    bucket = int(now // (c.usage_horizon / USAGE_BUCKETS))
    buckets = s.usage[index]
    if buckets and buckets[-1][0] == bucket:
        buckets[-1][1] += 1
    else:
        buckets.append([bucket, 1])
    return Attempt(True, now, 0.0, "granted", s.slowdown)


def release(s: Shared, now: float, slot: str) -> None:
    stamp = s.flying.pop(slot, None)
    if stamp is not None:
        bisect.insort(s.done, min(stamp, now))


def unregister(s: Shared, lane: Lane, waiter: str) -> None:
    s.waiters[LANES.index(lane)].pop(waiter, None)


def report_429(
    s: Shared, c: LimiterConfig, now: float, retry_after: float | None, granted_at: float | None
) -> tuple[float, float, bool, int]:
    granted = now if granted_at is None else granted_at
    if granted < s.last_429_at:
        # In flight before the last 429 was known: same episode, no new strike.
        if retry_after is not None:
            s.cooldown_until = max(s.cooldown_until, now + min(retry_after, c.max_cooldown))
        return max(s.cooldown_until - now, 0.0), s.slowdown, False, s.strikes
    if now - s.last_strike_at > c.strike_memory:
        s.strikes = 0
    s.strikes += 1
    s.last_strike_at = s.last_429_at = now
    if retry_after is not None:
        pause = min(max(retry_after, 0.0), c.max_cooldown)
    else:
        pause = min(c.max_cooldown, c.window * s.slowdown * 2 ** (s.strikes - 1))
    s.cooldown_until = max(s.cooldown_until, now + pause)
    lowered = False
    if s.strikes >= 2 and s.slowdown < c.max_slowdown:
        s.slowdown = min(c.max_slowdown, s.slowdown * 2)
        s.changed_at = now
        s.reason = reduction_reason(c, s.slowdown, s.strikes)
        lowered = True
    return s.cooldown_until - now, s.slowdown, lowered, s.strikes


def snapshot(s: Shared, c: LimiterConfig, now: float, backend: str) -> LimiterState:
    _tidy(s, c, now)
    window = c.window * s.slowdown
    used = len(s.done) - bisect.bisect_right(s.done, now - window) + len(s.flying)
    return LimiterState(
        backend=backend,
        limit=c.limit,
        window=c.window,
        effective_limit=c.limit,
        effective_window=window,
        effective_rate=c.limit / window,
        slowdown=s.slowdown,
        cooldown_remaining=max(s.cooldown_until - now, 0.0),
        reduction_reason=s.reason,
        strikes=s.strikes if now - s.last_strike_at <= c.strike_memory else 0,
        used_in_window=used,
        in_flight=len(s.flying),
        usage_horizon=c.usage_horizon,
        recent_by_lane={lane.value: sum(n for _, n in s.usage[i]) for i, lane in enumerate(LANES)},
        waiters_by_lane={lane.value: len(s.waiters[i]) for i, lane in enumerate(LANES)},
    )


# --- in one process -------------------------------------------------------------------------------

# One store per key prefix for the whole process, as Redis is one store for all processes: two
# limiters built in one process still share one budget.
_memory_stores: dict[str, tuple[threading.Lock, Shared]] = {}
_memory_stores_lock = threading.Lock()


class MemoryBackend:
    """The rules for threads of one process (time.monotonic clock)."""

    name = "memory"

    def __init__(self, config: LimiterConfig, *, prefix: str = "rentengine:limiter:") -> None:
        self.config = config
        with _memory_stores_lock:
            self._lock, self._s = _memory_stores.setdefault(prefix, (threading.Lock(), Shared()))

    def clear(self) -> None:
        """Forget everything (tests only)."""
        with self._lock:
            self._s.__dict__.update(Shared().__dict__)

    def attempt(self, lane: Lane, waiter: str, slot: str) -> Attempt:
        with self._lock:
            return attempt(self._s, self.config, time.monotonic(), lane, waiter, slot)

    def release(self, slot: str) -> None:
        with self._lock:
            release(self._s, time.monotonic(), slot)

    def unregister(self, lane: Lane, waiter: str) -> None:
        with self._lock:
            unregister(self._s, lane, waiter)

    def report_429(self, retry_after: float | None, granted_at: float | None) -> tuple[float, float, bool, int]:
        with self._lock:
            return report_429(self._s, self.config, time.monotonic(), retry_after, granted_at)

    def state(self) -> LimiterState:
        with self._lock:
            return snapshot(self._s, self.config, time.monotonic(), self.name)


# --- every process of one machine -----------------------------------------------------------------

FILE_FORMAT = 1
_READ_SIZE = 1 << 16
_FIELDS = tuple(f.name for f in fields(Shared))
_decoder = json.JSONDecoder()
_encoder = json.JSONEncoder(separators=(",", ":"))  # built once: json.dumps builds one per call with these


@functools.cache
def _boot_id() -> str:
    """This boot of the machine (Linux), "" where unknown: monotonic stamps mean nothing across boots."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


class FileBackend:
    """The rules for every process of one machine: state in a JSON file, each call under `flock`."""

    name = "file"

    def __init__(self, path: str | os.PathLike[str], config: LimiterConfig) -> None:
        self.path = Path(path)
        self.config = config

    def __repr__(self) -> str:
        return f"<FileBackend {self.path}>"

    def _transact[T](self, rule: Callable[[Shared, float], T]) -> T:
        """Lock, load, apply one rule, save, unlock: atomic for every process on the machine."""
        try:
            # A descriptor per call, never a cached one: flock locks an open file description, which
            # Celery's prefork children would share if it was opened before the fork (no exclusion
            # between them), as would threads of one process.
            fd = self._open()
        except OSError as exc:
            raise self._unavailable(exc) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            # Read the clock under the lock, so that stamps are written in the order of the clock.
            now = time.monotonic()
            shared, size = self._load(fd, now)
            result = rule(shared, now)
            data = self._dump(shared, now)
            if len(data) < size and size <= 2 * len(data) + _READ_SIZE // 4:
                # Blank out the rest of the old state rather than truncate: one system call less.
                data = data.ljust(size)
            os.pwrite(fd, data, 0)
            if len(data) < size:
                # Written first, cut second: a process killed in between leaves the new state with a
                # stale tail, which _load ignores (it parses the first JSON value only).
                os.ftruncate(fd, len(data))
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

    def _load(self, fd: int, now: float) -> tuple[Shared, int]:
        """The state, and the size of the file it came from."""
        data = b""
        while True:  # one read: the file is a few KB
            chunk = os.pread(fd, _READ_SIZE, len(data))
            data += chunk
            if len(chunk) < _READ_SIZE:
                break
        text = data.decode(errors="replace")
        if not text.strip():
            return Shared(), len(data)  # a new file
        try:
            raw, _ = _decoder.raw_decode(text)
            if raw["format"] != FILE_FORMAT:
                raise ValueError(f"format {raw['format']!r}")
            shared = Shared(**{name: raw[name] for name in _FIELDS})
            stamps = array("d")
            stamps.frombytes(base64.b64decode(raw["done"]))
            shared.done = stamps.tolist()
            if len(shared.waiters) != len(LANES) or len(shared.usage) != len(LANES):
                raise ValueError("not one entry per lane")
        except (ValueError, KeyError, TypeError, binascii.Error) as exc:
            # A torn write (power loss) or a stranger's file. The log it held is lost, so wait one
            # window: whatever was granted in it has then left the window.
            logger.warning("rate limiter file %s is unreadable (%s): starting afresh after one window", self.path, exc)
            return Shared(cooldown_until=now + self.config.window), len(data)
        if raw.get("boot") != _boot_id() or raw.get("at", now) > now:
            # Written before the machine restarted: its monotonic stamps mean nothing now.
            return Shared(), len(data)
        return shared, len(data)

    def _dump(self, s: Shared, now: float) -> bytes:
        raw = {"format": FILE_FORMAT, "boot": _boot_id(), "at": now, **{name: getattr(s, name) for name in _FIELDS}}
        # Packed doubles (native order: the file never leaves the machine), not a JSON list: with a
        # limit raised for a benchmark the log holds thousands of stamps, and formatting and parsing
        # them as text cost milliseconds per call; packed they cost microseconds.
        raw["done"] = base64.b64encode(array("d", s.done).tobytes()).decode("ascii")
        return _encoder.encode(raw).encode()

    def attempt(self, lane: Lane, waiter: str, slot: str) -> Attempt:
        return self._transact(lambda s, now: attempt(s, self.config, now, lane, waiter, slot))

    def release(self, slot: str) -> None:
        try:
            self._transact(lambda s, now: release(s, now, slot))
        except LimiterUnavailable as exc:
            logger.warning("Could not release a rate-limiter slot (%s); it stops counting after %g s", exc, self.config.hold)

    def unregister(self, lane: Lane, waiter: str) -> None:
        try:
            self._transact(lambda s, now: unregister(s, lane, waiter))
        except LimiterUnavailable:
            logger.warning("Could not remove a %s waiter from the rate limiter; it expires by itself", lane)

    def report_429(self, retry_after: float | None, granted_at: float | None) -> tuple[float, float, bool, int]:
        return self._transact(lambda s, now: report_429(s, self.config, now, retry_after, granted_at))

    def state(self) -> LimiterState:
        return self._transact(lambda s, now: snapshot(s, self.config, now, self.name))

    def clear(self) -> None:
        """Forget everything (tests and `manage.py` helpers only)."""

        def forget(s: Shared, now: float) -> None:
            s.__dict__.update(Shared().__dict__)

        self._transact(forget)
