"""Deterministic seeded data: the same seed, size and anchor give byte-identical responses.

Each part draws from its own random stream (`random.Random(f"{seed}:{part}")`), so changing how one
resource is generated does not reshuffle the others. Timestamps are spread backwards from the anchor
(by default the start of the current hour), so the demo's data is recent and upcoming showings exist.
Sizes follow issue 3: small about 50 units / 500 prospects, medium 500 / 10,000, large 5,000 / 100,000.
"""

from __future__ import annotations

import gc
import random
from datetime import UTC, datetime, timedelta
from typing import Any

from integrations.rentengine.vocabulary import PropertyType, ShowingMethod, UnitStatus

from . import lexicon
from .row_shapes import uuid_from
from .seed_lockboxes import lockboxes_seed
from .seed_prospects import prospects_seed
from .state import Row, State, stamp_us, state_new

SIZES: dict[str, dict[str, int]] = {
    "small": {"units": 50, "prospects": 500, "lockboxes": 10, "lockbox_events": 1_000, "multifamily": 2},
    "medium": {"units": 500, "prospects": 10_000, "lockboxes": 100, "lockbox_events": 20_000, "multifamily": 4},
    "large": {"units": 5_000, "prospects": 100_000, "lockboxes": 1_000, "lockbox_events": 200_000, "multifamily": 12},
}

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
DAY_US = 86_400_000_000
HOUR_US = 3_600_000_000

ACCOUNT_SHARES = tuple(a["share"] for a in lexicon.ACCOUNTS)
UNIT_STATUS_WEIGHTS = (
    (UnitStatus.LEASED, 64), (UnitStatus.AVAILABLE, 11), (UnitStatus.ON_HOLD, 5), (UnitStatus.INCOMPLETE, 5),
    (UnitStatus.ARCHIVED, 4), (UnitStatus.PRICE_ANALYSIS, 3), (UnitStatus.UNDER_REVIEW, 2), (UnitStatus.WITHDRAWN, 2),
    (UnitStatus.EXPIRED, 2), (UnitStatus.WITHDRAWAL_REQUESTED, 2),
)  # fmt: skip
PROPERTY_TYPE_WEIGHTS = (
    (PropertyType.SINGLE_FAMILY, 55), (PropertyType.MULTI_FAMILY, 12), (PropertyType.TOWNHOUSE, 10), (PropertyType.DUPLEX, 8),
    (PropertyType.CONDO, 8), (PropertyType.TRIPLEX, 3), (PropertyType.ROOM, 2), (PropertyType.ADU, 2),
)  # fmt: skip
SHOWING_METHOD_WEIGHTS = (
    (ShowingMethod.SELF_GUIDED, 45), (ShowingMethod.ACCOMPANIED, 35), (ShowingMethod.REMOTE_GUIDED, 12),
    (ShowingMethod.REMOTE_GUIDED_GATED, 8),
)  # fmt: skip


def anchor_default() -> datetime:
    return datetime.now(UTC).replace(minute=0, second=0, microsecond=0)


def weighted(rng: random.Random, pairs: tuple[tuple[Any, float], ...]) -> Any:
    values, weights = zip(*pairs, strict=True)
    return rng.choices(values, weights)[0]


def state_seed(*, seed: int, size: str, anchor: datetime | None = None) -> State:
    if size not in SIZES:
        raise ValueError(f"size must be one of {', '.join(SIZES)}, got {size!r}")
    anchor = (anchor or anchor_default()).astimezone(UTC)
    # Seeding makes millions of small objects and no cycles: the cyclic collector would rescan the
    # growing heap again and again (it doubled the large seed's time).
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _state_seed(seed, size, anchor)
    finally:
        if collecting:
            gc.enable()


def _state_seed(seed: int, size: str, anchor: datetime) -> State:
    counts = SIZES[size]
    anchor_us = (anchor - EPOCH) // timedelta(microseconds=1)
    state = state_new(seed=seed, size=size, anchor=anchor)
    people_seed(state, anchor_us)
    templates_seed(state, random.Random(f"{seed}:templates"), anchor_us)
    multifamily_seed(state, random.Random(f"{seed}:multifamily"), anchor_us, counts["multifamily"])
    units_seed(state, random.Random(f"{seed}:units"), anchor_us, counts["units"])
    prospects_seed(state, random.Random(f"{seed}:prospects"), anchor_us, counts["prospects"])
    lockboxes_seed(state, random.Random(f"{seed}:lockboxes"), anchor_us, counts["lockboxes"], counts["lockbox_events"])
    for name in ("units", "prospects", "leasing_events", "showings"):
        rows = state.table(name).rows
        state.next_ids[name] = max((row["id"] for row in rows), default=1000) + 1
    return state


