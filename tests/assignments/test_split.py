"""Splitting a selection between people (issue 16 item 1): the plain function, then the dialog's
review (who gets how many) and the job it makes (each prospect's one person on its outbox row)."""

from __future__ import annotations

import json
import re
from collections import Counter

import pytest
from django.test import Client

from dashboard.assignment_split import BALANCED, ROUND_ROBIN, groups_of, shares, split_selection
from dashboard.models import BulkAssignment
from integrations.rentengine.models import OutboxAssignment
from tests.dashboard.conftest import ARI_ID, BO_ID, MIA_ID

HTMX = {"HTTP_HX_REQUEST": "true"}

# (prospect id, phone digits): 1, 4 and 6 are one caller; 3 has no phone.
SELECTION = [(1, "5550001"), (2, "5550002"), (3, ""), (4, "5550001"), (5, "5550005"), (6, "5550001"), (7, "5550007")]


def test_round_robin_deals_in_prospect_order_and_evenly() -> None:
    target = split_selection(SELECTION, ["a", "b", "c"], mode=ROUND_ROBIN)
    assert [target[p] for p, _ in SELECTION] == ["a", "b", "c", "a", "b", "c", "a"]
    assert shares(target, ["a", "b", "c"]) == [("a", 3), ("b", 2), ("c", 2)]


def test_round_robin_keeping_phones_together_gives_a_caller_to_one_person_and_stays_even() -> None:
    target = split_selection(SELECTION, ["a", "b", "c"], mode=ROUND_ROBIN, keep_phone_together=True)
    assert target[1] == target[4] == target[6]
    counts = Counter(target.values())
    assert sorted(counts.values()) == [1, 3, 3] or max(counts.values()) - min(counts.values()) <= 2
    assert set(target) == {p for p, _ in SELECTION}


def test_balanced_fills_the_least_loaded_first() -> None:
    target = split_selection(SELECTION, ["a", "b"], mode=BALANCED, workload={"a": 10, "b": 4})
    counts = Counter(target.values())
    assert counts == {"b": 6, "a": 1}, "b climbs from 4 to 10 and then they alternate"


def test_balanced_with_phones_together_places_the_big_caller_first() -> None:
    target = split_selection(SELECTION, ["a", "b"], mode=BALANCED, workload={"a": 0, "b": 0}, keep_phone_together=True)
    assert target[1] == target[4] == target[6] == "a"
    assert Counter(target.values()) == {"a": 4, "b": 3}, "then singles to the fewer, ties to the first"


def test_groups_keep_order_and_lone_prospects_without_a_phone() -> None:
    assert groups_of(SELECTION, keep_phone_together=True) == [[1, 4, 6], [2], [3], [5], [7]]
    assert groups_of(SELECTION, keep_phone_together=False) == [[p] for p, _ in SELECTION]


def test_split_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="at least one person"):
        split_selection(SELECTION, [], mode=ROUND_ROBIN)
    with pytest.raises(ValueError, match="not a split mode"):
        split_selection(SELECTION, ["a"], mode="all")


# --- the dialog and the job ---------------------------------------------------------------------------

IDS = "12345,12346,12347,12348,12349"  # Maple's five; 12345 and 12349 share a phone


def review(client: Client, users: list[str], **extra: str) -> str:
    data = {"ids": IDS, "step": "confirm", "user_ids": users, "source": "Other", **extra}
    response = client.post("/assignments/new/", data, **HTMX)
    assert response.status_code == 200
    return response.content.decode()


def confirm(client: Client, html: str) -> BulkAssignment:
    """Post the review's form as its button would."""
    fields: dict[str, list[str]] = {}
    for name, value in re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', html):
        fields.setdefault(name, []).append(value.replace("&quot;", '"'))
    assert client.post("/assignments/create/", fields).status_code == 302
    return BulkAssignment.objects.latest("pk")


def targets(job: BulkAssignment) -> dict[int, list[str]]:
    return dict(OutboxAssignment.objects.filter(job_id=job.pk).values_list("prospect_id", "user_ids"))


def shown_shares(html: str) -> dict[str, int]:
    table = html[html.index('id="split-shares"') :].split("</table>")[0]
    return {name: int(n) for name, n in re.findall(r'<tr><td>([^<]+)</td><td class="share-count">(\d+)</td>', table)}


