"""Oversized and unkeyed requests are refused before a byte of their body is read (uvicorn + the guard)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from tests.support.uvicorn import UvicornServer, running_uvicorn

pytestmark = pytest.mark.django_db(transaction=True)
KEY = "guard-test-key-0123456789"


@pytest.fixture
def server() -> Iterator[UvicornServer]:
    with running_uvicorn(RENTENGINE_WEBHOOK_API_KEY=KEY, REQUEST_MAX_BODY_BYTES="65536") as uvicorn:
        yield uvicorn


def exchange(server: UvicornServer, head: str, body: bytes = b"", *, wait: float = 5.0) -> tuple[str, float]:
    """Send a request head (and maybe part of a body), and read the answer's status line without sending more."""
    began = time.monotonic()
    with socket.create_connection(("127.0.0.1", server.port), timeout=wait) as connection:
        connection.sendall(head.encode() + body)
        answer = connection.recv(4096).decode("latin-1")
    return answer.split("\r\n", 1)[0], time.monotonic() - began


def test_a_webhook_without_a_key_and_a_100_mb_length_is_refused_at_once(server: UvicornServer) -> None:
    head = "POST /webhooks/rentengine/ HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 104857600\r\n\r\n"
    status, seconds = exchange(server, head)
    assert status.startswith("HTTP/1.1 401")
    assert seconds < 2


def test_a_keyed_webhook_over_the_limit_is_refused_by_its_length_before_it_is_sent(server: UvicornServer) -> None:
    head = (
        "POST /webhooks/rentengine/ HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        f"X-API-Key: {KEY}\r\nContent-Length: 104857600\r\n\r\n"
    )
    status, seconds = exchange(server, head)
    assert status.startswith("HTTP/1.1 413")
    assert seconds < 2


def test_any_page_refuses_a_body_over_the_limit_by_its_length(server: UvicornServer) -> None:
    status, _ = exchange(server, "POST /login/ HTTP/1.1\r\nHost: localhost\r\nContent-Length: 104857600\r\n\r\n")
    assert status.startswith("HTTP/1.1 413")


def test_a_body_without_a_length_is_counted_as_it_arrives_and_refused_past_the_limit(server: UvicornServer) -> None:
    chunk = b"x" * 32768
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(4))  # 128 KB, and the stream goes on
    status, _ = exchange(server, "POST /login/ HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n", chunks)
    assert status.startswith("HTTP/1.1 413")


def test_a_small_body_without_a_length_still_reaches_the_page(server: UvicornServer) -> None:
    chunks = b"5\r\nq=abc\r\n0\r\n\r\n"
    status, _ = exchange(server, "POST /login/ HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n", chunks)
    assert not status.startswith("HTTP/1.1 413")
    assert not status.startswith("HTTP/1.1 5")
