"""What a unit page links to in the reference data: its prescreening template, its subteam, and the
multifamily property it stands in. RentEngine links a unit to the first two by id; for the third it
gives no link at all, so a property whose one-line address starts with the unit's street address is
taken as the building (a hint, worded as such on the page)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import OuterRef, Q, Subquery

from integrations.rentengine.models import MultifamilyProperty, PrescreeningTemplate, Subteam, Unit


@dataclass(frozen=True)
class UnitReference:
    template: PrescreeningTemplate | None
    subteam: Subteam | None
    building: MultifamilyProperty | None


# Building hint: a property whose one-line address starts with the unit's street (4+ characters).
BUILDING_STREET_MIN = 4


def unit_reference_columns() -> dict[str, Subquery]:
    """Annotations for the unit's own query that read its reference links along with it (the unit
    page then needs no query per link): `unit_reference` uses them when present."""
    template = PrescreeningTemplate.objects.alive().filter(
        Q(account_id=OuterRef("account_id")) | Q(account__isnull=True), pk=OuterRef("prescreen_template_id")
    )
    subteam = Subteam.objects.alive().filter(pk=OuterRef("subteam_id"), account_id=OuterRef("account_id"))
    building = (
        MultifamilyProperty.objects.alive()
        .filter(account_id=OuterRef("account_id"), text_address__istartswith=OuterRef("street"))
        .order_by("community_name", "id")
    )
    return {
        "ref_template_id": Subquery(template.values("id")[:1]),
        "ref_template_name": Subquery(template.values("name")[:1]),
        "ref_template_default": Subquery(template.values("is_default")[:1]),
        "ref_subteam_id": Subquery(subteam.values("id")[:1]),
        "ref_subteam_name": Subquery(subteam.values("name")[:1]),
        "ref_building_id": Subquery(building.values("id")[:1]),
        "ref_building_name": Subquery(building.values("community_name")[:1]),
    }


def _read_back(unit: Unit) -> UnitReference:
    got: Any = unit
    template = subteam = building = None
    if unit.prescreen_template_id and got.ref_template_id is not None:
        template = PrescreeningTemplate.from_db(
            unit._state.db, ["id", "name", "is_default"], [got.ref_template_id, got.ref_template_name, got.ref_template_default]
        )
    if unit.subteam_id and got.ref_subteam_id is not None:
        subteam = Subteam.from_db(unit._state.db, ["id", "name"], [got.ref_subteam_id, got.ref_subteam_name])
    if len(unit.street) >= BUILDING_STREET_MIN and got.ref_building_id is not None:
        building = MultifamilyProperty.from_db(
            unit._state.db, ["id", "community_name"], [got.ref_building_id, got.ref_building_name]
        )
    return UnitReference(template=template, subteam=subteam, building=building)


def unit_reference(unit: Unit) -> UnitReference:
    if hasattr(unit, "ref_template_id"):  # read with unit_reference_columns()
        return _read_back(unit)
    template = (
        PrescreeningTemplate.objects.alive()
        .filter(Q(account_id=unit.account_id) | Q(account__isnull=True), pk=unit.prescreen_template_id)
        .only("id", "name", "is_default")
        .first()
        if unit.prescreen_template_id
        else None
    )
    subteam = (
        Subteam.objects.alive().filter(pk=unit.subteam_id, account_id=unit.account_id).only("id", "name").first()
        if unit.subteam_id
        else None
    )
    building = None
    if len(unit.street) >= BUILDING_STREET_MIN:
        building = (
            MultifamilyProperty.objects.alive()
            .filter(account_id=unit.account_id, text_address__istartswith=unit.street)
            .only("id", "community_name")
            .order_by("community_name", "id")
            .first()
        )
    return UnitReference(template=template, subteam=subteam, building=building)