@pytest.mark.django_db
def test_the_dialog_offers_everyone_gets_all_or_a_split(world, ari_client: Client) -> None:  # type: ignore[no-untyped-def]
    html = ari_client.post("/assignments/new/", {"ids": IDS}, **HTMX).content.decode()
    assert 'name="split" value="all" checked' in html
    assert "round robin" in html
    assert "balanced by open prospects" in html
    assert "Keep a phone number's enquiries together" in html


@pytest.mark.django_db
def test_everyone_gets_all_is_unchanged(world, ari_client: Client) -> None:  # type: ignore[no-untyped-def]
    html = review(ari_client, [ARI_ID, BO_ID], split="all")
    assert "Assign 5 prospects to Ari Agent and Bo Agent?" in html
    job = confirm(ari_client, html)
    assert job.split == "all"
    assert all(sorted(t) == sorted([ARI_ID, BO_ID]) for t in targets(job).values())


@pytest.mark.django_db
def test_round_robin_review_says_who_gets_how_many_and_the_job_records_each_target(world, ari_client: Client) -> None:  # type: ignore[no-untyped-def]
    html = review(ari_client, [ARI_ID, BO_ID], split="round_robin")
    assert "Split 5 prospects between Ari Agent and Bo Agent?" in html
    assert shown_shares(html) == {"Ari Agent": 3, "Bo Agent": 2}
    job = confirm(ari_client, html)
    assert (job.split, job.user_ids) == ("round_robin", [ARI_ID, BO_ID])
    assert targets(job) == {12345: [ARI_ID], 12346: [BO_ID], 12347: [ARI_ID], 12348: [BO_ID], 12349: [ARI_ID]}
    assert OutboxAssignment.objects.get(job_id=job.pk, prospect_id=12345).state == "skipped", "Ari has it already"
    page = ari_client.get(f"/assignments/{job.pk}/").content.decode()
    assert "Ari Agent (3), Bo Agent (2)" in page


@pytest.mark.django_db
def test_round_robin_keeping_a_phones_enquiries_together(world, ari_client: Client) -> None:  # type: ignore[no-untyped-def]
    html = review(ari_client, [ARI_ID, BO_ID], split="round_robin", keep_phone_together="on")
    assert "kept together" in html
    job = confirm(ari_client, html)
    assert job.keep_phone_together
    got = targets(job)
    assert got[12345] == got[12349]
    assert Counter(t[0] for t in got.values()) == shown_and_counted(html)


def shown_and_counted(html: str) -> Counter[str]:
    names = {"Ari Agent": ARI_ID, "Bo Agent": BO_ID, "Mia Manager": MIA_ID}
    return Counter({names[n]: c for n, c in shown_shares(html).items() if c})


@pytest.mark.django_db
def test_balanced_gives_more_to_the_less_loaded_as_the_review_showed(world, ari_client: Client) -> None:  # type: ignore[no-untyped-def]
    html = review(ari_client, [ARI_ID, BO_ID, MIA_ID], split="balanced")
    assert "Open prospects now" in html
    shown = shown_and_counted(html)
    job = confirm(ari_client, html)
    assert Counter(t[0] for t in targets(job).values()) == shown, "the job splits exactly as the review said"


@pytest.mark.django_db
def test_balanced_counts_the_load_the_review_showed(world, ari_client: Client) -> None:  # type: ignore[no-untyped-def]
    basis = json.dumps({ARI_ID: 9, BO_ID: 0})
    response = ari_client.post(
        "/assignments/create/",
        {"ids": "12346,12347,12348", "user_ids": [ARI_ID, BO_ID], "source": "Other", "split": "balanced", "basis": basis},
    )
    assert response.status_code == 302
    assert set(map(tuple, targets(BulkAssignment.objects.get()).values())) == {(BO_ID,)}


@pytest.mark.django_db
def test_an_unknown_split_is_refused(world, ari_client: Client) -> None:  # type: ignore[no-untyped-def]
    response = ari_client.post("/assignments/create/", {"ids": IDS, "user_ids": [ARI_ID], "split": "lottery"})
    assert response.status_code == 400
    assert not BulkAssignment.objects.exists()
