"""What a person sees when something is missing, forbidden or broken: the app's own pages with the
navigation (never Django's debug page), a favicon, and static files served by the app with DEBUG off
(the demo runs that way, as production does)."""

from __future__ import annotations

import pytest
from django.test import Client, RequestFactory
from django.views.defaults import server_error

from dashboard.management.commands.demo import Command

pytestmark = pytest.mark.django_db

NAV_LINKS = ('href="/prospects/"', 'href="/units/"', 'href="/showings/"', 'href="/lockboxes/"')


def test_a_missing_prospect_is_a_styled_404_with_the_navigation(ari_client: Client, world) -> None:  # type: ignore[no-untyped-def]
    response = ari_client.get("/prospects/999999/")
    html = response.content.decode()
    assert response.status_code == 404
    assert "<h1>Not found</h1>" in html
    assert 'class="topbar"' in html
    assert all(link in html for link in NAV_LINKS)
    assert "URLconf" not in html
    assert "Traceback" not in html
    assert ari_client.get("/no/such/page/").status_code == 404
    assert "<h1>Not found</h1>" in ari_client.get("/no/such/page/").content.decode()


def test_a_refused_action_is_a_styled_403_with_the_navigation(ari_client: Client, world) -> None:  # type: ignore[no-untyped-def]
    response = ari_client.post("/sync/run/")
    html = response.content.decode()
    assert response.status_code == 403
    assert "<h1>Not allowed</h1>" in html
    assert all(link in html for link in NAV_LINKS)


def test_a_server_error_page_stands_alone_with_the_navigation(db: None) -> None:
    response = server_error(RequestFactory().get("/prospects/"))
    html = response.content.decode()
    assert response.status_code == 500
    assert "Something went wrong" in html
    assert all(link in html for link in NAV_LINKS)
    assert 'href="/static/css/app.css"' in html


def test_every_page_links_a_favicon_and_favicon_ico_answers(ari_client: Client, world) -> None:  # type: ignore[no-untyped-def]
    assert '<link rel="icon" href="/static/favicon.svg"' in ari_client.get("/units/").content.decode()
    client = Client()
    assert '<link rel="icon" href="/static/favicon.svg"' in client.get("/login/").content.decode()
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"] == "/static/favicon.svg"


def test_static_files_are_served_by_the_app_with_debug_off(client: Client, settings) -> None:  # type: ignore[no-untyped-def]
    assert settings.DEBUG is False
    for path in ("/static/css/app.css", "/static/js/app.js", "/static/favicon.svg"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert b"".join(response.streaming_content if response.streaming else [response.content])


def test_the_demo_runs_its_children_with_debug_off_over_plain_http(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DEBUG", raising=False)
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("SESSION_COOKIE_SECURE", raising=False)
    env = Command()._child_environment({"simulator_port": 8765}, True)
    assert env["DEBUG"] == "false"
    assert len(env["SECRET_KEY"]) >= 32
    assert env["SESSION_COOKIE_SECURE"] == "false"
    monkeypatch.setenv("DEBUG", "true")
    assert Command()._child_environment({"simulator_port": 8765}, True)["DEBUG"] == "true"
