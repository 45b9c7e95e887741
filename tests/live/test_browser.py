"""In Chromium against uvicorn (the stream needs ASGI; these tests don't use live_server): the
simulator changes a prospect, its webhook reaches the receiver, a real worker applies it, and the
open prospects page shows the change without a reload; again after the stream is cut (uvicorn
stopped) and restored, including a change made while the page was cut off."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from playwright.sync_api import Page, expect

from dashboard.celery import app as celery_app
from integrations.rentengine import mirror
from integrations.rentengine.client import ProspectRecord, parse_record
from integrations.rentengine.mirror import changes
from integrations.rentengine.models import Account, Prospect
from integrations.rentengine.webhooks import tasks as webhook_tasks
from tests.dashboard.conftest import stamp
from tests.e2e.test_screens import log_in
from tests.rentengine.outbox.conftest import MAPLE, mirror_fill
from tests.support.simulator import TEST_WEBHOOK_KEY, SimulatorHandle, running_simulator
from tests.support.uvicorn import UvicornServer, running_uvicorn
from tests.support.worker import celery_worker

pytestmark = [pytest.mark.e2e, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

NOWHERE = "http://127.0.0.1:9/webhooks/rentengine/"  # the discard port: deliveries fail, nothing lands


@pytest.fixture(scope="module")
def sim_server() -> Iterator[SimulatorHandle]:
    with running_simulator(size="small", seed=5, rate_limit="off", webhook_url=NOWHERE, webhook_backoff=0.1) as sim:
        yield sim


@pytest.fixture
def server(tmp_path: Path) -> Iterator[UvicornServer]:
    env = {"RENTENGINE_WEBHOOK_API_KEY": TEST_WEBHOOK_KEY, "LIVE_POLL_SECONDS": "0.1"}
    with running_uvicorn(log_path=tmp_path / "uvicorn.log", **env) as web:
        yield web


@pytest.fixture
def worker(tmp_path: Path) -> Iterator[None]:
    webhook_tasks.apply_request_flag_clear()
    celery_app.control.purge()
    with celery_worker(log_path=tmp_path / "worker.log"):
        yield


@pytest.fixture
def upcoming(sim_server: SimulatorHandle, maple: Account, birch: Account, mia: User) -> tuple[int, int, str]:
    """(steps, prospect id, new status): the simulator is deterministic after a reset, so learn what
    its next status steps will do (their webhooks go nowhere), reset, and mirror the data as it is.
    Replaying `steps` steps changes the prospect (a Maple one, which Mia may see) to the status."""
    sim_server.configure_webhooks(url=NOWHERE)
    sim_server.reset()
    planned = sim_server.activity(8, kind="status")
    sim_server.reset()
    mirror_fill(sim_server)
    for n, step in enumerate(planned, start=1):
        prospect = Prospect.objects.filter(pk=step["prospect_id"]).first()
        if prospect is not None and str(prospect.account_id) == MAPLE:
            return n, prospect.pk, str(step["status"])
    raise AssertionError("no Maple prospect among the simulator's next status steps")


def open_list_showing(page: Page, server: UvicornServer, prospect_id: int) -> None:
    """Mia's list of everyone, searched by the prospect's name, live."""
    name = Prospect.objects.get(pk=prospect_id).name
    page.set_viewport_size({"width": 1360, "height": 900})
    log_in(page, server.url, username="mia")
    page.goto(f"{server.url}/prospects/?assignee=all&q={quote(name)}")
    expect(page.locator(f"#prospect-{prospect_id}")).to_be_visible()
    expect(page.locator("#live-indicator")).to_have_attribute("data-state", "live")


def test_a_simulated_change_shows_on_the_open_prospects_page_without_a_reload(
    page: Page,
    server: UvicornServer,
    worker: None,
    sim_server: SimulatorHandle,
    upcoming: tuple[int, int, str],
    artifacts_dir: Path,
) -> None:
    steps, prospect_id, status = upcoming
    open_list_showing(page, server, prospect_id)
    row = page.locator(f"#prospect-{prospect_id}")
    expect(row).not_to_contain_text(status)
    page.evaluate("window.notReloaded = true")

    sim_server.configure_webhooks(url=f"{server.url}/webhooks/rentengine/")
    assert sim_server.activity(steps, kind="status")[-1]["prospect_id"] == prospect_id
    expect(row).to_contain_text(status, timeout=15_000)
    expect(row).to_have_class(re.compile("live-flash"))
    assert page.evaluate("window.notReloaded") is True, "the row was patched in place, the page not reloaded"
    expect(page.locator("#live-indicator .live-updated")).to_contain_text("updated")
    page.screenshot(path=str(artifacts_dir / "live-prospect-patched.png"))


def test_after_the_stream_is_cut_and_restored_the_page_catches_up_and_stays_live(
    page: Page, server: UvicornServer, worker: None, sim_server: SimulatorHandle, upcoming: tuple[int, int, str]
) -> None:
    steps, prospect_id, status = upcoming
    open_list_showing(page, server, prospect_id)
    row = page.locator(f"#prospect-{prospect_id}")
    indicator = page.locator("#live-indicator")

    # Cut: the server goes, and every stream with it. Meanwhile the mirror changes and the
    # prospects counter moves (what a worker applying a webhook does), with no stream to say so.
    server.stop()
    expect(indicator).to_have_attribute("data-state", re.compile("reconnecting|offline"))
    prospect = Prospect.objects.get(pk=prospect_id)
    renamed = {**prospect.raw, "name": "Renamed While Away", "updated_at": stamp(timezone.now())}
    mirror.prospects_apply([parse_record(ProspectRecord, renamed)])
    changes.mirror_changed("prospects", [MAPLE])
    expect(row).not_to_contain_text("Renamed While Away")

    # Restored: the page reconnects, sees a newer version in the stream's hello, and refetches.
    server.start()
    expect(indicator).to_have_attribute("data-state", "live", timeout=15_000)
    expect(row).to_contain_text("Renamed While Away", timeout=10_000)

    # And a change through the whole path (simulator, webhook, worker, stream) shows again.
    sim_server.configure_webhooks(url=f"{server.url}/webhooks/rentengine/")
    sim_server.activity(steps, kind="status")
    expect(row).to_contain_text(status, timeout=15_000)
