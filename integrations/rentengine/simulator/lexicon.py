"""The fixed cast and the words seeded data is drawn from: accounts, users, subteams, places, names.

Accounts, users and subteams do not depend on the seed, so tests and the demo can name them. They
line up with the test cast in tests/conftest.py: Maple Leasing and Birch Homes carry the same account
ids, and Morgan (the token's owner, in both accounts), Priya, Diego and Noah carry the RentEngine user
ids of the fixtures mia, ari, bo and cy.
"""

from __future__ import annotations

from typing import Any, Final

MAPLE_ACCOUNT_ID: Final = "6ecca3ec-0000-4000-8000-00000000a001"
BIRCH_ACCOUNT_ID: Final = "c26fbfed-0000-4000-8000-00000000b002"

ACCOUNTS: Final[tuple[dict[str, Any], ...]] = (
    {"id": MAPLE_ACCOUNT_ID, "name": "Maple Leasing", "time_zone": "America/Chicago", "share": 0.7},
    {"id": BIRCH_ACCOUNT_ID, "name": "Birch Homes", "time_zone": "America/New_York", "share": 0.3},
)

NORTH_SUBTEAM_ID: Final = "f95de70a-55e0-487d-9548-b92e94775373"
SOUTH_SUBTEAM_ID: Final = "8eaf922d-1e87-4e46-bb09-298c63da43f8"
BIRCH_SUBTEAM_ID: Final = "84824339-f317-4cec-8503-f4ee0d61399f"

SUBTEAMS: Final = (
    {"id": NORTH_SUBTEAM_ID, "name": "North Side", "account_id": MAPLE_ACCOUNT_ID},
    {"id": SOUTH_SUBTEAM_ID, "name": "South Side", "account_id": MAPLE_ACCOUNT_ID},
    {"id": BIRCH_SUBTEAM_ID, "name": "Birch Leasing", "account_id": BIRCH_ACCOUNT_ID},
)

OWNER_USER_ID: Final = "1259ef6e-61ee-42cb-b6bd-7fe547569d7c"  # the docs' example user id

# (id, first, last, role, accounts, subteam). The owner made the API token: actions through the API
# are logged under them (API-FACTS 1.2), and they belong to no subteam (they see everything).
USERS: Final = (
    (OWNER_USER_ID, "Morgan", "Reyes", "Property Manager", (MAPLE_ACCOUNT_ID, BIRCH_ACCOUNT_ID), None),
    ("2a1f0c3e-1111-4aaa-8bbb-000000000001", "Priya", "Shah", "Leasing Agent", (MAPLE_ACCOUNT_ID,), NORTH_SUBTEAM_ID),
    ("2a1f0c3e-1111-4aaa-8bbb-000000000002", "Diego", "Alvarez", "Leasing Agent", (MAPLE_ACCOUNT_ID,), NORTH_SUBTEAM_ID),
    ("c0945e15-294d-44c3-b19f-1b01cb026726", "Hannah", "Kim", "Leasing Agent", (MAPLE_ACCOUNT_ID,), NORTH_SUBTEAM_ID),
    ("d09d6b50-df2d-4ff9-b3f3-110cbd8edc79", "Marcus", "Johnson", "Leasing Agent", (MAPLE_ACCOUNT_ID,), NORTH_SUBTEAM_ID),
    ("12d84ca4-7160-4797-b404-83994d6acbe2", "Sofia", "Rossi", "Leasing Agent", (MAPLE_ACCOUNT_ID,), SOUTH_SUBTEAM_ID),
    ("5170a81b-8e4d-4637-8e41-961179a42de4", "Ethan", "Walker", "Showing Agent", (MAPLE_ACCOUNT_ID,), SOUTH_SUBTEAM_ID),
    ("d8251842-430b-4086-ac1d-581d6d296ff7", "Grace", "Liu", "Leasing Agent", (MAPLE_ACCOUNT_ID,), SOUTH_SUBTEAM_ID),
    ("3b2e1d4f-2222-4ccc-8ddd-000000000003", "Noah", "Bennett", "Leasing Agent", (BIRCH_ACCOUNT_ID,), BIRCH_SUBTEAM_ID),
    ("a1fb5063-acac-424e-973d-5e03f1a7a5da", "Ava", "Thompson", "Leasing Agent", (BIRCH_ACCOUNT_ID,), BIRCH_SUBTEAM_ID),
    ("7bf6d939-c0cc-4c0c-bf8f-3fbccdbd102e", "Liam", "O'Connor", "Showing Agent", (BIRCH_ACCOUNT_ID,), BIRCH_SUBTEAM_ID),
    ("8e1aba51-b4eb-4fd9-ad8e-75f4099b6033", "Chloe", "Martin", "Leasing Agent", (BIRCH_ACCOUNT_ID,), BIRCH_SUBTEAM_ID),
)

