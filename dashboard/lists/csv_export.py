"""CSV export: a list's rows streamed in ~64 KB chunks (100,000 rows never sit in memory), readable by
Excel (UTF-8 with a byte-order mark) and safe to open there (cells that would be formulas are
defused)."""

from __future__ import annotations

import csv
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from datetime import datetime, tzinfo
from decimal import Decimal
from typing import Any

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest, StreamingHttpResponse
from django.utils import timezone

BOM = "\ufeff"  # without it Excel reads UTF-8 as its own code page ("Zoë" as "ZoÃ«")
# OWASP "CSV Injection": a text cell starting with one of these is a formula to a spreadsheet.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CHUNK_BYTES = 64 * 1024
ROWS_PER_QUERY = 1_000  # rows fetched per round trip (a server-side cursor on PostgreSQL)


def cell(value: Any) -> Any:
    """One value as a CSV cell: text defused against formulas, numbers as numbers."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float | Decimal):
        return value
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def local_time(value: datetime | None, zone: tzinfo) -> str:
    """A moment in the account's zone as ISO 8601 with its offset ("2026-03-01T14:30:00-06:00"):
    the file says which zone its times are in, and every importer reads the offset."""
    return value.astimezone(zone).isoformat(timespec="seconds") if value else ""


class _Line:
    """csv.writer writes to a file; this "file" hands each written line back instead."""

    def write(self, text: str) -> str:
        return text


def csv_chunks(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[bytes]:
    writer = csv.writer(_Line())
    parts = [BOM, writer.writerow([cell(h) for h in header])]
    size = 0
    for row in rows:
        line: str = writer.writerow([cell(v) for v in row])
        parts.append(line)
        size += len(line)
        if size >= CHUNK_BYTES:
            yield "".join(parts).encode("utf-8")
            parts, size = [], 0
    if parts:
        yield "".join(parts).encode("utf-8")


def _next_chunk(chunks: Iterator[bytes]) -> bytes | None:
    return next(chunks, None)


async def _handed_over(chunks: Iterator[bytes]) -> AsyncIterator[bytes]:
    # thread_sensitive: every step runs in the request's own sync thread, where its database
    # connection (and on PostgreSQL the open server-side cursor) lives.
    step = sync_to_async(_next_chunk, thread_sensitive=True)
    while (chunk := await step(chunks)) is not None:
        yield chunk


def csv_response(request: HttpRequest, name: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> StreamingHttpResponse:
    chunks = csv_chunks(header, rows)
    # Under ASGI Django would read a plain iterator whole before sending: hand the chunks over one by one.
    body: Iterator[bytes] | AsyncIterator[bytes] = _handed_over(chunks) if isinstance(request, ASGIRequest) else chunks
    response = StreamingHttpResponse(body, content_type="text/csv; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="{name}-{stamp}.csv"'
    response["Cache-Control"] = "no-store"
    return response
