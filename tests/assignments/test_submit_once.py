"""Idempotent submits (issue 13 item 8): every form that starts work carries a one-time key, and a
repeat of a submit (a double click, a resent form, two racing requests) answers with the first
result instead of doing the work again. Before the key, each of these posts made new work."""

from __future__ import annotations

import re
import threading
import uuid
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.utils import timezone

from dashboard.models import BulkAssignment, SavedView, SubmitKey
from integrations.rentengine.models import OutboxAssignment, Prospect
from tests.dashboard.conftest import ARI_ID, BO_ID

HTMX = {"HTTP_HX_REQUEST": "true"}
State = OutboxAssignment.State


def rendered_key(html: str) -> str:
    found = re.search(r'name="submit_key" value="([0-9a-f-]{36})"', html)
    assert found, "the form carries a one-time key"
    return found.group(1)


def confirm_form(client: Client, ids: str, users: list[str]) -> dict[str, Any]:
    """What the dialog's confirm step would post: its hidden fields, the key included."""
    html = client.post("/assignments/new/", {"ids": ids, "step": "confirm", "user_ids": users}, **HTMX).content.decode()
    return {"ids": ids, "user_ids": users, "source": "Other", "note": "", "submit_key": rendered_key(html)}


@pytest.mark.django_db
def test_a_double_submitted_confirm_makes_one_job_and_both_answers_lead_to_it(world, ari_client: Client) -> None:  # type: ignore[no-untyped-def]
    form = confirm_form(ari_client, "12346,12348", [BO_ID])
    first = ari_client.post("/assignments/create/", form)
    second = ari_client.post("/assignments/create/", form)
    job = BulkAssignment.objects.get()
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"] == f"/assignments/{job.pk}/"
    assert OutboxAssignment.objects.filter(job_id=job.pk).count() == 2, "one row per prospect, not two"


@pytest.mark.django_db
def test_an_htmx_repeat_answers_with_the_first_jobs_toast(world, ari_client: Client) -> None:  # type: ignore[no-untyped-def]
    form = confirm_form(ari_client, "12348", [BO_ID])
    first = ari_client.post("/assignments/create/", form, **HTMX)
    second = ari_client.post("/assignments/create/", form, **HTMX)
    job = BulkAssignment.objects.get()
    assert first["HX-Trigger"] == second["HX-Trigger"]
    assert f"Bulk assign #{job.pk}" in second.content.decode()


@pytest.mark.django_db
def test_a_new_confirm_step_is_a_new_key_and_a_new_job(world, ari_client: Client) -> None:  # type: ignore[no-untyped-def]
    ari_client.post("/assignments/create/", confirm_form(ari_client, "12348", [BO_ID]))
    ari_client.post("/assignments/create/", confirm_form(ari_client, "12348", [ARI_ID]))
    assert BulkAssignment.objects.count() == 2


@pytest.mark.django_db
def test_a_refused_submit_keeps_no_key_so_the_fixed_form_goes_through(world, ari_client: Client) -> None:  # type: ignore[no-untyped-def]
    form = confirm_form(ari_client, "12348", [BO_ID])
    assert ari_client.post("/assignments/create/", {**form, "source": "Carrier pigeon"}).status_code == 400
    assert not SubmitKey.objects.exists()
    assert ari_client.post("/assignments/create/", form).status_code == 302
    assert BulkAssignment.objects.count() == 1


@pytest.mark.django_db
def test_another_persons_key_or_a_junk_key_is_refused(world, ari_client: Client, bo: User) -> None:  # type: ignore[no-untyped-def]
    form = confirm_form(ari_client, "12348", [BO_ID])
    ari_client.post("/assignments/create/", form)
    other = Client()
    other.force_login(bo)
    assert other.post("/assignments/create/", form).status_code == 400
    assert other.post("/assignments/create/", {**form, "submit_key": "not-a-key"}).status_code == 400
    assert BulkAssignment.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_submits_with_one_key_make_one_job(world, ari: User) -> None:  # type: ignore[no-untyped-def]
    key = str(uuid.uuid4())
    form = {"ids": "12346,12348,12349", "user_ids": [BO_ID], "source": "Other", "submit_key": key}
    start = threading.Barrier(2)
    answers: list[str] = []

    def submit() -> None:
        try:
            client = Client()
            client.force_login(ari)
            start.wait()
            answers.append(client.post("/assignments/create/", form)["Location"])
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    job = BulkAssignment.objects.get()
    assert answers == [f"/assignments/{job.pk}/"] * 2
    assert OutboxAssignment.objects.filter(job_id=job.pk).count() == 3