def people_seed(state: State, anchor_us: int) -> None:
    """Accounts, users and subteams: fixed (see lexicon), with seed-independent timestamps."""
    state.accounts = [{"id": a["id"], "name": a["name"], "time_zone": a["time_zone"]} for a in lexicon.ACCOUNTS]
    state.users = [
        {
            "id": user_id,
            "first_name": first,
            "last_name": last,
            "name": f"{first} {last}",
            "email": f"{first.lower()}.{last.lower().replace(chr(39), '')}@example.com",
            "role": role,
            "account_ids": list(accounts),
            "subteam_id": subteam,
        }
        for user_id, first, last, role, accounts, subteam in lexicon.USERS
    ]
    state.table("subteams").load(
        {
            "id": team["id"],
            "name": team["name"],
            "account_id": team["account_id"],
            "user_ids": [u["id"] for u in state.users if u["subteam_id"] == team["id"]],
            "created_at": stamp_us(anchor_us - (800 - n) * DAY_US),
            "updated_at": stamp_us(anchor_us - (200 - n) * DAY_US),
        }
        for n, team in enumerate(lexicon.SUBTEAMS)
    )


def templates_seed(state: State, rng: random.Random, anchor_us: int) -> None:
    rows = []
    for account in lexicon.ACCOUNTS:
        for name, default, credit, multiplier in (("Default Template", True, 600, 2.5), ("Luxury - Strict", False, 680, 3.0)):
            created = anchor_us - rng.randint(300, 800) * DAY_US - rng.randint(0, DAY_US)
            rows.append(
                {
                    "id": uuid_from(rng),
                    "name": name,
                    "account_id": account["id"],
                    "is_default": default,
                    "rules": {
                        "minimumCreditScore": credit,
                        "minimumIncomeRentMultiplier": multiplier,
                        "enableVoIPPhoneVerification": rng.random() < 0.5,
                        "enableIDVerification": True,
                        "enableSelfieVerification": not default,
                        "allowIDWithoutExpiryDate": default,
                        "allowIDExpiredInDays": 30,
                        "minimumAge": 18,
                        "enableShowingLocationVerification": rng.random() < 0.5,
                    },
                    "questions": [dict(q) for q in lexicon.TEMPLATE_QUESTIONS[: 2 if default else 4]],
                    "created_at": stamp_us(created),
                    "updated_at": stamp_us(created + rng.randint(0, 200) * DAY_US),
                }
            )
    state.table("prescreening_templates").load(rows)


def multifamily_seed(state: State, rng: random.Random, anchor_us: int, count: int) -> None:
    properties, floorplans = [], []
    for n in range(count):
        account = lexicon.ACCOUNTS[n % len(lexicon.ACCOUNTS)]
        city, state_name, zip3, *_ = rng.choice(lexicon.PLACES[account["id"]])
        created = anchor_us - rng.randint(200, 900) * DAY_US - rng.randint(0, DAY_US)
        property_id = uuid_from(rng)
        properties.append(
            {
                "id": property_id,
                "community_name": lexicon.COMMUNITIES[n % len(lexicon.COMMUNITIES)],
                "building_count": rng.randint(1, 6),
                "unit_count": rng.randint(24, 320),
                "description": "Resort-style living close to shopping and transit.",
                "structure_type": rng.choice(("Mid Rise", "High Rise", "Garden Style")),
                "year_built": rng.randint(1972, 2022),
                "photos": [
                    {"path": f"https://images.rentengine.example/mf/{property_id}/{i}.jpg", "hidden": False} for i in range(3)
                ],
                "external_ids": {"mls_id": f"MLS{rng.randint(10000, 99999)}"} if rng.random() < 0.5 else {},
                "text_address": f"{rng.randint(100, 9999)} {rng.choice(lexicon.STREETS)}, {city}, {state_name} {zip3}{rng.randint(10, 99)}",
                "account_id": account["id"],
                "deleted": False,
                "created_at": stamp_us(created),
                "updated_at": stamp_us(created + rng.randint(0, 100) * DAY_US),
            }
        )
        for name in rng.sample(lexicon.FLOORPLAN_NAMES, rng.randint(2, 4)):
            bedrooms = rng.randint(0, 3)
            floorplans.append(
                {
                    "id": uuid_from(rng),
                    "multifamily_property_id": property_id,
                    "name": name,
                    "bedroom_count": bedrooms,
                    "bathroom_count": rng.choice((1, 1.5, 2, 2.5)) if bedrooms > 1 else 1,
                    "unit_count": rng.randint(6, 80),
                    "units_available": rng.randint(0, 6),
                    "market_rent": 950 + 350 * bedrooms + rng.randint(0, 20) * 25,
                    "min_sqft": 520 + 300 * bedrooms,
                    "max_sqft": 640 + 340 * bedrooms,
                    "photos": [
                        {"path": f"https://images.rentengine.example/fp/{property_id}/{name[4:].lower()}.jpg", "hidden": False}
                    ],
                    "deleted": False,
                    "description": f"{bedrooms or 'Studio'} bedroom floor plan" if bedrooms else "Studio floor plan",
                    "created_at": stamp_us(created + HOUR_US),
                    "updated_at": stamp_us(created + HOUR_US),
                    "_account_id": account["id"],
                }
            )
    state.table("multifamily_properties").load(properties)
    state.table("floorplans").load(floorplans)


