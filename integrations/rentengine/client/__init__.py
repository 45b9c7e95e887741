"""The RentEngine Public API as the rest of the code sees it: one client, named errors, typed records.

`endpoints.py` has one method per endpoint, `transport.py` how a call is made (limiter slot, retries,
pages), `wire.py` how parameters and answers look on the wire, `records.py` the typed records and
`coerce.py` the loose-value conversions they use.
"""

from integrations.rentengine.client.endpoints import RentEngineClient
from integrations.rentengine.client.errors import (
    InvalidRequest,
    MalformedResponse,
    MissingToken,
    NotFound,
    RateLimited,
    RentEngineError,
    ServerError,
    SlotUnavailable,
    Timeout,
    TokenRejected,
    TransportError,
)
from integrations.rentengine.client.records import (
    AvailabilityRecord,
    FloorplanRecord,
    LeasingEventRecord,
    LockboxCodeRecord,
    LockboxEventRecord,
    LockboxInstallationRecord,
    LockboxRecord,
    MultifamilyPropertyRecord,
    Parsed,
    PrescreeningTemplateRecord,
    ProspectRecord,
    Record,
    ShowingRecord,
    SubteamRecord,
    UnitRecord,
    WebhookPayload,
    parse_record,
    parse_records,
)
from integrations.rentengine.client.transport import SLOT_TIMEOUTS, Page

__all__ = [
    "SLOT_TIMEOUTS",
    "AvailabilityRecord",
    "FloorplanRecord",
    "InvalidRequest",
    "LeasingEventRecord",
    "LockboxCodeRecord",
    "LockboxEventRecord",
    "LockboxInstallationRecord",
    "LockboxRecord",
    "MalformedResponse",
    "MissingToken",
    "MultifamilyPropertyRecord",
    "NotFound",
    "Page",
    "Parsed",
    "PrescreeningTemplateRecord",
    "ProspectRecord",
    "RateLimited",
    "Record",
    "RentEngineClient",
    "RentEngineError",
    "ServerError",
    "ShowingRecord",
    "SlotUnavailable",
    "SubteamRecord",
    "Timeout",
    "TokenRejected",
    "TransportError",
    "UnitRecord",
    "WebhookPayload",
    "parse_record",
    "parse_records",
]