@pytest.mark.django_db
def test_undo_submitted_twice_undoes_once_and_both_lead_to_the_undo(world, ari_client: Client) -> None:  # type: ignore[no-untyped-def]
    ari_client.post("/assignments/create/", confirm_form(ari_client, "12346,12348", [BO_ID]))
    job = BulkAssignment.objects.get()
    for row in OutboxAssignment.objects.filter(job_id=job.pk):
        row.state, row.completed_at = State.DONE, timezone.now()
        row.result = [{"prospect_id": row.prospect_id, "event_id": 900 + row.pk, "previous": [ARI_ID]}]
        row.save()
        # The mirror applied the post's event (undo restores only prospects nobody reassigned since).
        Prospect.objects.filter(id=row.prospect_id).update(assigned_by_event_id=900 + row.pk)
    toast = ari_client.get(f"/assignments/{job.pk}/toast/").content.decode()
    assert re.search(r"data-submit-once hx-vals='\{\"submit_key\": \"[0-9a-f-]{36}\"\}'", toast), "the toast's Undo too"
    page = ari_client.get(f"/assignments/{job.pk}/").content.decode()
    undo_form = page[page.index("/undo/") :]
    key = rendered_key(undo_form)
    first = ari_client.post(f"/assignments/{job.pk}/undo/", {"submit_key": key})
    second = ari_client.post(f"/assignments/{job.pk}/undo/", {"submit_key": key})
    undo = BulkAssignment.objects.get(undo_of=job)
    assert first.status_code == second.status_code == 302, "the repeat is not a 409: it is the same undo"
    assert first["Location"] == second["Location"] == f"/assignments/{undo.pk}/"


@pytest.mark.django_db
def test_retry_submitted_twice_retries_once(world, ari_client: Client) -> None:  # type: ignore[no-untyped-def]
    ari_client.post("/assignments/create/", confirm_form(ari_client, "12346,12348", [BO_ID]))
    job = BulkAssignment.objects.get()
    OutboxAssignment.objects.filter(job_id=job.pk).update(state=State.FAILED, reason="HTTP 400", completed_at=timezone.now())
    key = rendered_key(ari_client.get(f"/assignments/{job.pk}/").content.decode().split("/retry/")[1])
    assert ari_client.post(f"/assignments/{job.pk}/retry/", {"submit_key": key}).status_code == 302
    OutboxAssignment.objects.filter(job_id=job.pk).update(state=State.FAILED)  # failed again meanwhile
    assert ari_client.post(f"/assignments/{job.pk}/retry/", {"submit_key": key}).status_code == 302
    assert OutboxAssignment.objects.filter(job_id=job.pk, state=State.FAILED).count() == 2, "the repeat did not retry"


@pytest.mark.django_db
def test_sync_now_submitted_twice_starts_one_sync(world, mia_client: Client, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    from integrations.rentengine import sync

    started: list[str] = []
    monkeypatch.setattr(sync, "sync_start_now", lambda name, *, full: started.append(name) or True)
    html = mia_client.get("/sync/").content.decode()
    key = rendered_key(html[html.index("Sync everything now") - 600 :])
    for _ in range(2):
        assert mia_client.post("/sync/run/", {"resource": "all", "submit_key": key}).status_code == 302
    assert len(started) == len(set(started)) == len(sync.resource_specs()), "each resource started once"


@pytest.mark.django_db
def test_saving_a_view_twice_with_one_key_saves_once(world, ari_client: Client) -> None:  # type: ignore[no-untyped-def]
    key = rendered_key(ari_client.get("/prospects/").content.decode().split("save-view")[1])
    form = {"list": "prospects", "name": "Mine", "query": "assignee=mine", "submit_key": key}
    first = ari_client.post("/views/save/", form)
    second = ari_client.post("/views/save/", {**form, "name": "Mine again"})
    assert first["Location"] == second["Location"]
    assert list(SavedView.objects.values_list("name", flat=True)) == ["Mine"]
