"""First sync is visible: while a resource has not finished its first sync, every screen built on it
says how far it got, marks its counts provisional, and the banner empties itself when it is done."""

from __future__ import annotations

import uuid

import pytest
from django.test import Client
from django.utils import timezone

from integrations.rentengine import sync
from integrations.rentengine.models import SyncState
from tests.dashboard.conftest import World

pytestmark = pytest.mark.django_db


def first_sync_of(resource: str, *, seen: int, total: int | None = None) -> None:
    """Every resource synced once except `resource`, whose first (full) pass is running."""
    now = timezone.now()
    for name in sync.resource_specs():
        if name != resource:
            SyncState.objects.update_or_create(resource=name, defaults={"last_success_at": now, "last_outcome": "ok"})
    progress = {"seen": seen, "pages": seen // 100} | ({"total": total} if total else {})
    SyncState.objects.update_or_create(
        resource=resource, defaults={"run_id": uuid.uuid4(), "run_kind": "full", "run_started_at": now, "progress": progress}
    )
    sync.first_sync_refresh()  # what every page of the run does


def first_sync_done(resource: str) -> None:
    SyncState.objects.filter(resource=resource).update(
        run_id=None, run_kind="", progress={}, last_success_at=timezone.now(), last_outcome="ok"
    )
    sync.first_sync_refresh()  # what the end of the run does


def test_screens_built_on_a_resource_say_how_far_its_first_sync_got(ari_client: Client, world: World) -> None:
    first_sync_of("prospects", seen=4200)
    for screen in ("/prospects/", "/today/", "/team/", "/prospects/12345/"):
        html = ari_client.get(screen).content.decode()
        assert "Syncing prospects: 4,200 so far" in html, screen
        assert "Newest-first and date sorts show only the prospects read so far." in html, "sorts that depend on it say so"
        assert "provisional" in html, screen
    html = ari_client.get("/prospects/").content.decode()
    assert 'class="pill warn provisional"' in html, "the count says it is not final"
    html = ari_client.get("/team/").content.decode()
    assert 'id="workload-h">Workload <span class="pill warn provisional"' in html
    html = ari_client.get("/units/").content.decode()
    assert "Syncing prospects" not in html, "units are not built on prospects"
    assert "provisional" not in html


def test_a_known_total_is_shown(ari_client: Client, world: World) -> None:
    first_sync_of("prospects", seen=4200, total=10000)
    assert "Syncing prospects: 4,200 of about 10,000" in ari_client.get("/prospects/").content.decode()


def test_a_resource_waiting_for_its_first_sync_says_so(ari_client: Client, world: World) -> None:
    first_sync_of("prospects", seen=0)
    SyncState.objects.filter(resource="showings").delete()  # not started yet (it waits for prospects)
    sync.first_sync_refresh()
    html = ari_client.get("/showings/").content.decode()
    assert "Waiting to sync showings for the first time." in html


def test_the_banner_goes_once_the_first_sync_is_done(ari_client: Client, world: World) -> None:
    first_sync_of("prospects", seen=4200)
    live = ari_client.get("/live/first-sync/?screen=prospects").content.decode()
    assert "Syncing prospects: 4,200 so far" in live
    assert 'data-live="sync"' in live, "it follows the sync's change notices"
    first_sync_done("prospects")
    live = ari_client.get("/live/first-sync/?screen=prospects").content.decode()
    assert "Syncing" not in live
    assert 'id="first-sync"' in live, "an empty banner replaces the old one"
    html = ari_client.get("/prospects/").content.decode()
    assert "Syncing prospects" not in html
    assert "provisional" not in html


def test_no_banner_when_every_resource_has_synced(ari_client: Client, world: World) -> None:
    first_sync_of("prospects", seen=1)
    first_sync_done("prospects")
    assert sync.first_sync_progress() == {}
    assert 'data-live="sync"' not in ari_client.get("/today/").content.decode()


def test_a_run_start_announces_the_first_sync(world: World, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    with django_capture_on_commit_callbacks(execute=True):
        sync.run_start("units")
    progress = sync.first_sync_progress()
    assert progress["units"]["running"] is True
    assert progress["units"]["seen"] == 0
    assert progress["prospects"]["running"] is False, "never started: waiting"


def test_the_banner_costs_no_query(ari_client: Client, world: World, django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    first_sync_of("prospects", seen=4200)
    with django_assert_max_num_queries(10):
        assert "Syncing prospects" in ari_client.get("/today/").content.decode()
    with django_assert_max_num_queries(2):  # the session and the user
        assert "Syncing prospects" in ari_client.get("/live/first-sync/?screen=today").content.decode()
