"""Subteams, prescreening templates, multifamily properties and floorplans into the mirror."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction
from django.utils import timezone

from integrations.rentengine.client import (
    FloorplanRecord,
    MultifamilyPropertyRecord,
    PrescreeningTemplateRecord,
    SubteamRecord,
)
from integrations.rentengine.mirror.fields import Applied, _cut, _fit, _int, _mirror_fields, accounts_ensure, users_seen
from integrations.rentengine.mirror.upsert import upsert
from integrations.rentengine.models import (
    Floorplan,
    MirrorRow,
    MultifamilyProperty,
    PrescreeningTemplate,
    Subteam,
)

# --- team and reference data ----------------------------------------------------------------------


@transaction.atomic
def subteams_apply(records: Sequence[SubteamRecord]) -> Applied:
    now = timezone.now()
    usable = [r for r in records if r.account_id]
    accounts = accounts_ensure(r.account_id for r in usable)
    rows = [
        {
            **_mirror_fields(r, now),
            "id": r.id,
            "account_id": r.account_id,
            "name": _cut(r.name, 200),
            "user_ids": r.user_ids,
            "created_at": r.created_at,
        }
        for r in usable
    ]
    changed = upsert(Subteam, rows)
    seen: dict[str | None, set[str]] = {}
    for r in usable:
        seen.setdefault(r.account_id, set()).update(r.user_ids)
    users_seen(seen)
    return Applied(seen=len(records), changed_ids=changed, accounts=accounts)


@transaction.atomic
def prescreening_templates_apply(records: Sequence[PrescreeningTemplateRecord]) -> Applied:
    now = timezone.now()
    accounts = accounts_ensure(r.account_id for r in records)
    rows = [
        {
            **_mirror_fields(r, now),
            "id": r.id,
            "account_id": r.account_id,
            "name": _cut(r.name, 200),
            "is_default": bool(r.is_default),
            "rules": r.rules,
            "questions": r.questions,
            "created_at": r.created_at,
        }
        for r in records
    ]
    return Applied(seen=len(records), changed_ids=upsert(PrescreeningTemplate, rows), accounts=accounts)


@transaction.atomic
def multifamily_properties_apply(records: Sequence[MultifamilyPropertyRecord]) -> Applied:
    now = timezone.now()
    usable = [r for r in records if r.account_id]
    accounts = accounts_ensure(r.account_id for r in usable)
    rows = [
        {
            **_mirror_fields(r, now),
            "deleted_at": now if r.deleted else None,
            "tombstone_reason": MirrorRow.Tombstone.DELETED if r.deleted else "",
            "id": r.id,
            "account_id": r.account_id,
            "community_name": _cut(r.community_name, 200),
            "structure_type": _cut(r.structure_type, 40),
            "building_count": _int(r.building_count),
            "unit_count": _int(r.unit_count),
            "year_built": _int(r.year_built),
            "text_address": _cut(r.text_address, 300),
            "description": r.description or "",
            "photos": [p.url for p in r.photos if p.url and not p.hidden],
            "created_at": r.created_at,
        }
        for r in usable
    ]
    return Applied(seen=len(records), changed_ids=upsert(MultifamilyProperty, rows), accounts=accounts)


@transaction.atomic
def floorplans_apply(records: Sequence[FloorplanRecord]) -> Applied:
    now = timezone.now()
    owners = {
        str(k): str(v)
        for k, v in MultifamilyProperty.objects.filter(
            id__in={r.multifamily_property_id for r in records if r.multifamily_property_id}
        ).values_list("id", "account_id")
    }
    rows = [
        {
            **_mirror_fields(r, now),
            "deleted_at": now if r.deleted else None,
            "tombstone_reason": MirrorRow.Tombstone.DELETED if r.deleted else "",
            "id": r.id,
            "account_id": owners.get(r.multifamily_property_id or ""),
            "multifamily_property_id": r.multifamily_property_id,
            "name": _cut(r.name, 200),
            "bedroom_count": _int(r.bedroom_count),
            "bathroom_count": _fit(r.bathroom_count, 4, 1),
            "unit_count": _int(r.unit_count),
            "units_available": _int(r.units_available),
            "market_rent": _fit(r.market_rent, 10, 2),
            "min_sqft": _int(r.min_sqft),
            "max_sqft": _int(r.max_sqft),
            "photos": [p.url for p in r.photos if p.url and not p.hidden],
            "description": r.description or "",
        }
        for r in records
    ]
    accounts = {row["account_id"] for row in rows if row["account_id"]}
    return Applied(seen=len(records), changed_ids=upsert(Floorplan, rows), accounts=accounts)
