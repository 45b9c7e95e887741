"""What a unit page links to in the reference data: its prescreening template, its subteam, and the
multifamily property it stands in. RentEngine links a unit to the first two by id; for the third it
gives no link at all, so a property whose one-line address starts with the unit's street address is
taken as the building (a hint, worded as such on the page)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q

from integrations.rentengine.models import MultifamilyProperty, PrescreeningTemplate, Subteam, Unit


@dataclass(frozen=True)
class UnitReference:
    template: PrescreeningTemplate | None
    subteam: Subteam | None
    building: MultifamilyProperty | None


def unit_reference(unit: Unit) -> UnitReference:
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
    if len(unit.street) >= 4:
        building = (
            MultifamilyProperty.objects.alive()
            .filter(account_id=unit.account_id, text_address__istartswith=unit.street)
            .only("id", "community_name")
            .order_by("community_name", "id")
            .first()
        )
    return UnitReference(template=template, subteam=subteam, building=building)
