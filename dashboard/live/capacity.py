"""How many live streams may be open: per person (across web processes, with Redis) and per web process.

A refused stream answers 429 and its page polls instead. With Redis each open stream holds a member
of its person's sorted set, scored with an expiry it refreshes at every heartbeat, so a process
that dies takes its streams' places with it within a minute; without Redis (embedded mode: one
web process) the count lives in the process.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import redis
from django.conf import settings

KEY = "leasing-desk:live-streams:"  # + user id: that person's open streams
HOLD = 60.0  # a place not refreshed for this long is free again (> the heartbeat)


@dataclass
class Places:
    """This process's open streams, by person."""

    by_person: dict[int, set[str]] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(len(places) for places in self.by_person.values())


_places = Places()
_client: Any = None


def _redis() -> Any:
    global _client
    if _client is None:
        _client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=2)
    return _client


def person_streams(user_id: int) -> int:
    """How many live streams this person has open (in every web process when Redis is there)."""
    if settings.REDIS_URL:
        try:
            key = f"{KEY}{user_id}"
            _redis().zremrangebyscore(key, "-inf", time.time())
            return int(_redis().zcard(key))
        except redis.RedisError:
            pass
    return len(_places.by_person.get(user_id, ()))


def refusal(user_id: int) -> str:
    """Why a new stream is refused for this person now, or "" when one may open."""
    if _places.total >= settings.LIVE_STREAMS_PER_PROCESS:
        return "this server holds as many live pages as it may"
    if person_streams(user_id) >= settings.LIVE_STREAMS_PER_PERSON:
        return f"you have {settings.LIVE_STREAMS_PER_PERSON} live tabs open already"
    return ""


def place_take(user_id: int) -> str:
    place = uuid.uuid4().hex
    _places.by_person.setdefault(user_id, set()).add(place)
    place_refresh(user_id, place)
    return place


def place_refresh(user_id: int, place: str) -> None:
    if settings.REDIS_URL:
        try:
            key = f"{KEY}{user_id}"
            _redis().zadd(key, {place: time.time() + HOLD})
            _redis().expire(key, int(HOLD * 2))
        except redis.RedisError:
            pass  # counted in this process meanwhile


def place_release(user_id: int, place: str) -> None:
    places = _places.by_person.get(user_id)
    if places is not None:
        places.discard(place)
        if not places:
            del _places.by_person[user_id]
    if settings.REDIS_URL:
        with contextlib.suppress(redis.RedisError):
            _redis().zrem(f"{KEY}{user_id}", place)
