"""Many open tabs must not take the server down: idle streams hold no database connection, a person
and a process have a cap (refused pages poll and say so), and a stream ends after logout."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client

from dashboard.models import TeamMember
from tests.conftest import MAPLE_ID
from tests.support.uvicorn import UvicornServer, running_uvicorn

pytestmark = pytest.mark.django_db(transaction=True)
SCOPE = f"prospects:{MAPLE_ID}"


@pytest.fixture
def server() -> Iterator[UvicornServer]:
    with running_uvicorn(LIVE_HEARTBEAT_SECONDS="0.5", LIVE_STREAMS_PER_PERSON="8") as uvicorn:
        yield uvicorn


def cookie_of(client: Client, user: User) -> dict[str, str]:
    client.force_login(user)
    return {"sessionid": client.cookies["sessionid"].value}


class OpenStream:
    """A stream read on a thread until closed: its status and the events it got."""

    def __init__(self, server: UvicornServer, cookies: dict[str, str]) -> None:
        self.status: int | None = None
        self.text = ""
        self.ready = threading.Event()
        self.ended = threading.Event()
        self._client = httpx.Client(base_url=server.url, cookies=cookies, timeout=httpx.Timeout(5, read=30))
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        with contextlib.suppress(httpx.HTTPError), self._client.stream("GET", "/live/stream/", params={"s": SCOPE}) as answer:
            self.status = answer.status_code
            for chunk in answer.iter_text():
                self.text += chunk
                if "event: hello" in self.text:
                    self.ready.set()
        self.ready.set()
        self.ended.set()

    def close(self) -> None:
        self._client.close()


def backends() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")
        return int(cursor.fetchone()[0])


@pytest.mark.skipif(connection.vendor != "postgresql", reason="counts PostgreSQL connections")
def test_open_streams_hold_no_database_connection_while_idle(
    server: UvicornServer, client: Client, ari: User, bo: User, mia: User
) -> None:
    people = [cookie_of(Client(), person) for person in (ari, bo, mia)]
    httpx.get(f"{server.url}/healthz", timeout=10)
    time.sleep(1)
    before = backends()
    streams = [OpenStream(server, people[n % 3]) for n in range(18)]
    try:
        assert all(s.ready.wait(20) for s in streams)
        assert {s.status for s in streams} == {200}
        time.sleep(2)  # a few heartbeats: each one checks the session, then lets its connection go
        assert backends() - before <= 4, "idle streams are holding database connections"
    finally:
        for s in streams:
            s.close()


def test_a_ninth_tab_of_one_person_polls_instead_and_says_why(server: UvicornServer, ari: User) -> None:
    cookies = cookie_of(Client(), ari)
    streams = [OpenStream(server, cookies) for _ in range(8)]
    try:
        assert all(s.ready.wait(20) for s in streams)
        ninth = httpx.get(f"{server.url}/live/stream/", params={"s": SCOPE}, cookies=cookies, timeout=10)
        assert ninth.status_code == 429
        versions = httpx.get(f"{server.url}/live/versions/", params={"s": SCOPE}, cookies=cookies, timeout=10).json()
        assert versions["stream"] is False
        assert "8 live tabs" in versions["refused"]
    finally:
        for s in streams:
            s.close()


def test_a_stream_ends_within_a_heartbeat_of_logging_out(server: UvicornServer, ari: User) -> None:
    browser = Client()
    stream = OpenStream(server, cookie_of(browser, ari))
    try:
        assert stream.ready.wait(20)
        browser.post("/logout/")
        assert stream.ended.wait(5), "the stream kept going after its session logged out"
        assert "event: bye" in stream.text
        assert "signed out" in stream.text
    finally:
        stream.close()


def test_a_stream_ends_when_its_person_loses_the_account(server: UvicornServer, ari: User) -> None:
    stream = OpenStream(server, cookie_of(Client(), ari))
    try:
        assert stream.ready.wait(20)
        TeamMember.objects.get(user=ari).accounts.clear()
        assert stream.ended.wait(5)
        assert "access changed" in stream.text
    finally:
        stream.close()
