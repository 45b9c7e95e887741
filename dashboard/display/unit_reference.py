"""What a unit page links to in the reference data: its prescreening template, its subteam, and the
multifamily property it stands in. RentEngine links a unit to the first two by id; for the third it
gives no link at all, so a property whose one-line address starts with the unit's street address is
taken as the building (a hint, worded as such on the page)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import CharField, OuterRef, Q, Subquery, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast, Concat

from integrations.rentengine.models import MultifamilyProperty, PrescreeningTemplate, Subteam, Unit


@dataclass(frozen=True)
class UnitReference:
    template: PrescreeningTemplate | None
    subteam: Subteam | None
    building: MultifamilyProperty | None


# Building hint: a property whose one-line address starts with the unit's street (4+ characters).
BUILDING_STREET_MIN = 4


def unit_reference_columns() -> dict[str, Any]:
    """Annotations for the unit's own query that read its reference links along with it (the unit
    page then needs no query per link): `unit_reference` uses them when present.

    The template and the subteam are plain id lookups, written as SQL: compiling an ORM subquery
    per column cost more than the three queries it saved. The building hint keeps the ORM (its
    `istartswith` escaping differs per database) in one subquery carrying "id|name"."""
    q = connection.ops.quote_name
    unit = q(Unit._meta.db_table)

    def lookup(model: Any, link: str, column: str, *, shared: bool) -> RawSQL:
        table = q(model._meta.db_table)
        account = f"(t.{q('account_id')} = {unit}.{q('account_id')}" + (f" OR t.{q('account_id')} IS NULL)" if shared else ")")
        sql = (  # identifiers only, from model metadata
            f"SELECT t.{q(column)} FROM {table} t WHERE t.{q('id')} = {unit}.{q(link)}"  # noqa: S608
            f" AND t.{q('deleted_at')} IS NULL AND {account}"
        )
        return RawSQL(sql, (), output_field=model._meta.get_field(column))  # noqa: S611 - no values in it

    building = (
        MultifamilyProperty.objects.alive()
        .filter(account_id=OuterRef("account_id"), text_address__istartswith=OuterRef("street"))
        .order_by("community_name", "id")
        .values(pair=Concat(Cast("id", CharField()), Value("|"), "community_name", output_field=CharField()))[:1]
    )
    return {
        "ref_template_id": lookup(PrescreeningTemplate, "prescreen_template_id", "id", shared=True),
        "ref_template_name": lookup(PrescreeningTemplate, "prescreen_template_id", "name", shared=True),
        "ref_subteam_id": lookup(Subteam, "subteam_id", "id", shared=False),
        "ref_subteam_name": lookup(Subteam, "subteam_id", "name", shared=False),
        "ref_building": Subquery(building, output_field=CharField()),
    }


def _read_back(unit: Unit) -> UnitReference:
    got: Any = unit
    template = subteam = building = None
    if unit.prescreen_template_id and got.ref_template_id is not None:
        template = PrescreeningTemplate.from_db(unit._state.db, ["id", "name"], [got.ref_template_id, got.ref_template_name])
    if unit.subteam_id and got.ref_subteam_id is not None:
        subteam = Subteam.from_db(unit._state.db, ["id", "name"], [got.ref_subteam_id, got.ref_subteam_name])
    if len(unit.street) >= BUILDING_STREET_MIN and got.ref_building:
        building_id, _, name = got.ref_building.partition("|")
        building = MultifamilyProperty.from_db(unit._state.db, ["id", "community_name"], [uuid.UUID(building_id), name])
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
