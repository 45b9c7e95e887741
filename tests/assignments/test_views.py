"""The bulk-assign screens over the screens' small world: who may select, assign, watch and undo,
and what each step shows. Nothing is posted here (no drain runs); the outbox tests do that."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from dashboard.models import BulkAssignment
from integrations.rentengine.models import OutboxAssignment
from tests.dashboard.conftest import ARI_ID, BO_ID

pytestmark = pytest.mark.django_db

CY_ID = "3b2e1d4f-2222-4ccc-8ddd-000000000003"
HTMX = {"HTTP_HX_REQUEST": "true"}
State = OutboxAssignment.State


def create(client: Client, ids: str, users: list[str], **extra: str) -> object:
    return client.post("/assignments/create/", {"ids": ids, "user_ids": users, "source": "Other", **extra})


@pytest.fixture
def job(world, ari_client: Client) -> BulkAssignment:  # type: ignore[no-untyped-def]
    response = create(ari_client, "12346,12348", [BO_ID], note="Cover")
    assert response.status_code == 302
    return BulkAssignment.objects.get()


def finish(job: BulkAssignment, *, at=None, previous: tuple[str, ...] = (ARI_ID,)) -> None:  # type: ignore[no-untyped-def]
    """Every row of the job done, as RentEngine answers: each prospect's previous assignees."""
    for row in OutboxAssignment.objects.filter(job_id=job.pk):
        OutboxAssignment.objects.filter(pk=row.pk).update(
            state=State.DONE,
            completed_at=at or timezone.now(),
            result=[{"prospect_id": row.prospect_id, "event_id": None, "previous": list(previous)}],
        )


def test_the_assignment_screens_need_a_login(client: Client, world) -> None:  # type: ignore[no-untyped-def]
    for path in ("/assignments/", "/assignments/matching/", "/assignments/1/"):
        assert client.get(path).status_code == 302


def test_select_all_matching_returns_every_id_the_filter_matches_from_the_mirror_and_only_this_account(
    world,
    ari_client: Client,  # type: ignore[no-untyped-def]
) -> None:
    unassigned = ari_client.get("/assignments/matching/?assignee=unassigned").json()
    assert sorted(unassigned["ids"]) == [12346, 12348, 12349]
    assert unassigned["count"] == 3
    assert not unassigned["capped"]
    everyone = ari_client.get("/assignments/matching/?assignee=all").json()
    assert sorted(everyone["ids"]) == [12345, 12346, 12347, 12348, 12349]
    assert sorted(ari_client.get("/assignments/matching/?assignee=all&source=Rent.com").json()["ids"]) == [12346]


