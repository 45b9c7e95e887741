"""Injected faults, for tests and for trying the dashboard against a misbehaving RentEngine.

A fault is a rule: which requests it matches (`path` under /api/public/v1, exact or with a trailing
`*`; `method`), how many of them (`skip` the first N matches, then apply to `count` requests, or to
each with `probability`; `seconds` of lifetime), and what happens (`kind`):

| kind | effect |
| --- | --- |
| `status` | answer `status` (default 500) with the JSON error body; a 429 carries `Retry-After: retry_after` |
| `rate_limit` | shorthand for status 429 with Retry-After (a "429 storm" when given a count) |
| `slow` | wait `seconds` before handling the request, then answer normally |
| `delay_after_commit` | handle the request (a POST's write is committed, and its webhooks queued), then wait `seconds` before answering: the client times out not knowing whether it worked |
| `drop` | close the connection without answering (before handling) |
| `drop_after_commit` | handle the request, then close the connection without answering |
| `html` | answer `status` (default 502) with an HTML error page, like a proxy in front of the API |
| `truncate` | handle the request, then send only the first half of the body: `mode` "json" sends a complete HTTP response whose JSON is cut; "connection" promises the full Content-Length and closes early |
| `garbage` | handle the request, then answer `status` (default 200) labelled `application/json` with `size` (default 256) random bytes that are not JSON: a gzip header, then seeded random bytes, like a compressed body whose `Content-Encoding` a proxy dropped (so there is always a NUL byte near the start) |
| `reset` | reset the connection (a TCP RST: SO_LINGER 0, then close) without answering, before handling; the client reads "connection reset by peer" where `drop` gives it a clean close |

Faults are checked after authentication and the rate limit, so a faulted request still counts
against the token's window. The dice are seeded, so a run is repeatable.
"""

from __future__ import annotations

import itertools
import json
import random
import time
from dataclasses import asdict, dataclass, field
from typing import Any

KINDS = ("status", "rate_limit", "slow", "delay_after_commit", "drop", "drop_after_commit", "html", "truncate",
         "garbage", "reset")  # fmt: skip
BEFORE = frozenset({"status", "rate_limit", "slow", "drop", "html", "reset"})  # act before the request is handled
GARBAGE_MAX_BYTES = 1_000_000
GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"  # magic, deflate, no flags, no time, no OS

_ids = itertools.count(1)


@dataclass
class Fault:
    kind: str
    path: str | None = None
    method: str | None = None
    count: int | None = None
    probability: float | None = None
    skip: int = 0
    status: int | None = None
    retry_after: int = 1
    seconds: float = 1.0
    mode: str = "json"
    size: int = 256
    expires_at: float | None = None
    id: str = field(default_factory=lambda: f"fault-{next(_ids)}")
    matched: int = 0
    applied: int = 0

    def describe(self) -> dict[str, Any]:
        return asdict(self)


def fault_from(spec: dict[str, Any]) -> Fault:
    kind = spec.get("kind")
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}")
    allowed = {"kind", "path", "method", "count", "probability", "skip", "status", "retry_after", "seconds", "mode", "size",
               "duration"}  # fmt: skip
    unknown = set(spec) - allowed
    if unknown:
        raise ValueError(f"unknown fault fields: {', '.join(sorted(unknown))}")
    fault = Fault(
        kind=kind,
        path=spec.get("path"),
        method=(spec.get("method") or "").upper() or None,
        count=spec.get("count"),
        probability=spec.get("probability"),
        skip=int(spec.get("skip") or 0),
        status=spec.get("status"),
        retry_after=int(spec.get("retry_after") or 1),
        seconds=float(spec["seconds"]) if spec.get("seconds") is not None else 1.0,
        mode=spec.get("mode") or "json",
        size=int(spec["size"]) if spec.get("size") is not None else 256,
    )
    if fault.kind == "rate_limit":
        fault.status = 429
    if spec.get("duration") is not None:
        fault.expires_at = time.monotonic() + float(spec["duration"])
    if fault.mode not in ("json", "connection"):
        raise ValueError("mode must be json or connection")
    if not 1 <= fault.size <= GARBAGE_MAX_BYTES:
        raise ValueError(f"size must be between 1 and {GARBAGE_MAX_BYTES}")
    return fault


class FaultBook:
    def __init__(self, seed: int) -> None:
        self.faults: list[Fault] = []
        self.rng = random.Random(f"faults:{seed}")

    def add(self, spec: dict[str, Any]) -> Fault:
        fault = fault_from(spec)
        self.faults.append(fault)
        return fault

    def remove(self, fault_id: str) -> bool:
        before = len(self.faults)
        self.faults = [f for f in self.faults if f.id != fault_id]
        return len(self.faults) != before

    def clear(self) -> None:
        self.faults.clear()

    def pick(self, method: str, path: str) -> Fault | None:
        """The first live fault that applies to this request (consuming one of its uses)."""
        now = time.monotonic()
        self.faults = [
            f for f in self.faults if (f.expires_at is None or f.expires_at > now) and (f.count is None or f.count > 0)
        ]
        for fault in self.faults:
            if fault.method and fault.method != method:
                continue
            if fault.path and not _path_matches(fault.path, path):
                continue
            fault.matched += 1
            if fault.matched <= fault.skip:
                continue
            if fault.probability is not None and self.rng.random() >= fault.probability:
                continue
            if fault.count is not None:
                fault.count -= 1
            fault.applied += 1
            return fault
        return None

    def garbage(self, size: int) -> bytes:
        """`size` bytes that no JSON parser accepts: a gzip member's header, then random bytes."""
        while True:
            body = (GZIP_HEADER + self.rng.randbytes(max(0, size - len(GZIP_HEADER))))[:size]
            try:
                json.loads(body)
            except ValueError:  # JSONDecodeError, and UnicodeDecodeError for bytes that are not text
                return body


def _path_matches(pattern: str, path: str) -> bool:
    pattern = pattern.removeprefix("/api/public/v1")
    if pattern.endswith("*"):
        return path.startswith(pattern[:-1])
    return path == pattern
