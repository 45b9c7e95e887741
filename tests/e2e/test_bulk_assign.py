"""In Chromium, with a real worker posting to the simulator: an agent filters the prospects list,
selects all matching, assigns them to a colleague, watches the job reach done, and undoes it."""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.cache import cache
from django.db.models import Count
from playwright.sync_api import Page, expect

from dashboard.celery import app as celery_app
from dashboard.models import BulkAssignment
from integrations.rentengine.models import Prospect, ProspectAssignee
from integrations.rentengine.outbox.tasks import PARALLEL, QUEUED_KEY
from tests.e2e.test_screens import log_in
from tests.rentengine.outbox.conftest import ARI_ID, BO_ID, MAPLE, fast_passwords, filled, sim, sim_assignees, sim_server
from tests.support.simulator import SimulatorHandle
from tests.support.worker import celery_worker

__all__ = ["fast_passwords", "filled", "sim", "sim_server"]

pytestmark = [pytest.mark.e2e, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker(filled: SimulatorHandle, tmp_path: Path) -> Iterator[None]:
    celery_app.control.purge()
    cache.delete_many([f"{QUEUED_KEY}:{slot}" for slot in range(PARALLEL)])
    env = {"RENTENGINE_BASE_URL": filled.base_url, "RENTENGINE_API_TOKEN": filled.token}
    with celery_worker(concurrency=2, pool="prefork", log_path=tmp_path / "worker.log", **env):
        yield


def someone_with_a_handful() -> tuple[str, set[int]]:
    """A Maple user (not Bo) assigned alone to between 4 and 30 live prospects: the filter to use."""
    counts = (
        ProspectAssignee.objects.filter(prospect__account_id=MAPLE, prospect__deleted_at__isnull=True)
        .exclude(user_id=BO_ID)
        .values("user_id")
        .annotate(n=Count("prospect"))
        .filter(n__gte=4, n__lte=30)
        .order_by("n")
    )
    for row in counts:
        user_id = str(row["user_id"])
        ids = set(
            ProspectAssignee.objects.filter(user_id=user_id, prospect__account_id=MAPLE).values_list("prospect_id", flat=True)
        )
        alone = {p for p in ids if ProspectAssignee.objects.filter(prospect_id=p).count() == 1}
        if alone == ids:
            return user_id, ids
    raise AssertionError("no suitable assignee in the seeded data")


def test_an_agent_bulk_assigns_everything_a_filter_matches_watches_it_finish_and_undoes_it(
    live_server,
    page: Page,
    filled: SimulatorHandle,
    worker: None,
    artifacts_dir: Path,  # type: ignore[no-untyped-def]
) -> None:
    person, chosen = someone_with_a_handful()
    page.set_viewport_size({"width": 1360, "height": 900})
    log_in(page, live_server.url)

    page.select_option("#f-assignee", person)
    rows = page.locator("#rows tr[data-id]")
    expect(rows).to_have_count(len(chosen))
    page.locator("#select-page").check()
    expect(page.locator("#bulk-bar")).to_be_visible()
    expect(page.locator("#bulk-n")).to_have_text(str(len(chosen)))
    page.get_by_role("button", name="Select all prospects matching this filter").click()
    expect(page.locator("#bulk-note")).to_contain_text(f"All {len(chosen)} prospects matching this filter are selected")

    page.get_by_role("button", name="Assign…").click()
    dialog = page.locator("#bulk-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text(f"Assign {len(chosen)} prospects")
    dialog.locator(f'input[name=user_ids][value="{BO_ID}"]').check()
    page.screenshot(path=str(artifacts_dir / "bulk-assign-dialog.png"))
    dialog.get_by_role("button", name="Review").click()
    expect(dialog).to_contain_text(f"Assign {len(chosen)} prospects to Bo Agent?")
    dialog.locator("#bulk-confirm").click()

    toast = page.locator("#bulk-toast .toast")
    expect(toast).to_contain_text("Bulk assign #")
    expect(page.locator("#bulk-bar")).to_be_hidden()  # the selection is spent
    page.screenshot(path=str(artifacts_dir / "bulk-assign-toast.png"))
    toast.get_by_role("link", name="Open").click()
    expect(page).to_have_url(re.compile(r"/assignments/\d+/$"))
    expect(page.locator("#job-progress")).to_have_attribute("data-status", "done", timeout=60_000)
    expect(page.locator("#job-progress")).to_contain_text(f"{len(chosen)} of {len(chosen)}")
    page.screenshot(path=str(artifacts_dir / "bulk-assign-job.png"), full_page=True)
    remote = sim_assignees(filled)
    assert all(remote[p] == {BO_ID} for p in chosen)

    page.get_by_role("button", name=f"Undo: restore {len(chosen)} prospects").click()
    expect(page.locator("h1")).to_contain_text("Undo of bulk assign #")
    expect(page.locator("#job-progress")).to_have_attribute("data-status", "done", timeout=60_000)
    remote = sim_assignees(filled)
    assert all(remote[p] == {person} for p in chosen), "everyone is back with the person they had before"
    assert BulkAssignment.objects.filter(kind=BulkAssignment.Kind.UNDO).count() == 1

    page.goto(live_server.url + "/assignments/")
    expect(page.locator("#job-table tbody tr")).to_have_count(2)
    expect(page.locator("#job-table")).to_contain_text(f"{len(chosen)} assigned")
    page.screenshot(path=str(artifacts_dir / "assignments.png"), full_page=True)


def test_double_clicking_the_confirm_makes_one_job_and_one_post_per_prospect(
    live_server,
    page: Page,
    filled: SimulatorHandle,
    worker: None,  # type: ignore[no-untyped-def]
) -> None:
    """Issue 13 item 8: a double click on "Assign N prospects" made two jobs and duplicate posts."""
    person, chosen = someone_with_a_handful()
    page.set_viewport_size({"width": 1360, "height": 900})
    log_in(page, live_server.url)
    page.select_option("#f-assignee", person)
    expect(page.locator("#rows tr[data-id]")).to_have_count(len(chosen))
    page.locator("#select-page").check()
    page.get_by_role("button", name="Assign…").click()
    dialog = page.locator("#bulk-dialog")
    dialog.locator(f'input[name=user_ids][value="{BO_ID}"]').check()
    dialog.get_by_role("button", name="Review").click()
    expect(dialog).to_contain_text(f"Assign {len(chosen)} prospects to Bo Agent?")
    filled.clear_requests()
    dialog.locator("#bulk-confirm").dblclick()

    toast = page.locator("#bulk-toast .toast")
    expect(toast).to_contain_text("Bulk assign #")
    toast.get_by_role("link", name="Open").click()
    expect(page.locator("#job-progress")).to_have_attribute("data-status", "done", timeout=60_000)
    assert BulkAssignment.objects.count() == 1
    posted = Counter(p["body"]["events"][0]["prospect_id"] for p in filled.posts())
    assert posted == dict.fromkeys(chosen, 1), "one post per prospect"
    assert all(sim_assignees(filled)[p] == {BO_ID} for p in chosen)


def test_a_manager_splits_a_selection_round_robin_and_each_prospect_gets_one_person(
    live_server,
    page: Page,
    filled: SimulatorHandle,
    worker: None,  # type: ignore[no-untyped-def]
) -> None:
    """Issue 16 item 1: split between two people instead of giving both of them everything."""
    person, chosen = someone_with_a_handful()
    page.set_viewport_size({"width": 1360, "height": 900})
    log_in(page, live_server.url)
    page.select_option("#f-assignee", person)
    expect(page.locator("#rows tr[data-id]")).to_have_count(len(chosen))
    page.locator("#select-page").check()
    page.get_by_role("button", name="Assign…").click()
    dialog = page.locator("#bulk-dialog")
    dialog.locator(f'input[name=user_ids][value="{BO_ID}"]').check()
    dialog.locator(f'input[name=user_ids][value="{ARI_ID}"]').check()
    dialog.get_by_label("Split between them, round robin").check()
    dialog.get_by_role("button", name="Review").click()
    expect(dialog).to_contain_text(f"Split {len(chosen)} prospects between")
    shares = dialog.locator("#split-shares tbody tr")
    expect(shares).to_have_count(2)
    shown = {
        shares.nth(i).locator("td").nth(0).inner_text(): int(shares.nth(i).locator("td").nth(1).inner_text()) for i in range(2)
    }
    assert sorted(shown.values()) == [len(chosen) // 2, len(chosen) - len(chosen) // 2]
    dialog.locator("#bulk-confirm").click()

    toast = page.locator("#bulk-toast .toast")
    expect(toast).to_contain_text("Bulk assign #")
    toast.get_by_role("link", name="Open").click()
    expect(page.locator("#job-progress")).to_have_attribute("data-status", "done", timeout=60_000)
    expect(page.locator("#job-shares")).to_contain_text(f"Bo Agent ({shown['Bo Agent']})")
    remote = sim_assignees(filled)
    got = Counter(next(iter(remote[p])) for p in chosen if len(remote[p]) == 1)
    assert got == {BO_ID: shown["Bo Agent"], ARI_ID: shown["Ari Agent"]}, "each prospect has exactly one of the two"


def test_an_agent_assigns_one_prospect_from_its_page_with_the_a_key(
    live_server,
    page: Page,
    filled: SimulatorHandle,
    worker: None,
    artifacts_dir: Path,  # type: ignore[no-untyped-def]
) -> None:
    """Issue 16 item 2: `a` on a prospect page opens the chooser; the assignment goes through the outbox."""
    prospect = (
        Prospect.objects.alive()
        .filter(account_id=MAPLE)
        .exclude(assignees__user_id=BO_ID)
        .exclude(phone_digits="")
        .order_by("id")
    ).first()
    assert prospect is not None
    page.set_viewport_size({"width": 1360, "height": 900})
    log_in(page, live_server.url, next_path=f"/prospects/{prospect.pk}/")
    filled.clear_requests()
    page.keyboard.press("a")
    dialog = page.locator("#assign-one-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Open prospects")
    for box in dialog.locator("input[name=user_ids]:checked").all():
        box.uncheck()
    dialog.locator(f'input[name=user_ids][value="{BO_ID}"]').check()
    page.screenshot(path=str(artifacts_dir / "assign-one-dialog.png"))
    dialog.locator("#assign-one-confirm").dblclick()
    expect(page).to_have_url(re.compile(rf"/prospects/{prospect.pk}/$"))
    expect(page.locator(".messages")).to_contain_text("Assigning")
    job = BulkAssignment.objects.get()
    for _ in range(300):
        if job_finished(job):
            break
        time.sleep(0.1)
    assert sim_assignees(filled)[prospect.pk] == {BO_ID}
    assert len(filled.posts()) == 1, "one post, double click or not"

    # On the list, `a` acts on the focused row.
    page.goto(live_server.url + "/prospects/?assignee=all")
    first = page.locator("#rows tr[data-id]").first
    page.keyboard.press("j")
    expect(first).to_have_class(re.compile("cursor"))
    page.keyboard.press("a")
    expect(page.locator("#assign-one-dialog")).to_be_visible()
    name = first.locator("a.strong").inner_text()
    expect(page.locator("#assign-one-dialog h2")).to_contain_text(name)


def job_finished(job: BulkAssignment) -> bool:
    from dashboard.bulk_assignment import job_progress

    return job_progress(job).finished
