"""The frame: login, navigation, login required everywhere but the public URLs, and /healthz."""

from __future__ import annotations

import pytest
from django.db import OperationalError
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

PUBLIC_PATHS = {
    "/healthz",
    "/metrics",
    "/webhooks/rentengine/",
    "/login/",
    "/favicon.ico",
}  # /metrics has its own token (test_metrics)
# Read by scripts (EventSource, fetch), for whom a redirect to the login page means nothing: a 401.
SCRIPT_PATHS = {"/live/stream/", "/live/versions/"}


def all_paths() -> list[str]:
    """Every URL the project routes, with example values for its parameters."""
    paths: list[str] = []

    def walk(patterns: list, prefix: str) -> None:
        for entry in patterns:
            if isinstance(entry, URLResolver):
                if str(entry.pattern).startswith("admin/"):
                    continue  # the admin has its own login
                walk(entry.url_patterns, prefix + str(entry.pattern))
            elif isinstance(entry, URLPattern):
                route = prefix + str(entry.pattern)
                for converter in ("<int:", "<uuid:", "<str:", "<slug:", "<"):
                    while converter in route:
                        start = route.index(converter)
                        end = route.index(">", start)
                        value = "1" if converter == "<int:" else "00000000-0000-4000-8000-000000000000"
                        route = route[:start] + value + route[end + 1 :]
                paths.append("/" + route.lstrip("^").rstrip("$"))

    walk(get_resolver().url_patterns, "")
    return sorted(set(paths))


@pytest.mark.django_db
@pytest.mark.parametrize("path", [p for p in all_paths() if p not in PUBLIC_PATHS | SCRIPT_PATHS])
def test_every_page_sends_a_stranger_to_the_login_page(client: Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 302, path
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.django_db
@pytest.mark.parametrize("path", sorted(SCRIPT_PATHS))
def test_what_scripts_read_answers_a_stranger_401(client: Client, path: str) -> None:
    assert path in all_paths()
    assert client.get(path).status_code == 401


@pytest.mark.django_db
def test_the_login_page_and_healthz_are_public(client: Client) -> None:
    assert client.get("/login/").status_code == 200
    assert client.get("/healthz").status_code in (200, 503)


def test_a_signed_in_agent_sees_the_navigation(ari_client: Client) -> None:
    response = ari_client.get("/units/", follow=True)
    assert response.status_code == 200
    html = response.content.decode()
    for label, url in [("Prospects", "/prospects/"), ("Units", "/units/"), ("Showings", "/showings/"), ("Lockboxes", "/lockboxes/"),
                       ("Assignments", "/assignments/"), ("Sync", "/sync/")]:  # fmt: skip
        assert f'href="{url}"' in html
        assert label in html
    assert "Ari Agent" in html


def test_login_with_a_wrong_password_says_so(client: Client, ari) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/login/", {"username": "ari", "password": "wrong"})
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()


def test_login_then_logout(client: Client, ari) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/login/", {"username": "ari", "password": "correct horse battery"})
    assert response.status_code == 302
    assert client.get("/units/").status_code == 200
    assert client.post("/logout/").status_code == 302
    assert client.get("/units/").status_code == 302


def test_pages_load_htmx_from_our_own_static_files(ari_client: Client) -> None:
    html = ari_client.get("/units/").content.decode()
    assert "/static/django_htmx/htmx-2.min.js" in html
    assert "https://" not in html.split("<body")[0], "nothing may come from a CDN"


@pytest.mark.django_db
def test_healthz_reports_the_database_and_broker_up(client: Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok"}  # and nothing more for strangers


@pytest.mark.django_db
def test_healthz_gives_a_manager_the_details(client: Client, mia) -> None:  # type: ignore[no-untyped-def]
    client.force_login(mia)
    details = client.get("/healthz").json()["details"]
    assert set(details) >= {"database", "broker", "last_sync_age_seconds", "webhooks_waiting", "outbox"}


@pytest.mark.django_db
def test_healthz_is_503_when_the_broker_is_unreachable(client: Client, settings) -> None:  # type: ignore[no-untyped-def]
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["broker"] == "unavailable"


@pytest.mark.django_db
def test_healthz_is_503_when_the_database_is_unreachable(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    from django.db import connection

    def broken_cursor(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise OperationalError("connection refused")

    monkeypatch.setattr(connection, "cursor", broken_cursor)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "unavailable", "broker": "ok"}
    assert "connection refused" not in response.content.decode()  # the reason goes to the log, not to strangers