def test_the_dialog_lists_the_team_with_each_ones_open_prospects_and_showings_today(world, ari_client: Client) -> None:  # type: ignore[no-untyped-def]
    response = ari_client.post("/assignments/new/", {"ids": "12346,12348"}, **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Assign 2 prospects" in html
    for name in ("Ari Agent", "Bo Agent", "Mia Manager"):
        assert name in html
    assert "Cy Outsider" not in html
    ari_row = html[html.index(f'value="{ARI_ID}"') :].split("</tr>")[0]
    assert [cell.split("<")[0] for cell in ari_row.split("<td>")[1:]] == ["1", "1"], "one open prospect, one showing today"
    assert "same phone number" in html


def test_confirming_names_the_count_and_the_people_and_what_will_be_skipped(world, ari_client: Client) -> None:  # type: ignore[no-untyped-def]
    response = ari_client.post(
        "/assignments/new/", {"ids": "12345,12346", "step": "confirm", "user_ids": [ARI_ID], "apply_in_bulk": "on"}, **HTMX
    )
    html = response.content.decode()
    assert "Assign 2 prospects to Ari Agent?" in html
    assert "1 is already assigned to exactly this person" in html
    assert "1 more prospect you did not select" in html  # 12349: the same phone as 12345


def test_confirming_without_anyone_chosen_says_so(world, ari_client: Client) -> None:  # type: ignore[no-untyped-def]
    response = ari_client.post("/assignments/new/", {"ids": "12346", "step": "confirm"}, **HTMX)
    assert response.status_code == 400
    assert "Choose at least one person" in response.content.decode()


def test_creating_a_job_writes_it_with_one_outbox_row_per_prospect(world, ari_client: Client, ari: User) -> None:  # type: ignore[no-untyped-def]
    response = create(ari_client, "12345,12346,12349", [BO_ID], apply_in_bulk="on")
    job = BulkAssignment.objects.get()
    assert response["Location"] == f"/assignments/{job.pk}/"
    assert (job.created_by, job.user_ids, job.source, job.apply_in_bulk) == (ari, [BO_ID], "Other", True)
    rows = {r.prospect_id: r for r in OutboxAssignment.objects.filter(job_id=job.pk)}
    assert set(rows) == {12345, 12346, 12349}
    assert {r.state for r in rows.values()} == {State.QUEUED}
    assert rows[12349].covered_by_id == rows[12345].pk, "one post covers the same phone"
    assert rows[12346].note == f"Bulk assign #{job.pk} by Ari Agent"


def test_an_htmx_create_answers_with_the_toast_and_an_event_for_the_page(world, ari_client: Client) -> None:  # type: ignore[no-untyped-def]
    response = ari_client.post("/assignments/create/", {"ids": "12348", "user_ids": [BO_ID]}, **HTMX)
    job = BulkAssignment.objects.latest("pk")
    assert json.loads(response["HX-Trigger"]) == {"bulk:created": {"job": job.pk}}
    assert f"Bulk assign #{job.pk}" in response.content.decode()
    assert 'data-live="assignments"' in response.content.decode(), "it follows the job's change notices"


def test_a_forged_post_for_another_accounts_prospect_is_refused_and_nothing_is_written(world, ari_client: Client) -> None:  # type: ignore[no-untyped-def]
    response = create(ari_client, "12346,22222", [BO_ID])
    assert response.status_code == 403
    assert not BulkAssignment.objects.exists()
    assert not OutboxAssignment.objects.exists()
    assert ari_client.post("/assignments/new/", {"ids": "22222"}).status_code == 403


def test_assigning_to_someone_outside_the_account_or_with_junk_ids_is_refused(world, ari_client: Client) -> None:  # type: ignore[no-untyped-def]
    assert create(ari_client, "12346", [CY_ID]).status_code == 403
    assert create(ari_client, "12346;DROP", [BO_ID]).status_code == 400
    assert create(ari_client, "", [BO_ID]).status_code == 400
    assert (
        ari_client.post("/assignments/create/", {"ids": "12346", "user_ids": [BO_ID], "source": "Carrier pigeon"}).status_code
        == 400
    )
    assert not BulkAssignment.objects.exists()


def test_assign_endpoints_take_posts_only(world, ari_client: Client) -> None:  # type: ignore[no-untyped-def]
    assert ari_client.get("/assignments/create/").status_code == 405
    assert ari_client.get("/assignments/new/").status_code == 405
    assert ari_client.post("/assignments/").status_code == 405


def test_the_outsider_sees_no_trace_of_another_accounts_job(job: BulkAssignment, client: Client, cy: User) -> None:
    client.force_login(cy)
    assert client.get(f"/assignments/{job.pk}/").status_code == 404
    assert client.get(f"/assignments/{job.pk}/toast/").status_code == 404
    assert client.post(f"/assignments/{job.pk}/undo/").status_code == 404
    assert client.post(f"/assignments/{job.pk}/retry/").status_code == 404
    assert f"#{job.pk}" not in client.get("/assignments/").content.decode()


def test_only_the_person_who_started_it_or_a_manager_controls_a_job(
    job: BulkAssignment, client: Client, bo: User, mia: User
) -> None:
    OutboxAssignment.objects.filter(job_id=job.pk).update(state=State.FAILED, reason="HTTP 400")
    client.force_login(bo)
    assert client.get(f"/assignments/{job.pk}/").status_code == 200, "colleagues may watch"
    assert client.post(f"/assignments/{job.pk}/retry/").status_code == 403
    assert OutboxAssignment.objects.filter(state=State.FAILED).count() == 2
    client.force_login(mia)
    assert client.post(f"/assignments/{job.pk}/retry/").status_code == 302
    assert OutboxAssignment.objects.filter(state=State.QUEUED).count() == 2


def test_the_job_page_shows_progress_failures_and_the_decisions_unknown_rows_need(
    job: BulkAssignment, ari_client: Client
) -> None:
    first, second = OutboxAssignment.objects.filter(job_id=job.pk).order_by("id")
    OutboxAssignment.objects.filter(pk=first.pk).update(
        state=State.FAILED, reason="RentEngine refused it (HTTP 400)", completed_at=timezone.now()
    )
    OutboxAssignment.objects.filter(pk=second.pk).update(state=State.UNKNOWN, needs_decision=True, reason="RentEngine can't tell")
    html = ari_client.get(f"/assignments/{job.pk}/").content.decode()
    assert "Needs a decision" in html
    assert "RentEngine refused it (HTTP 400)" in html
    assert "Mark sent" in html
    assert "Resend" in html
    assert "Bo Agent" in html
    assert "Una Unassigned" in html
    response = ari_client.post(f"/assignments/{job.pk}/rows/{second.pk}/resend/")
    assert response.status_code == 302
    assert OutboxAssignment.objects.get(pk=second.pk).state == State.QUEUED
    assert ari_client.post(f"/assignments/{job.pk}/rows/{second.pk}/explode/").status_code == 404


def test_progress_polls_while_running_and_reloads_the_page_when_the_job_changes_state(
    job: BulkAssignment, ari_client: Client
) -> None:
    headers = {**HTMX, "HTTP_HX_TARGET": "job-progress"}
    running = ari_client.get(f"/assignments/{job.pk}/?was=running", **headers)
    assert 'data-live="assignments"' in running.content.decode(), "it follows the job's change notices"
    assert "0 of 2" in running.content.decode()
    finish(job)
    assert ari_client.get(f"/assignments/{job.pk}/?was=running", **headers)["HX-Refresh"] == "true"
    finished = ari_client.get(f"/assignments/{job.pk}/?was=done", **headers).content.decode()
    assert "hx-trigger" not in finished
    assert "Undo: restore 2 prospects" in finished


def test_undo_is_offered_for_ten_minutes_after_the_job_ends(job: BulkAssignment, ari_client: Client) -> None:
    long_ago = timezone.now() - timedelta(minutes=11)
    finish(job, at=long_ago)
    assert "Undo: restore" not in ari_client.get(f"/assignments/{job.pk}/").content.decode()
    assert ari_client.post(f"/assignments/{job.pk}/undo/").status_code == 409
    OutboxAssignment.objects.filter(job_id=job.pk).update(completed_at=timezone.now())
    assert ari_client.post(f"/assignments/{job.pk}/undo/").status_code == 302
    undo = BulkAssignment.objects.get(undo_of=job)
    assert undo.kind == BulkAssignment.Kind.UNDO
    assert ari_client.post(f"/assignments/{job.pk}/undo/").status_code == 409, "once"


def test_undo_is_not_offered_when_nobody_had_the_prospects_before(job: BulkAssignment, ari_client: Client) -> None:
    finish(job, previous=())
    html = ari_client.get(f"/assignments/{job.pk}/").content.decode()
    assert 'id="undo-button"' not in html
    assert "Undo would change nothing: 2 prospects nobody had before (RentEngine has no unassign), so it is not offered." in html
    assert ari_client.post(f"/assignments/{job.pk}/undo/").status_code == 409
    assert not BulkAssignment.objects.filter(undo_of=job).exists()


def test_undo_says_how_many_it_restores_and_what_it_leaves(job: BulkAssignment, ari_client: Client) -> None:
    finish(job)
    first = OutboxAssignment.objects.filter(job_id=job.pk).order_by("id").first()
    OutboxAssignment.objects.filter(pk=first.pk).update(
        result=[{"prospect_id": first.prospect_id, "event_id": None, "previous": []}]
    )
    html = ari_client.get(f"/assignments/{job.pk}/").content.decode()
    assert "Undo: restore 1 prospect</button>" in html
    assert "Undo leaves 1 prospect nobody had before (RentEngine has no unassign) as they are." in html


def test_the_jobs_list_says_who_when_how_many_and_the_result(job: BulkAssignment, ari_client: Client) -> None:
    first = OutboxAssignment.objects.filter(job_id=job.pk).order_by("id").first()
    OutboxAssignment.objects.filter(pk=first.pk).update(state=State.DONE, completed_at=timezone.now())
    html = ari_client.get("/assignments/").content.decode()
    row = html[html.index(f'id="job-{job.pk}"') :].split("</tr>")[0]
    assert "Ari Agent" in row
    assert "Bo Agent" in row
    assert ">2<" in row
    assert "1 of 2 · 1 assigned" in row
    assert "Running" in row


def test_the_prospects_list_has_a_box_per_row_and_the_bulk_bar(world, ari_client: Client) -> None:  # type: ignore[no-untyped-def]
    html = ari_client.get("/prospects/").content.decode()
    assert 'id="bulk-bar"' in html
    assert 'class="row-select" value="12346"' in html
    assert 'id="select-page"' in html
    assert "js/bulk.js" in html
