"""Assign or reassign one prospect (issue 16 item 2), per role and account: the chooser with each
person's workload, a job of one prospect through the same outbox as bulk jobs, and the links on
the prospect page, the quick view and the list row."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from django.test import Client

from dashboard.models import BulkAssignment
from integrations.rentengine.models import OutboxAssignment
from tests.dashboard.conftest import ARI_ID, BO_ID

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
State = OutboxAssignment.State


def chooser_key(client: Client, prospect_id: int) -> str:
    html = client.get(f"/prospects/{prospect_id}/assign/").content.decode()
    return re.search(r'name="submit_key" value="([0-9a-f-]{36})"', html).group(1)  # type: ignore[union-attr]


def assign(client: Client, prospect_id: int, users: list[str], **extra: str):  # type: ignore[no-untyped-def]
    data = {"user_ids": users, "source": "Phone Call", "submit_key": chooser_key(client, prospect_id), **extra}
    return client.post(f"/prospects/{prospect_id}/assign/", data)


def test_the_chooser_shows_everyone_with_their_workload_and_no_note_or_follow_up(world, ari_client: Client) -> None:  # type: ignore[no-untyped-def]
    response = ari_client.get("/prospects/12346/assign/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Assign Una Unassigned" in html
    assert "Now: unassigned" in html
    ari_row = html[html.index(f'value="{ARI_ID}"') :].split("</tr>")[0]
    assert "(you)" in ari_row
    assert '<td class="workload-open">1</td>' in ari_row, "Ari's open prospects"
    for name in ("Bo Agent", "Mia Manager"):
        assert name in html
    assert "Cy Outsider" not in html
    assert 'name="note"' not in html, "RentEngine takes no note we could post with it"
    assert "follow" not in html.lower(), "nor a follow-up date"
    partial = ari_client.get("/prospects/12346/assign/", **HTMX).content.decode()
    assert "<html" not in partial, "the dialog gets the chooser alone"
    assert 'id="assign-one-form"' in partial


def test_an_agent_assigns_a_prospect_through_the_outbox(world, ari_client: Client, ari: User) -> None:  # type: ignore[no-untyped-def]
    response = assign(ari_client, 12346, [BO_ID])
    assert response.status_code == 302
    assert response["Location"] == "/prospects/12346/"
    job = BulkAssignment.objects.get()
    assert (job.created_by, job.user_ids, job.source) == (ari, [BO_ID], "Phone Call")
    row = OutboxAssignment.objects.get(job_id=job.pk)
    assert (row.prospect_id, row.user_ids, row.state) == (12346, [BO_ID], State.QUEUED)
    page = ari_client.get("/prospects/12346/").content.decode()
    assert f"Assigning Una Unassigned to Bo Agent (assignment #{job.pk})" in page


def test_a_manager_reassigns_and_goes_back_to_the_list_it_came_from(world, mia_client: Client) -> None:  # type: ignore[no-untyped-def]
    html = mia_client.get("/prospects/12345/assign/").content.decode()
    assert "Now: Ari Agent" in html
    assert f'value="{ARI_ID}" checked' in html, "the current assignee starts ticked"
    response = assign(mia_client, 12345, [BO_ID], next="/prospects/?assignee=all")
    assert response["Location"] == "/prospects/?assignee=all"
    row = OutboxAssignment.objects.get()
    assert (row.prospect_id, row.user_ids) == (12345, [BO_ID])


def test_another_accounts_prospect_is_a_404_both_ways(world, ari_client: Client, cy: User) -> None:  # type: ignore[no-untyped-def]
    assert ari_client.get("/prospects/22222/assign/").status_code == 404
    assert ari_client.post("/prospects/22222/assign/", {"user_ids": [BO_ID]}).status_code == 404
    outsider = Client()
    outsider.force_login(cy)
    assert outsider.get("/prospects/12346/assign/").status_code == 404
    assert outsider.post("/prospects/12346/assign/", {"user_ids": [BO_ID]}).status_code == 404
    assert not BulkAssignment.objects.exists()


def test_someone_outside_the_team_or_nobody_is_refused_in_the_chooser(world, ari_client: Client) -> None:  # type: ignore[no-untyped-def]
    nobody = assign(ari_client, 12346, [])
    assert nobody.status_code == 400
    assert "Choose at least one person" in nobody.content.decode()
    assert assign(ari_client, 12346, ["3b2e1d4f-2222-4ccc-8ddd-000000000003"]).status_code == 403
    assert not BulkAssignment.objects.exists()


def test_a_double_submit_is_one_job(world, ari_client: Client) -> None:  # type: ignore[no-untyped-def]
    data = {"user_ids": [BO_ID], "source": "Other", "submit_key": chooser_key(ari_client, 12346)}
    assert ari_client.post("/prospects/12346/assign/", data).status_code == 302
    assert ari_client.post("/prospects/12346/assign/", data).status_code == 302
    assert BulkAssignment.objects.count() == 1


def test_assigning_to_who_has_it_already_says_so(world, ari_client: Client) -> None:  # type: ignore[no-untyped-def]
    assign(ari_client, 12345, [ARI_ID])
    assert OutboxAssignment.objects.get().state == State.SKIPPED
    assert "already assigned to exactly Ari Agent" in ari_client.get("/prospects/12345/").content.decode()


def test_next_must_be_a_path_of_this_site(world, ari_client: Client) -> None:  # type: ignore[no-untyped-def]
    for bad in ("https://evil.example/", "//evil.example/", "javascript:alert(1)"):
        BulkAssignment.objects.all().delete()
        assert assign(ari_client, 12346, [BO_ID], next=bad)["Location"] == "/prospects/12346/"


def test_the_page_the_quick_view_and_each_row_offer_assign(world, ari_client: Client) -> None:  # type: ignore[no-untyped-def]
    page = ari_client.get("/prospects/12345/").content.decode()
    assert 'id="assign-one-open" href="/prospects/12345/assign/" data-assign-one data-page-action' in page
    assert "Reassign…" in page
    quick = ari_client.get("/prospects/12346/quick/", **HTMX).content.decode()
    assert 'href="/prospects/12346/assign/" data-assign-one>Assign…' in quick
    listing = ari_client.get("/prospects/").content.decode()
    assert 'href="/prospects/12346/assign/" data-assign-one' in listing
    assert "js/assign_one.js" in listing
