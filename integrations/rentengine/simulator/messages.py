"""The request and response values the ASGI app hands to endpoint functions and gets back."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .state import json_bytes

JSON = "application/json; charset=utf-8"


@dataclass
class Request:
    method: str
    path: str  # below /api/public/v1 (or /_simulator)
    query: str
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    token: str | None = None
    accounts: frozenset[str] = frozenset()
    without: frozenset[str] = frozenset()  # the INFERRED features this RentEngine lacks (features.py)


@dataclass
class Response:
    status: int
    body: bytes
    content_type: str = JSON
    headers: list[tuple[str, str]] = field(default_factory=list)


def json_response(status: int, value: Any, headers: list[tuple[str, str]] | None = None) -> Response:
    return Response(status, json_bytes(value), headers=headers or [])


def error_response(status: int, error: str, details: list[dict[str, Any]] | None = None) -> Response:
    body: dict[str, Any] = {"error": error}
    if details is not None:
        body["details"] = details
    return json_response(status, body)


def not_found() -> Response:
    return error_response(404, "Not found")
