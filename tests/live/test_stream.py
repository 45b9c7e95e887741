"""The event stream itself, driven through Django's ASGI application in this process: who may open
it, which scopes it carries (never another account's), the hello, the notices, the heartbeat, the
204 under WSGI, and that it lets go of everything when the client goes away. Both ways of hearing
bumps are covered: Redis pub/sub (when REDIS_URL is set) and polling the counters (embedded mode)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from asgiref.testing import ApplicationCommunicator
from django.conf import LazySettings
from django.contrib.auth.models import User
from django.core.asgi import get_asgi_application
from django.test import Client

from dashboard.live.hub import db_call, hub_for_loop
from integrations.rentengine.mirror import changes
from tests.conftest import BIRCH_ID, MAPLE_ID

pytestmark = pytest.mark.django_db(transaction=True)

MAPLE_PROSPECTS = f"prospects:{MAPLE_ID}"
BIRCH_PROSPECTS = f"prospects:{BIRCH_ID}"


@pytest.fixture(params=["polling", "redis"])
def hearing(request: pytest.FixtureRequest, settings: LazySettings) -> str:
    """How the web process hears of bumps: polling the counters, or Redis pub/sub."""
    settings.LIVE_POLL_SECONDS = 0.05
    if request.param == "redis" and not settings.REDIS_URL:
        pytest.skip("REDIS_URL is not set")
    if request.param == "polling":
        settings.REDIS_URL = ""
    return str(request.param)


def session_cookie(client: Client, user: User) -> str:
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}"


class Stream:
    """One GET of /live/stream/ through the ASGI app, read event by event."""

    def __init__(self, query: str, cookie: str) -> None:
        scope = {
            "type": "http", "http_version": "1.1", "method": "GET", "scheme": "http", "path": "/live/stream/",
            "raw_path": b"/live/stream/", "query_string": query.encode(), "root_path": "",
            "headers": [(b"host", b"testserver"), (b"cookie", cookie.encode()), (b"accept", b"text/event-stream")],
            "client": ("127.0.0.1", 50000), "server": ("testserver", 80),
        }  # fmt: skip
        self.app = ApplicationCommunicator(get_asgi_application(), scope)
        self.buffer = ""

    async def start(self) -> dict[str, Any]:
        await self.app.send_input({"type": "http.request", "body": b"", "more_body": False})
        return await self.app.receive_output(timeout=10)

    async def next(self, timeout: float = 5) -> str:
        """The next event block (up to its blank line)."""
        while "\n\n" not in self.buffer:
            message = await self.app.receive_output(timeout=timeout)
            assert message["type"] == "http.response.body", message
            self.buffer += message["body"].decode()
        block, self.buffer = self.buffer.split("\n\n", 1)
        return block

    async def event(self, timeout: float = 5) -> tuple[str, Any]:
        """The next event with a name (heartbeats and retry lines skipped)."""
        while True:
            block = await self.next(timeout)
            fields = dict(line.split(": ", 1) for line in block.split("\n") if ": " in line and not line.startswith(":"))
            if "event" in fields:
                return fields["event"], json.loads(fields["data"])

    async def close(self) -> None:
        await self.app.send_input({"type": "http.disconnect"})
        await self.app.wait(timeout=5)


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    async_to_sync(scenario)()


async def bump(*scopes: str) -> None:
    await db_call(lambda: changes.scopes_bump(scopes))


def test_the_stream_says_hello_then_carries_only_the_scopes_of_accounts_i_may_see(
    client: Client, ari: User, cy: User, hearing: str
) -> None:
    cookie = session_cookie(client, ari)

    async def scenario() -> None:
        stream = Stream(f"s={MAPLE_PROSPECTS}&s={BIRCH_PROSPECTS}&s=sync&s=nonsense", cookie)
        start = await stream.start()
        headers = {name.lower(): value for name, value in start["headers"]}
        assert start["status"] == 200
        assert headers[b"content-type"] == b"text/event-stream"
        assert headers[b"x-accel-buffering"] == b"no"
        assert b"no-cache" in headers[b"cache-control"]
        assert await stream.event() == ("hello", {"versions": {MAPLE_PROSPECTS: 0, "sync": 0}})
        assert hub_for_loop().mode == hearing or hearing == "redis"

        await bump(BIRCH_PROSPECTS)  # another account's change: not a word about it
        await bump(MAPLE_PROSPECTS)
        assert await stream.event() == ("changed", {MAPLE_PROSPECTS: 1})
        await bump("sync", BIRCH_PROSPECTS)
        assert await stream.event() == ("changed", {"sync": 1})
        await stream.close()

    run(scenario)


def test_a_quiet_stream_sends_heartbeats(client: Client, ari: User, hearing: str, settings: LazySettings) -> None:
    settings.LIVE_HEARTBEAT_SECONDS = 0.2
    cookie = session_cookie(client, ari)

    async def scenario() -> None:
        stream = Stream(f"s={MAPLE_PROSPECTS}", cookie)
        await stream.start()
        assert (await stream.next()).startswith("retry: 2000\nevent: hello")
        assert await stream.next(timeout=2) == ": keep-alive"
        assert await stream.next(timeout=2) == ": keep-alive"
        await stream.close()

    run(scenario)


def test_a_burst_of_bumps_becomes_few_notices_and_the_last_version_wins(client: Client, ari: User, hearing: str) -> None:
    cookie = session_cookie(client, ari)

    async def scenario() -> None:
        stream = Stream(f"s={MAPLE_PROSPECTS}", cookie)
        await stream.start()
        await stream.event()
        for _ in range(5):
            await bump(MAPLE_PROSPECTS)
        seen = []
        while not seen or seen[-1] < 5:
            _, data = await stream.event()
            seen.append(data[MAPLE_PROSPECTS])
        assert seen == sorted(seen), "versions only go up"
        assert len(seen) <= 5
        await stream.close()

    run(scenario)


def test_when_the_client_goes_away_the_stream_stops_and_the_hub_lets_go(client: Client, ari: User, hearing: str) -> None:
    cookie = session_cookie(client, ari)

    async def scenario() -> None:
        hub = hub_for_loop()
        streams = [Stream(f"s={MAPLE_PROSPECTS}", cookie) for _ in range(2)]
        for stream in streams:
            await stream.start()
            await stream.event()
        assert len(hub.listeners) == 2
        task = hub.task
        assert task is not None
        assert not task.done()
        await streams[0].close()
        assert len(hub.listeners) == 1
        assert not task.done(), "the other page still listens"
        await streams[1].close()
        assert hub.listeners == set()
        await asyncio.wait([task], timeout=5)
        assert task.done(), "the last one out stops the hub (and its Redis subscription)"

    run(scenario)


def test_a_stranger_gets_401_not_a_stream(client: Client) -> None:
    async def scenario() -> None:
        stream = Stream(f"s={MAPLE_PROSPECTS}", "")
        start = await stream.start()
        assert start["status"] == 401

    run(scenario)


def test_under_wsgi_the_stream_answers_204_and_the_versions_say_to_poll(client: Client, ari: User) -> None:
    client.force_login(ari)
    assert client.get("/live/stream/", {"s": MAPLE_PROSPECTS}).status_code == 204
    changes.scopes_bump([MAPLE_PROSPECTS, BIRCH_PROSPECTS])
    answer = client.get("/live/versions/", {"s": [MAPLE_PROSPECTS, BIRCH_PROSPECTS, "assignments"]}).json()
    assert answer == {"versions": {MAPLE_PROSPECTS: 1, "assignments": 0}, "stream": False, "refused": ""}


def test_with_streaming_switched_off_asgi_answers_204_too(client: Client, ari: User, settings: LazySettings) -> None:
    settings.LIVE_STREAM = False
    cookie = session_cookie(client, ari)

    async def scenario() -> None:
        start = await Stream(f"s={MAPLE_PROSPECTS}", cookie).start()
        assert start["status"] == 204

    run(scenario)


def test_with_redis_away_the_hub_polls_the_counters_and_notices_still_arrive(
    client: Client, ari: User, settings: LazySettings
) -> None:
    settings.REDIS_URL = "redis://127.0.0.1:1/15"  # nothing listens there
    settings.LIVE_POLL_SECONDS = 0.05
    cookie = session_cookie(client, ari)

    async def scenario() -> None:
        stream = Stream(f"s={MAPLE_PROSPECTS}", cookie)
        await stream.start()
        await stream.event()
        await bump(MAPLE_PROSPECTS)
        assert await stream.event(timeout=10) == ("changed", {MAPLE_PROSPECTS: 1})
        assert hub_for_loop().mode == "polling"
        await stream.close()

    run(scenario)
