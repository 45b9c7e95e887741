"""Idempotent submits: a form that starts work (bulk assign, undo, retry, a decision, sync now,
saving a view) carries a one-time key (`{% submit_key %}`, a hidden field rendered with the form).
The first POST with a key does the work and records its result under the key; a repeat (a double
click, a resent form, a second tab racing the first) gets the first result back and does nothing.

The key is the primary key of `SubmitKey`: of two concurrent submits PostgreSQL makes the second
insert wait for the first transaction, then refuses it, and the second reads the first's result.
A POST without a key (an old page, a script) does the work as before.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.http import HttpRequest

from dashboard.models import SubmitKey

FIELD = "submit_key"
KEEP = timedelta(days=1)  # a repeat comes within seconds; a day covers a tab left open overnight


class SubmitRefused(Exception):
    """The key belongs to another person or another action (a forged or mixed-up form)."""


@dataclass(frozen=True)
class Outcome:
    result: str
    repeated: bool  # True: an earlier submit with this key did the work; this one did nothing


def key_new() -> str:
    return str(uuid.uuid4())


def key_of(request: HttpRequest) -> uuid.UUID | None:
    raw = request.POST.get(FIELD, "")
    if not raw:
        return None
    try:
        return uuid.UUID(raw[:64])
    except ValueError:
        raise SubmitRefused("This form's key is not valid; reload the page and try again.") from None


def _user_id(request: HttpRequest) -> int:
    pk = request.user.pk
    if pk is None:  # the views are behind the login; a key means nothing without a person
        raise SubmitRefused("Log in to do that.")
    return int(pk)


def _first(key: uuid.UUID, user_id: int, action: str) -> Outcome:
    first = SubmitKey.objects.filter(key=key).first()
    if first is None or first.user_id != user_id or first.action != action:
        raise SubmitRefused("This form was already used for something else; reload the page and try again.")
    return Outcome(first.result, repeated=True)


def run_once(request: HttpRequest, action: str, work: Callable[[], str]) -> Outcome:
    """Do `work` (which returns the result to remember: a job id, a URL) once per key.

    The key and the work commit together: work that raises (a refusal) leaves no key behind, so the
    same form may be submitted again once its problem is fixed."""
    key = key_of(request)
    if key is None:
        return Outcome(work(), repeated=False)
    user_id = _user_id(request)
    with transaction.atomic():
        try:
            with transaction.atomic():
                record = SubmitKey.objects.create(key=key, user_id=user_id, action=action)
        except IntegrityError:
            return _first(key, user_id, action)
        result = work()
        record.result = result[:300]
        record.save(update_fields=["result"])
    return Outcome(result, repeated=False)


def run_once_then(request: HttpRequest, action: str, result: str, work: Callable[[], object]) -> Outcome:
    """For work that must not run inside a transaction (it sends tasks that read what it commits):
    claim the key first (committed, with the result it will have), then do the work. A repeat finds
    the claim and does nothing; work that fails after the claim is not retried with this key."""
    key = key_of(request)
    if key is not None:
        user_id = _user_id(request)
        try:
            with transaction.atomic():
                SubmitKey.objects.create(key=key, user_id=user_id, action=action, result=result)
        except IntegrityError:
            return _first(key, user_id, action)
    work()
    return Outcome(result, repeated=False)


def keys_prune(before: datetime) -> int:
    return SubmitKey.objects.filter(created_at__lt=before).delete()[0]
