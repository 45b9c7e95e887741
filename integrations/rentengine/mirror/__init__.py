"""Records in, mirror rows out: the only writer of the mirror (sync, webhooks and the outbox all come
through here), and the change versions that tell open screens what moved.

Every write is a conditional upsert (`upsert.py`: older versions never win, tombstones hold,
unchanged rows are not written); derived state (a prospect's status and assignees, a lockbox's unit)
is recomputed from what is stored, so any order of inputs converges to the same result.
"""

from __future__ import annotations

from integrations.rentengine.mirror.apply_leasing import (
    leasing_events_apply,
    phone_digits,
    prospects_apply,
    prospects_refresh,
    showings_apply,
    units_apply,
)
from integrations.rentengine.mirror.apply_lockboxes import (
    lockbox_events_apply,
    lockbox_installations_apply,
    lockboxes_apply,
    lockboxes_refresh,
)
from integrations.rentengine.mirror.apply_reference import (
    floorplans_apply,
    multifamily_properties_apply,
    prescreening_templates_apply,
    subteams_apply,
)
from integrations.rentengine.mirror.changes import (
    KIND_SCOPES,
    channel,
    mirror_changed,
    scope_versions,
    scopes_bump,
    scopes_for,
)
from integrations.rentengine.mirror.database import (
    appliers_serialize,
    commit_relaxed,
    insert_once,
    session_lock_release,
    session_lock_try,
)
from integrations.rentengine.mirror.fields import Applied, accounts_ensure, users_seen
from integrations.rentengine.mirror.quarantine import quarantine_retry, quarantined_records, records_apply, refusal_text
from integrations.rentengine.mirror.tombstones import derived_refresh_all, rows_tombstone
from integrations.rentengine.mirror.upsert import value_clean

__all__ = [
    "KIND_SCOPES",
    "Applied",
    "accounts_ensure",
    "appliers_serialize",
    "channel",
    "commit_relaxed",
    "derived_refresh_all",
    "floorplans_apply",
    "insert_once",
    "leasing_events_apply",
    "lockbox_events_apply",
    "lockbox_installations_apply",
    "lockboxes_apply",
    "lockboxes_refresh",
    "mirror_changed",
    "multifamily_properties_apply",
    "phone_digits",
    "prescreening_templates_apply",
    "prospects_apply",
    "prospects_refresh",
    "quarantine_retry",
    "quarantined_records",
    "records_apply",
    "refusal_text",
    "rows_tombstone",
    "scope_versions",
    "scopes_bump",
    "scopes_for",
    "session_lock_release",
    "session_lock_try",
    "showings_apply",
    "subteams_apply",
    "units_apply",
    "users_seen",
    "value_clean",
]
