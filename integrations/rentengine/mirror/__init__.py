"""Records in, mirror rows out: the one place that writes the mirror (sync, webhooks and the outbox
all come through here).

Every write is a conditional upsert (upsert.py), one statement per batch, so that arrival order
does not matter: older versions never win, tombstones hold, and unchanged rows are not written at
all, so a repeated sync changes nothing.

Derived state (a prospect's status and assignees, a lockbox's current unit) is recomputed from what
is stored, never patched incrementally, so any order of inputs converges to the same result.
"""

from __future__ import annotations

from integrations.rentengine.mirror.common import Applied, accounts_ensure, users_seen
from integrations.rentengine.mirror.lockboxes import (
    lockbox_events_apply,
    lockbox_installations_apply,
    lockboxes_apply,
    lockboxes_refresh,
)
from integrations.rentengine.mirror.prospects import (
    leasing_events_apply,
    phone_digits,
    prospects_apply,
    prospects_refresh,
    showings_apply,
    units_apply,
)
from integrations.rentengine.mirror.reference import (
    floorplans_apply,
    multifamily_properties_apply,
    prescreening_templates_apply,
    subteams_apply,
)
from integrations.rentengine.mirror.tombstones import derived_refresh_all, rows_tombstone

__all__ = [
    "Applied",
    "accounts_ensure",
    "derived_refresh_all",
    "floorplans_apply",
    "leasing_events_apply",
    "lockbox_events_apply",
    "lockbox_installations_apply",
    "lockboxes_apply",
    "lockboxes_refresh",
    "multifamily_properties_apply",
    "phone_digits",
    "prescreening_templates_apply",
    "prospects_apply",
    "prospects_refresh",
    "rows_tombstone",
    "showings_apply",
    "subteams_apply",
    "units_apply",
    "users_seen",
]
