"""Saved views: a list's filters under a name, reopened by link; one default per list opens it;
shared views reach teammates on the same account only; only the owner changes a view."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from dashboard.lists.saved_views import query_clean
from dashboard.models import SavedView
from tests.dashboard.conftest import World

pytestmark = pytest.mark.django_db


def save(client: Client, list_name: str, name: str, query: str, **flags: str) -> str:
    response = client.post("/views/save/", {"list": list_name, "name": name, "query": query, **flags})
    assert response.status_code == 302
    return response["Location"]


def test_a_view_saves_the_filters_and_reopens_them(ari_client: Client, world: World) -> None:
    location = save(ari_client, "prospects", "Hot Zillow leads", "assignee=all&source=Zillow&after=abc&family=")
    assert location == "/prospects/?assignee=all&source=Zillow", "no cursor, no empty values"
    view = SavedView.objects.get(name="Hot Zillow leads")
    assert view.owner.username == "ari"
    assert str(view.account_id) == "6ecca3ec-0000-4000-8000-00000000a001"
    html = ari_client.get(location).content.decode()
    assert 'class="current-view">Hot Zillow leads<' in html, "the open view is recognised"
    assert 'href="/prospects/export.csv?assignee=all&amp;source=Zillow"' in html


def test_saving_under_the_same_name_updates_the_view(ari_client: Client, world: World) -> None:
    save(ari_client, "units", "Mine", "status=Leased")
    save(ari_client, "units", "Mine", "status=Available")
    assert list(SavedView.objects.values_list("query", flat=True)) == ["status=Available"]


def test_a_default_view_opens_its_list_and_plain_opens_it_without(ari_client: Client, world: World) -> None:
    save(ari_client, "units", "Leased", "status=Leased", default="1")
    assert ari_client.get("/units/")["Location"] == "/units/?status=Leased"
    assert ari_client.get("/units/?plain=1").status_code == 200
    save(ari_client, "units", "Cheap", "rent_max=1600", default="1")
    assert ari_client.get("/units/")["Location"] == "/units/?rent_max=1600", "one default per list"
    assert SavedView.objects.filter(is_default=True).count() == 1
    assert ari_client.get("/prospects/").status_code == 200, "other lists are not affected"


def test_the_default_is_personal(ari_client: Client, world: World) -> None:
    save(ari_client, "lockboxes", "Quiet boxes", "state=quiet", default="1", shared="1")
    client = Client()
    client.force_login(User.objects.get(username="bo"))
    assert client.get("/lockboxes/").status_code == 200


def test_shared_views_reach_the_team_but_not_another_account(ari_client: Client, world: World) -> None:
    save(ari_client, "prospects", "Team queue", "assignee=unassigned", shared="1")
    save(ari_client, "prospects", "Private queue", "assignee=mine")
    client = Client()
    client.force_login(User.objects.get(username="bo"))
    html = client.get("/prospects/?assignee=all").content.decode()
    assert "Team queue" in html
    assert "by Ari Agent" in html
    assert "Private queue" not in html
    client = Client()
    client.force_login(User.objects.get(username="cy"))
    assert "Team queue" not in client.get("/prospects/?assignee=all").content.decode()
    assert "Team queue" not in client.get("/views/").content.decode()


def test_only_the_owner_changes_a_view(ari_client: Client, world: World) -> None:
    save(ari_client, "prospects", "Team queue", "assignee=unassigned", shared="1")
    view = SavedView.objects.get()
    client = Client()
    client.force_login(User.objects.get(username="bo"))
    for change in ("default", "share", "delete"):
        assert client.post(f"/views/{view.pk}/{change}/").status_code == 404
    assert ari_client.post(f"/views/{view.pk}/default/").status_code == 302
    assert ari_client.post(f"/views/{view.pk}/share/").status_code == 302
    view.refresh_from_db()
    assert view.is_default
    assert not view.shared
    assert ari_client.post(f"/views/{view.pk}/rename/").status_code == 404
    assert ari_client.post(f"/views/{view.pk}/delete/").status_code == 302
    assert not SavedView.objects.exists()


def test_the_views_page_lists_mine_and_the_teams(ari_client: Client, world: World) -> None:
    save(ari_client, "showings", "This week", "view=week")
    html = ari_client.get("/views/").content.decode()
    assert 'href="/showings/?view=week"' in html
    assert "Make default" in html


def test_a_view_needs_a_name_and_a_known_list(ari_client: Client, world: World) -> None:
    ari_client.post("/views/save/", {"list": "prospects", "name": "   ", "query": "assignee=all"})
    ari_client.post("/views/save/", {"list": "nonsense", "name": "x", "query": ""})
    assert not SavedView.objects.exists()
    assert ari_client.get("/views/save/").status_code == 405


def test_hostile_view_names_are_escaped(ari_client: Client, world: World) -> None:
    save(ari_client, "prospects", "<img src=x onerror=alert(1)>", "assignee=all")
    html = ari_client.get("/prospects/?assignee=all").content.decode()
    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_a_query_is_kept_in_a_stable_order() -> None:
    assert query_clean("b=2&a=1&after=xyz&plain=1&c=") == "a=1&b=2"
