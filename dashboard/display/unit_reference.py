"""What a unit page links to in the reference data: its prescreening template, its subteam, and the
multifamily property it stands in. RentEngine links a unit to the first two by id; for the third it
gives no link at all, so a property whose one-line address starts with the unit's street address is
taken as the building (a hint, worded as such on the page)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from django.db.models import CharField, OuterRef, Q, Subquery, Value
from django.db.models.functions import Cast, Concat

from integrations.rentengine.models import MultifamilyProperty, PrescreeningTemplate, Subteam, Unit

# Building hint: a property whose one-line address starts with the unit's street (4+ characters).
BUILDING_STREET_MIN = 4


@dataclass(frozen=True)
class Link:
    """A reference row a unit page links to: its id and what to call it."""

    id: str
    label: str

    def __str__(self) -> str:
        return self.label


@dataclass(frozen=True)
class UnitReference:
    template: Link | None
    subteam: Link | None
    building: Link | None


def unit_reference_columns() -> dict[str, Subquery]:
    """Annotations for the unit's own query, so the unit page needs no query per link: the names of
    its template and subteam (NULL: not in the mirror; the ids are the unit's own columns) and the
    building as "id|name" (`unit_reference` reads them back)."""
    templates = PrescreeningTemplate.objects.alive().filter(
        Q(account_id=OuterRef("account_id")) | Q(account__isnull=True), pk=OuterRef("prescreen_template_id")
    )
    subteams = Subteam.objects.alive().filter(account_id=OuterRef("account_id"), pk=OuterRef("subteam_id"))
    buildings = (
        MultifamilyProperty.objects.alive()
        .filter(account_id=OuterRef("account_id"), text_address__istartswith=OuterRef("street"))
        .order_by("community_name", "id")
    )
    building = Concat(Cast("id", CharField()), Value("|"), "community_name", output_field=CharField())
    return {
        "ref_template_name": Subquery(templates.order_by().values("name")[:1]),
        "ref_subteam_name": Subquery(subteams.order_by().values("name")[:1]),
        "ref_building": Subquery(buildings.values(pair=building)[:1], output_field=CharField()),
    }


def _link(link_id: Any, name: str | None, unnamed: str) -> Link | None:
    if name is None:  # not in the mirror
        return None
    canonical = str(uuid.UUID(str(link_id)))  # SQLite keeps uuids as bare hex
    return Link(canonical, name or unnamed.format(short=canonical[:8]))


def unit_reference(unit: Unit) -> UnitReference:
    """The links of a unit read with `unit_reference_columns`."""
    got: dict[str, Any] = unit.__dict__
    building_id, _, building_name = (got.get("ref_building") or "").partition("|")
    return UnitReference(
        template=_link(unit.prescreen_template_id, got.get("ref_template_name"), "Prescreening template")
        if unit.prescreen_template_id
        else None,
        subteam=_link(unit.subteam_id, got.get("ref_subteam_name"), "Subteam {short}") if unit.subteam_id else None,
        building=_link(building_id, building_name, "Multifamily property")
        if building_id and len(unit.street) >= BUILDING_STREET_MIN
        else None,
    )