# city, state (full name, as read back live: API-FACTS 2.4), zip prefix, latitude, longitude, area codes
PLACES: Final = {
    MAPLE_ACCOUNT_ID: (
        ("Dallas", "Texas", "752", 32.7767, -96.7970, ("214", "469", "972")),
        ("Houston", "Texas", "770", 29.7604, -95.3698, ("713", "281", "832")),
        ("San Antonio", "Texas", "782", 29.4241, -98.4936, ("210", "726")),
        ("Oklahoma City", "Oklahoma", "731", 35.4676, -97.5164, ("405",)),
        ("Kansas City", "Missouri", "641", 39.0997, -94.5786, ("816",)),
        ("Memphis", "Tennessee", "381", 35.1495, -90.0490, ("901",)),
    ),
    BIRCH_ACCOUNT_ID: (
        ("Charlotte", "North Carolina", "282", 35.2271, -80.8431, ("704", "980")),
        ("Raleigh", "North Carolina", "276", 35.7796, -78.6382, ("919", "984")),
        ("Atlanta", "Georgia", "303", 33.7490, -84.3880, ("404", "678", "470")),
        ("Tampa", "Florida", "336", 27.9506, -82.4572, ("813",)),
        ("Columbus", "Ohio", "432", 39.9612, -82.9988, ("614", "380")),
    ),
}

STREETS: Final = (
    "Chesapeake Blvd", "Oak St", "Maple Ave", "Pine Ridge Dr", "Cedar Ln", "Elm St", "Willow Creek Rd", "Lakeview Dr",
    "Sunset Blvd", "Magnolia Way", "Hickory Hill Rd", "Birch Ct", "Park Ave", "Main St", "Church St", "Mill Pond Rd",
    "Riverside Dr", "Meadowbrook Ln", "Forest Glen Dr", "Highland Ave", "Spring Valley Rd", "Cherry Blossom Ln",
    "Stonegate Dr", "Autumn Trl", "Briarwood Cir", "Canyon Creek Pkwy", "Dogwood Dr", "Foxfire Ln", "Greenway Blvd",
    "Harbor Point Dr", "Ironwood Ct", "Juniper St", "Kingsley Rd", "Laurel Oak Dr", "Mockingbird Ln", "Northgate Dr",
)  # fmt: skip

FIRST_NAMES: Final = (
    "James", "Maria", "Robert", "Jennifer", "Michael", "Linda", "David", "Patricia", "William", "Elizabeth", "Jessica",
    "Christopher", "Ashley", "Daniel", "Brittany", "Matthew", "Amanda", "Anthony", "Stephanie", "Joshua", "Nicole",
    "Kevin", "Samantha", "Brandon", "Tiffany", "Tyler", "Destiny", "Jordan", "Kayla", "Andre", "Keisha", "DeShawn",
    "Imani", "Luis", "Guadalupe", "Carlos", "Alejandra", "Juan", "Ana", "Minh", "Thi", "Wei", "Mei", "Raj", "Anjali",
    "Mohammed", "Fatima", "Olga", "Dmitri", "Aisha", "Kwame", "Tomás", "José", "Zoë", "Björn", "Siobhán", "François",
    "Chloé", "Renée", "Łukasz", "Søren", "Nuñez", "Inés", "Ngọc", "Dương", "Ayşe", "Émile", "Noémie", "Jürgen",
)  # fmt: skip

LAST_NAMES: Final = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez", "Hernandez",
    "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin", "Lee", "Perez",
    "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson", "Walker", "Young", "Allen",
    "Nguyen", "Tran", "Patel", "Kim", "Chen", "Washington", "Okafor", "Adeyemi", "Kowalski", "Ivanova", "Müller",
    "Peña", "Muñoz", "Nguyễn", "Gómez", "Ibáñez", "Øverland", "Schäfer", "Dubois", "Ó Briain", "Çelik", "Săndulescu",
)  # fmt: skip

