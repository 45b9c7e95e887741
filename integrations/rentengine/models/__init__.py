"""The mirror app's models, one module per concern (helpers add theirs here)."""

from __future__ import annotations

from integrations.rentengine.models.bookkeeping import (
    QuarantinedRecord,
    ScopeVersion,
    SyncMiss,
    SyncRun,
    SyncSighting,
    SyncState,
)
from integrations.rentengine.models.inbox import WebhookDelivery, WebhookRejection
from integrations.rentengine.models.mirror import (
    Account,
    Floorplan,
    LeasingEvent,
    Lockbox,
    LockboxEvent,
    LockboxInstallation,
    MirrorRow,
    MultifamilyProperty,
    PrescreeningTemplate,
    Prospect,
    ProspectAssignee,
    RentEngineUser,
    Showing,
    Subteam,
    Unit,
    UnitAvailability,
)
from integrations.rentengine.models.outbox import OutboxAssignment, outbox_reference
from integrations.rentengine.models.outbox_lockbox import OutboxLockboxPost, lockbox_post_reference

__all__ = [
    "Account",
    "Floorplan",
    "LeasingEvent",
    "Lockbox",
    "LockboxEvent",
    "LockboxInstallation",
    "MirrorRow",
    "MultifamilyProperty",
    "OutboxAssignment",
    "OutboxLockboxPost",
    "PrescreeningTemplate",
    "Prospect",
    "ProspectAssignee",
    "QuarantinedRecord",
    "RentEngineUser",
    "ScopeVersion",
    "Showing",
    "Subteam",
    "SyncMiss",
    "SyncRun",
    "SyncSighting",
    "SyncState",
    "Unit",
    "UnitAvailability",
    "WebhookDelivery",
    "WebhookRejection",
    "lockbox_post_reference",
    "outbox_reference",
]
