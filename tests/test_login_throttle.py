"""Guessing passwords locks the username (and the address) out for a while; a manager can unlock it."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def throttled(settings: Any) -> None:
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = 5


def attempt(client: Client, path: str, username: str, password: str, address: str = "10.0.0.1") -> Any:
    return client.post(path, {"username": username, "password": password}, REMOTE_ADDR=address)


@pytest.mark.parametrize("path", ["/login/", "/admin/login/"])
def test_five_wrong_passwords_lock_the_username_out_even_for_the_right_one(client: Client, root: User, path: str) -> None:
    answers = [attempt(client, path, "root", "wrong").status_code for _ in range(5)]
    assert answers == [200, 200, 200, 200, 429]  # the fifth wrong password locks
    locked = attempt(client, path, "root", "correct horse battery")
    assert locked.status_code == 429
    assert "Too many wrong passwords" in locked.content.decode()
    assert "Try again in 15 minutes" in locked.content.decode()


def test_the_lock_follows_the_username_across_addresses_and_the_address_across_usernames(
    client: Client, ari: User, bo: User
) -> None:
    for n in range(5):
        attempt(client, "/login/", "ari", "wrong", address=f"10.0.0.{n + 10}")
    assert attempt(client, "/login/", "ari", "correct horse battery", address="10.9.9.9").status_code == 429
    for n in range(5):
        attempt(client, "/login/", f"nobody{n}", "wrong", address="10.0.0.99")
    assert attempt(client, "/login/", "bo", "correct horse battery", address="10.0.0.99").status_code == 429


def test_a_manager_unlocks_a_username_by_command(client: Client, ari: User) -> None:
    for _ in range(5):
        attempt(client, "/login/", "ari", "wrong")
    assert attempt(client, "/login/", "ari", "correct horse battery", address="10.1.1.1").status_code == 429
    call_command("axes_reset_username", "ari")
    assert attempt(client, "/login/", "ari", "correct horse battery", address="10.1.1.1").status_code == 302