EMAIL_DOMAINS: Final = ("gmail.com", "gmail.com", "gmail.com", "yahoo.com", "outlook.com", "icloud.com", "hotmail.com", "aol.com")

# Sources as prospects carry them live (API-FACTS 2.5): free text with inconsistent spellings.
SOURCES: Final = (
    ("Zillow", 30), ("RentEngine", 10), ("Apartments.com", 8), ("Realtor.com", 6), ("Website Widget", 6),
    ("Phone Call", 5), ("Text AI", 4), ("Zumper", 4), ("Hotpads", 4), ("Homes.com", 3), ("For Rent Sign", 3),
    ("Rent.com", 2), ("Text Message", 2), ("Other", 2), ("Facebook Marketplace", 2), ("rent.com", 1), ("zillow", 1),
    ("Walk-In", 1), ("rent", 0.5), (" Zillow ", 0.3), (None, 0.5),
)  # fmt: skip

AMENITIES: Final = (
    "Central Air", "Dishwasher", "Hardwood Floors", "Fenced Yard", "Washer/Dryer", "Pool", "Garage", "Walk-in Closet",
    "Ceiling Fans", "Patio", "Fireplace", "Granite Countertops", "Stainless Steel Appliances", "Smart Lock",
)  # fmt: skip

FEES_MONTHLY: Final = (("Resident Benefits Package", 45.95), ("Water/sewer/trash", 75), ("Solar Rent", 100), ("Pest Control", 10))
FEES_MOVE_IN: Final = (("Lease Prep Fee", 195), ("Admin Fee", 150), ("Key Fee", 25))
FEES_PET: Final = (("Pet Rent", 35), ("Pet Fee", 300))

LAUNDRY: Final = ("In Unit", "In Unit", "In Unit", "Shared", "Coin-op", "Hookups but no machines", "On-site", "None")
PETS: Final = ("Yes with pet fee", "Yes", "Dogs only", "Cats only", "No", None)
PARKING: Final = ("Street", "Carport", "Assigned Spots", "Driveway", "Shared Garage", "Private Garage", "Paid Parking")
UTILITIES: Final = ("Water", "Sewer", "Trash", "Gas", "Electricity", "Internet")

NOTES: Final = (
    "Called, left voicemail", "Asked about pets", "Wants a 6 month lease", "Prefers texts after 5pm", "Has a housing voucher",
    "Relocating for work", "Asked if utilities are included", "Needs ground floor", "Co-signer available",
    "Moving from out of state; wants a virtual tour", "Follow up next week", "Interested in parking options",
)  # fmt: skip

SHOWING_FEEDBACK: Final = (
    "Loved the kitchen, worried about the commute", "Too small for their family", "Liked it, will apply tonight",
    "Thought the rent was high for the area", "Great natural light", "Noise from the road", "Wants to see it again with partner",
    None, None,
)  # fmt: skip

CANCELLATION_REASONS: Final = (
    "Prospect canceled",
    "Found another place",
    "Scheduling conflict",
    "Unit no longer available",
    "Agent unavailable",
)

VISITORS: Final = ("Vendor - HVAC", "Vendor - Plumbing", "Cleaning crew", "Photographer", "Inspector", "Handyman")

TEMPLATE_QUESTIONS: Final = (
    {"fixedQuestionType": "housing_voucher", "question": "Do you have a housing voucher (e.g. Section 8)?", "type": "yes_no", "rejectAnswer": None},
    {"fixedQuestionType": "felony", "question": "Have you been convicted of a felony in the last 7 years?", "type": "yes_no", "rejectAnswer": "Yes"},
    {"question": "When would you like to move in?", "type": "date", "rejectAnswer": None},
    {"question": "How many people will live in the home?", "type": "free_text", "rejectAnswer": None},
)  # fmt: skip

COMMUNITIES: Final = (
    "Sunset Towers", "The Willows at Lakeview", "Magnolia Commons", "Riverside Lofts", "Parkside Flats", "Cedar Point",
    "The Hawthorne", "Briarwood Village", "Stonegate Residences", "Highland Terrace", "Harbor View", "Foxfire Gardens",
)  # fmt: skip

FLOORPLAN_NAMES: Final = ("The Willow", "The Aspen", "The Birch", "The Cypress", "The Dogwood", "The Elm", "The Juniper")
