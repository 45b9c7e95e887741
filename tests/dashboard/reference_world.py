"""Team and reference data on top of the screens' world: a Maple subteam, a named RentEngine user,
a multifamily property with floorplans, prescreening templates (Maple's, one without an owner that a
Maple unit uses, and Birch's), and Birch's own property and subteam as the outsider's."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from dashboard.models import PersonName
from integrations.rentengine import mirror
from integrations.rentengine.client import (
    FloorplanRecord,
    MultifamilyPropertyRecord,
    PrescreeningTemplateRecord,
    SubteamRecord,
    parse_record,
)
from integrations.rentengine.models import Unit
from tests.dashboard.conftest import ARI_ID, BIRCH, BO_ID, HOSTILE, MAPLE, STRANGER_ID, World

SUBTEAM_MAPLE = "5ab7e111-0000-4000-8000-00000000000a"
SUBTEAM_BIRCH = "5ab7e111-0000-4000-8000-00000000000b"
PROPERTY_MAPLE = "9e0f0000-0000-4000-8000-0000000000a1"
PROPERTY_BIRCH = "9e0f0000-0000-4000-8000-0000000000b1"
FLOORPLAN_WILLOW = "f1000000-0000-4000-8000-0000000000a1"
FLOORPLAN_ASPEN = "f1000000-0000-4000-8000-0000000000a2"
FLOORPLAN_BIRCH = "f1000000-0000-4000-8000-0000000000b1"
TEMPLATE_MAPLE = "7e000000-0000-4000-8000-0000000000a1"
TEMPLATE_SHARED = "7e000000-0000-4000-8000-0000000000c1"
TEMPLATE_BIRCH = "7e000000-0000-4000-8000-0000000000b1"
BIRCH_ONLY_ID = "4c4c4c4c-0000-4000-8000-0000000000b9"


@dataclass
class Reference:
    world: World


@pytest.fixture
def reference(world: World) -> Reference:
    mirror.subteams_apply([
        parse_record(SubteamRecord, {"id": SUBTEAM_MAPLE, "name": "Norfolk team", "account_id": MAPLE, "user_ids": [ARI_ID, BO_ID]}),
        parse_record(SubteamRecord, {"id": SUBTEAM_BIRCH, "name": "Richmond team", "account_id": BIRCH, "user_ids": [BIRCH_ONLY_ID]}),
    ])  # fmt: skip
    mirror.multifamily_properties_apply([
        parse_record(MultifamilyPropertyRecord, {"id": PROPERTY_MAPLE, "account_id": MAPLE, "community_name": "Chesapeake Towers",
                                                 "text_address": "3318 Chesapeake Blvd, Norfolk, VA", "structure_type": "Mid Rise",
                                                 "unit_count": 120, "building_count": 2, "year_built": 1998,
                                                 "description": f"Near the water {HOSTILE}"}),
        parse_record(MultifamilyPropertyRecord, {"id": PROPERTY_BIRCH, "account_id": BIRCH, "community_name": "Birch Court",
                                                 "text_address": "9001 Birch Rd", "structure_type": "Garden Style"}),
    ])  # fmt: skip
    mirror.floorplans_apply([
        parse_record(FloorplanRecord, {"id": FLOORPLAN_WILLOW, "multifamily_property_id": PROPERTY_MAPLE, "name": "The Willow",
                                       "bedroom_count": 2, "bathroom_count": "1.5", "market_rent": 1850, "min_sqft": 900,
                                       "max_sqft": 950, "unit_count": 40, "units_available": 3}),
        parse_record(FloorplanRecord, {"id": FLOORPLAN_ASPEN, "multifamily_property_id": PROPERTY_MAPLE, "name": "The Aspen",
                                       "bedroom_count": 1}),
        parse_record(FloorplanRecord, {"id": FLOORPLAN_BIRCH, "multifamily_property_id": PROPERTY_BIRCH, "name": "The Birch Secret"}),
    ])  # fmt: skip
    questions = [
        {"fixedQuestionType": "housing_voucher", "question": "Do you have a housing voucher (e.g. Section 8)?", "type": "yes_no",
         "rejectAnswer": "no"},
        {"question": f"When can you move in? {HOSTILE}", "type": "date"},
    ]  # fmt: skip
    mirror.prescreening_templates_apply([
        parse_record(PrescreeningTemplateRecord, {"id": TEMPLATE_MAPLE, "name": "Maple standard", "account_id": MAPLE, "is_default": True,
                                                  "rules": {"minimumCreditScore": 600, "minimumIncomeRentMultiplier": 2.5,
                                                            "enableIDVerification": True, "someNewRule": "kept"},
                                                  "questions": questions}),
        parse_record(PrescreeningTemplateRecord, {"id": TEMPLATE_SHARED, "name": "Shared ownerless", "rules": {}, "questions": []}),
        parse_record(PrescreeningTemplateRecord, {"id": TEMPLATE_BIRCH, "name": "Birch strict", "account_id": BIRCH,
                                                  "rules": {"minimumCreditScore": 700}, "questions": []}),
    ])  # fmt: skip
    Unit.objects.filter(id=3318).update(
        prescreen_template_id=TEMPLATE_MAPLE, subteam_id=SUBTEAM_MAPLE, street="3318 Chesapeake Blvd"
    )
    Unit.objects.filter(id=3319).update(prescreen_template_id=TEMPLATE_SHARED)
    PersonName.objects.create(account_id=MAPLE, user_id=STRANGER_ID, name="Sam Stranger")
    return Reference(world=world)