def units_seed(state: State, rng: random.Random, anchor_us: int, count: int) -> None:
    templates = state.table("prescreening_templates").rows
    created_times = sorted(anchor_us - int(rng.random() ** 0.8 * 1100 * DAY_US) for _ in range(count))
    next_id = 3300
    rows = []
    for created in created_times:
        next_id += rng.randint(1, 40)
        account = rng.choices(lexicon.ACCOUNTS, ACCOUNT_SHARES)[0]
        rows.append(unit_row(rng, next_id, created, anchor_us, account["id"], templates))
    state.table("units").load(rows)


def unit_row(rng: random.Random, unit_id: int, created: int, anchor_us: int, account_id: str, templates: list[Row]) -> Row:
    city, state_name, zip3, lat, lon, _codes = rng.choice(lexicon.PLACES[account_id])
    property_type = weighted(rng, PROPERTY_TYPE_WEIGHTS)
    status = weighted(rng, UNIT_STATUS_WEIGHTS)
    shared_building = property_type in (PropertyType.MULTI_FAMILY, PropertyType.CONDO, PropertyType.DUPLEX, PropertyType.TRIPLEX)
    number, street = str(rng.randint(100, 19999)), rng.choice(lexicon.STREETS)
    apartment = f"{rng.randint(1, 40)}{rng.choice(('', '', 'B'))}" if shared_building else None
    apartment_label = rng.choice(("#", "#", "Apt ", "Unit ")) + apartment if apartment else None
    bedrooms = 1 if property_type is PropertyType.ROOM else rng.choice((1, 2, 2, 3, 3, 3, 4, 4, 5))
    bathrooms = max(1.0, min(4.0, bedrooms - rng.choice((0, 0.5, 1, 1))))
    sqft = 350 if property_type is PropertyType.ROOM else 450 + bedrooms * 330 + rng.randint(-120, 260)
    rate = 700 + bedrooms * 260 + rng.randint(0, 40) * 25
    on_market = status in (UnitStatus.AVAILABLE, UnitStatus.ON_HOLD)
    updated = anchor_us - rng.randint(0, 30 * DAY_US) if on_market else rng.randint(created, max(created, anchor_us - DAY_US))
    updated = max(updated, created)
    move_in = (EPOCH + timedelta(microseconds=anchor_us + rng.randint(-10, 45) * DAY_US)).date().isoformat()
    if property_type is PropertyType.MULTI_FAMILY or rng.random() < 0.3:
        subteam = None
    elif account_id == lexicon.MAPLE_ACCOUNT_ID:
        subteam = lexicon.NORTH_SUBTEAM_ID if rng.random() < 0.55 else lexicon.SOUTH_SUBTEAM_ID
    else:
        subteam = lexicon.BIRCH_SUBTEAM_ID
    account_templates = [t for t in templates if t["account_id"] == account_id]
    template = account_templates[0] if rng.random() < 0.85 else rng.choice(account_templates)
    amenities = rng.sample(lexicon.AMENITIES, rng.randint(0, 5))
    return {
        "id": unit_id,
        "created_at": stamp_us(created),
        "updated_at": stamp_us(updated),
        "account_id": account_id,
        "status": str(status),
        "address": {
            "formatted_address": f"{number} {street}" + (f" {apartment_label}" if apartment_label else ""),
            "street_number": number,
            "street_name": street,
            "unit": apartment,
            "city": city,
            "state": state_name,
            "zip_code": f"{zip3}{rng.randint(1, 99):02d}",
            "coordinates": [round(lon + rng.uniform(-0.2, 0.2), 6), round(lat + rng.uniform(-0.2, 0.2), 6)],
        },
        "property_type": str(property_type),
        "bedrooms": str(bedrooms),
        "bathrooms": f"{bathrooms:g}",
        "sqft": str(sqft),
        "furnished": rng.random() < 0.05,
        "renovated": rng.choice(("No", "No", "Yes", "2019", "2022")),
        "num_parking_spots": str(rng.randint(0, 3)),
        "laundry": rng.choice(lexicon.LAUNDRY),
        "is_occupied": (rng.random() < 0.29) if status is UnitStatus.AVAILABLE else status is UnitStatus.LEASED,
        "earliest_move_in_date": move_in,
        "earliest_showing_date": move_in if on_market and rng.random() < 0.3 else None,
        # A number in most live rows, a numeric string in some (API-FACTS 4.2).
        "target_rental_rate": rate if rng.random() < 0.85 else str(rate),
        "highlighted_amenities": "None" if rng.random() < 0.6 else amenities[:3],
        "amenities": amenities if rng.random() < 0.2 else [],
        "allow_cooperating_brokers": rng.choice((True, False, None)),
        "desired_lease_duration_months": rng.choice(([12], [12], [6, 12], [12, 18, 24])),
        "pets_allowed": rng.choice(lexicon.PETS),
        "pet_restrictions": rng.choice(("", "2 pet max", "No aggressive breeds", "Under 40 lbs")),
        "hoa_app_required": rng.choice((None, False, False, True)),
        "hoa_app_fee": rng.choice((None, None, 50, 75.5)),
        "hoa_application_url": None,
        "key_access": rng.choice(("Lockbox", "Smart lock", "Key in office", "")),
        "showing_method": str(weighted(rng, SHOWING_METHOD_WEIGHTS)),
        "monthly_fees": _fees(rng, lexicon.FEES_MONTHLY),
        "move_in_fees": _fees(rng, lexicon.FEES_MOVE_IN),
        "pet_fees": _fees(rng, lexicon.FEES_PET),
        "marketing_description": f"Bright {bedrooms} bedroom {str(property_type).lower()} in {city}. "
        + "Close to parks, schools and shopping. Schedule a self-guided tour today!",
        "marketing_photos": [
            {
                "path": f"units/{unit_id}/photo-{i}.jpg",
                "hidden": i == 3,
                "original": f"https://images.rentengine.example/units/{unit_id}/{i}.jpg",
            }
            for i in range(rng.randint(0, 5))
        ],
        "custom_application_url": None,
        "min_resident_qualifications": "Income 2.5x rent; no evictions in the last 5 years.",
        "utilities_included": rng.sample(lexicon.UTILITIES, rng.randint(1, 3)) if rng.random() < 0.3 else None,
        "parking_type": rng.sample(lexicon.PARKING, rng.randint(0, 2)),
        "accepts_vouchers": rng.choice((True, False, None)),
        "security_deposit_amount": rate if rng.random() < 0.7 else rate // 2,
        "security_deposit_amount_max": None,
        "year_built": rng.randint(1950, 2023),
        "has_elevator": shared_building and rng.random() < 0.3,
        "floor_number": rng.randint(1, 6) if shared_building else None,
        "storm_protection": None,
        "internal_notes": None,
        "commission_amount": None,
        "prescreen_template_id": template["id"],
        "subteam_id": subteam,
        "extracted_from": f"https://vestapm.rentvine.com/api/public/listings/{rng.randint(10, 4000)}"
        if rng.random() < 0.4
        else None,
    }


def _fees(rng: random.Random, choices: tuple[tuple[str, float], ...]) -> list[Row]:
    fees = []
    for name, amount in rng.sample(choices, rng.randint(0, len(choices))):
        # Amounts mix numbers and numeric strings within one array (API-FACTS 2.4).
        spelled: Any = amount if rng.random() < 0.5 else rng.choice((f"{amount:g}", f"{amount:.2f}"))
        fees.append({"name": name, "type": "dollar", "amount": spelled})
    return fees
