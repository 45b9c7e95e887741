"""Charts: the funnel (a bar per stage, each linking to the filtered prospects list, counts cached
until the account's prospects change), lockbox events per day by type, showings per day."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from dashboard.display import charts
from integrations.rentengine.mirror import changes
from integrations.rentengine.models import Account, Prospect
from tests.dashboard.conftest import CHICAGO, MAPLE, World

pytestmark = pytest.mark.django_db


def bars(html: str) -> dict[str, tuple[str, int]]:
    """{family: (link, count)} read from the funnel's SVG."""
    found = {}
    for url, family, count in re.findall(
        r'<a href="([^"]+)" class="bar-link" id="funnel-(\w+)".*?class="bar-number"[^>]*>(\d+)', html, re.S
    ):
        found[family] = (url.replace("&amp;", "&"), int(count))
    return found


def test_the_funnel_counts_prospects_by_stage_and_links_each_bar(mia_client: Client, world: World) -> None:
    html = mia_client.get("/team/").content.decode()
    found = bars(html)
    assert found["new"] == ("/prospects/?assignee=all&family=new", 3)
    assert found["working"] == ("/prospects/?assignee=all&family=working", 1)
    assert found["showing"] == ("/prospects/?assignee=all&family=showing", 1)
    assert found["won"][1] == 0
    assert "unknown" not in found, "an empty Unknown bar is left out"
    assert "5 prospects in this account" in html, "Birch's prospect is not counted"


def test_a_funnel_bar_lists_exactly_the_prospects_it_counts(mia_client: Client, world: World) -> None:
    for url, count in bars(mia_client.get("/team/").content.decode()).values():
        listed = mia_client.get(url).content.decode()
        assert len(re.findall(r'id="prospect-\d+" data-id', listed)) == count


def test_funnel_counts_are_cached_until_the_prospects_scope_moves(
    world: World, maple: Account, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    with django_capture_on_commit_callbacks(execute=True):
        changes.mirror_changed("prospects", [MAPLE])
    assert charts.funnel_counts(maple)["new"] == 3
    Prospect.objects.filter(pk=12346).update(status_family="won")
    with CaptureQueriesContext(connection) as queries:
        assert charts.funnel_counts(maple)["new"] == 3, "the same version: the cached answer"
    assert len(queries) == 1, "one look at the version counters, no count over the prospects"
    with django_capture_on_commit_callbacks(execute=True):
        changes.mirror_changed("prospects", [MAPLE])
    assert charts.funnel_counts(maple) == {"new": 2, "working": 1, "showing": 1, "won": 1}


def test_without_a_version_counter_the_funnel_is_counted_fresh(world: World, maple: Account) -> None:
    assert charts.funnel_counts(maple)["new"] == 3
    Prospect.objects.filter(pk=12346).update(status_family="won")
    assert charts.funnel_counts(maple)["new"] == 2


def test_the_lockboxes_page_charts_events_per_day_by_type(ari_client: Client, world: World) -> None:
    html = ari_client.get("/lockboxes/").content.decode()
    assert 'id="lockbox-activity-chart"' in html
    today = world.now.astimezone(CHICAGO).date()
    day = world.showing_at.date()
    assert f'href="/lockboxes/activity/?since={day}&amp;until={day}&amp;type=Generate+Code"' in html
    assert f'data-day="{today}"' in html
    # Birch's install, three days ago, is not Maple's activity.
    install_day = (world.now - timedelta(days=3)).astimezone(CHICAGO).date()
    assert f"?since={install_day}&amp;until={install_day}&amp;type=Install" not in html


def test_a_lockbox_chart_part_opens_the_feed_on_that_day_and_type(ari_client: Client, world: World) -> None:
    day = world.showing_at.date()
    feed = ari_client.get(f"/lockboxes/activity/?since={day}&until={day}&type=Generate+Code").content.decode()
    assert "Code generated for Zoë Ñúñez" in feed


def test_the_showings_page_loads_its_per_day_chart(ari_client: Client, world: World) -> None:
    page = ari_client.get("/showings/?agent=Ari+Agent").content.decode()
    assert 'hx-get="/showings/chart/?agent=Ari+Agent"' in page
    day = world.showing_at.date()
    chart = ari_client.get("/showings/chart/?agent=Ari+Agent", headers={"HX-Request": "true"}).content.decode()
    assert chart.lstrip().startswith("<figure")
    assert f'href="/showings/?agent=Ari+Agent&amp;view=day&amp;date={day}" aria-label' in chart
    assert re.search(rf'data-day="{day}">\s*<a href="[^"]+" aria-label="[^"]+: 1"', chart)
    none = ari_client.get("/showings/chart/?agent=Nobody", headers={"HX-Request": "true"}).content.decode()
    assert re.search(rf'data-day="{day}">\s*<a href="[^"]+" aria-label="[^"]+: 0"', none)
    assert "<html" in ari_client.get("/showings/chart/").content.decode(), "without htmx, a page of its own"
