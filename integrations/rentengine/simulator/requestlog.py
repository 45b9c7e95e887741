"""A bounded log of the API requests the simulator answered, for tests to inspect.

Each entry: `seq` (increasing), `at` (arrival, Unix seconds), `method`, `path` (full), `query`
(decoded pairs), `status` (None when the connection was dropped), `duration_ms`, `token` (the bearer
token when it was a valid one, "(invalid)" for a wrong one, None when missing), `body` (POST bodies,
parsed JSON when possible), `fault` (the injected fault's kind, if any).
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl


@dataclass(eq=False)
class RequestLog:
    limit: int = 20000
    entries: deque[dict[str, Any]] = field(default_factory=deque)
    next_seq: int = 1

    def __post_init__(self) -> None:
        self.entries = deque(maxlen=self.limit)

    def add(self, *, at: float, method: str, path: str, query: str, body: bytes, token: str | None) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "seq": self.next_seq,
            "at": at,
            "method": method,
            "path": path,
            "query": parse_qsl(query, keep_blank_values=True),
            "status": None,
            "duration_ms": None,
            "token": token,
            "body": _body(body) if method in ("POST", "PUT", "PATCH") else None,
            "fault": None,
        }
        self.next_seq += 1
        self.entries.append(entry)
        return entry

    def select(
        self, *, since: int = 0, path: str | None = None, method: str | None = None, limit: int | None = None
    ) -> list[dict[str, Any]]:
        rows = [
            e
            for e in self.entries
            if e["seq"] > since
            and (path is None or e["path"] == path or e["path"].endswith(path))
            and (method is None or e["method"] == method)
        ]
        return rows[-limit:] if limit else rows

    def clear(self) -> None:
        self.entries.clear()


def _body(body: bytes) -> Any:
    if not body:
        return None
    try:
        return json.loads(body)
    except ValueError:
        return body.decode(errors="replace")
