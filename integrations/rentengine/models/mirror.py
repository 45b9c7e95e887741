"""The local mirror of RentEngine: what every screen reads, written only through `integrations.rentengine.mirror`.

Every mirrored table keys on RentEngine's id, keeps the record's JSON in `raw` and its `updated_at`
in `source_updated_at`, and is never hard-deleted (`deleted_at` with a `tombstone_reason`). References
are foreign keys without database constraints: RentEngine may send a prospect before its unit.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models


class Account(models.Model):
    """A RentEngine account (uuid). RentEngine has no accounts endpoint: accounts are discovered from
    the account_id on synced rows, or added in the admin; the name is ours to set."""

    id = models.UUIDField(primary_key=True)
    name = models.CharField(max_length=200, blank=True)
    time_zone = models.CharField(
        max_length=64, default=settings.TIME_ZONE, help_text="Times on this account's screens show in this zone."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name or f"Account {str(self.id)[:8]}"


class MirrorQuerySet(models.QuerySet):
    def alive(self) -> MirrorQuerySet:
        return self.filter(deleted_at__isnull=True)


class MirrorRow(models.Model):
    class Tombstone(models.TextChoices):
        DELETED = "deleted", "Deleted in RentEngine"
        MISSING = "missing", "Missing from two full syncs"
        NOT_FOUND = "not_found", "RentEngine answered 404"

    raw = models.JSONField(default=dict)
    source_updated_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    tombstone_reason = models.CharField(max_length=16, choices=Tombstone.choices, blank=True)
    synced_at = models.DateTimeField()

    objects = MirrorQuerySet.as_manager()

    class Meta:
        abstract = True

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


def _unconstrained(model: str, related_name: str, **kwargs: Any) -> models.ForeignKey:
    return models.ForeignKey(
        model, on_delete=models.DO_NOTHING, db_constraint=False, null=True, blank=True, related_name=related_name, **kwargs
    )


# --- units ----------------------------------------------------------------------------------------


class Unit(MirrorRow):
    id = models.BigIntegerField(primary_key=True)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="units")
    status = models.CharField(max_length=40, blank=True)
    property_type = models.CharField(max_length=40, blank=True)
    address = models.CharField(max_length=300, blank=True, help_text="One line, as agents read it.")
    street = models.CharField(max_length=200, blank=True)
    unit_label = models.CharField(max_length=40, blank=True)
    address_order = models.CharField(
        max_length=320, blank=True, help_text="Street name, house number (as a number), unit: how the list sorts."
    )
    city = models.CharField(max_length=100, blank=True)
    state = models.CharField(max_length=60, blank=True)
    zip_code = models.CharField(max_length=20, blank=True)
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    bedrooms = models.DecimalField(max_digits=4, decimal_places=1, null=True, blank=True)
    bathrooms = models.DecimalField(max_digits=4, decimal_places=1, null=True, blank=True)
    sqft = models.IntegerField(null=True, blank=True)
    rent = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True, help_text="target_rental_rate, $/month")
    is_occupied = models.BooleanField(null=True, blank=True)
    showing_method = models.CharField(max_length=60, blank=True)
    earliest_move_in_date = models.DateField(null=True, blank=True)
    subteam_id = models.UUIDField(null=True, blank=True)
    prescreen_template_id = models.UUIDField(null=True, blank=True)
    fees = models.JSONField(default=list, blank=True, help_text="[{kind, name, type, amount}] from the three fee arrays")
    photos = models.JSONField(default=list, blank=True, help_text="visible photo URLs")
    created_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["account", "status", "id"], name="unit_account_status"),
            models.Index(fields=["account", "address_order", "id"], name="unit_account_address_order"),
            models.Index(fields=["account", "city"], name="unit_account_city"),
            models.Index(fields=["account", "rent", "id"], name="unit_account_rent"),
            models.Index(fields=["account", "bedrooms", "id"], name="unit_account_bedrooms"),
            models.Index(fields=["account", "-source_updated_at", "-id"], name="unit_account_updated"),
        ]

    def __str__(self) -> str:
        return self.address or f"Unit {self.id}"


class UnitAvailability(models.Model):
    """The unit's showing windows, fetched by a task (never on the request path) and cached here."""

    unit = models.OneToOneField(
        Unit, on_delete=models.DO_NOTHING, db_constraint=False, primary_key=True, related_name="availability"
    )
    data = models.JSONField(default=dict)
    timezone_name = models.CharField(max_length=64, blank=True)
    fetched_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"Availability of unit {self.unit_id}"


# --- prospects and leasing events -----------------------------------------------------------------


class Prospect(MirrorRow):
    id = models.BigIntegerField(primary_key=True)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="prospects")
    name = models.CharField(max_length=200, blank=True)
    email = models.CharField(max_length=254, blank=True)
    phone = models.CharField(max_length=40, blank=True)
    phone_digits = models.CharField(max_length=20, blank=True, help_text="Last 10 digits: the same person across units.")
    source = models.CharField(max_length=120, blank=True)
    source_normalized = models.CharField(max_length=120, blank=True)
    unit = _unconstrained("Unit", "prospects")
    prospect_type = models.CharField(max_length=20, blank=True)
    created_at = models.DateTimeField(null=True, blank=True)
    # Derived from the record and the leasing events (prospect_refresh_from_events): the status is
    # the latest pipeline event's type, the assignees the latest "Assign to User" event's users.
    status = models.CharField(max_length=80, blank=True)
    status_family = models.CharField(max_length=16, blank=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    assignees_changed_at = models.DateTimeField(null=True, blank=True)
    assigned_by_event_id = models.BigIntegerField(null=True, blank=True)
    next_follow_up = models.DateTimeField(null=True, blank=True)
    events_fetched_at = models.DateTimeField(
        null=True, blank=True, help_text="When this prospect's events were last fetched one by one (fallback sync)."
    )

    class Meta:
        indexes = [
            models.Index(fields=["account", "-created_at", "-id"], name="prospect_account_created"),
            models.Index(fields=["account", "status_family", "-created_at", "-id"], name="prospect_account_family"),
            models.Index(fields=["account", "status", "-created_at"], name="prospect_account_status"),
            models.Index(fields=["account", "unit", "-created_at"], name="prospect_account_unit"),
            models.Index(fields=["account", "phone_digits"], name="prospect_account_phone"),
            models.Index(fields=["account", "source_normalized"], name="prospect_account_source"),
        ]

    def __str__(self) -> str:
        return self.name or f"Prospect {self.id}"


class ProspectAssignee(models.Model):
    """A prospect's current assignee (RentEngine user id), one row per user, for filtering by person."""

    prospect = models.ForeignKey(Prospect, on_delete=models.CASCADE, related_name="assignees")
    user_id = models.UUIDField()
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["prospect", "user_id"], name="prospect_assignee_unique")]
        indexes = [models.Index(fields=["user_id", "prospect"], name="prospect_assignee_user")]
        ordering = ["position"]

    def __str__(self) -> str:
        return f"{self.user_id} on prospect {self.prospect_id}"


class LeasingEvent(MirrorRow):
    id = models.BigIntegerField(primary_key=True)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, null=True, blank=True, related_name="leasing_events")
    prospect = models.ForeignKey(Prospect, on_delete=models.DO_NOTHING, db_constraint=False, related_name="events")
    event_type = models.CharField(max_length=80)
    is_pipeline = models.BooleanField(default=True, help_text="Does this event set the prospect's status?")
    source = models.CharField(max_length=40, blank=True)
    notes = models.TextField(blank=True)
    context = models.JSONField(default=dict, blank=True)
    planned_at = models.DateTimeField(null=True, blank=True)
    next_follow_up = models.DateTimeField(null=True, blank=True)
    created_by = models.CharField(max_length=64, blank=True)
    unit_id_of_interest = models.BigIntegerField(null=True, blank=True)
    property_address = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["prospect", "-created_at", "-id"], name="event_prospect_created"),
            models.Index(fields=["account", "-created_at", "-id"], name="event_account_created"),
            models.Index(fields=["account", "event_type", "-created_at"], name="event_account_type"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} #{self.id}"

    @property
    def assigned_user_ids(self) -> list[str]:
        return [str(u) for u in self.context.get("assignedToUserIds") or []]

    @property
    def previous_assigned_user_ids(self) -> list[str]:
        return [str(u) for u in self.context.get("previousAssignedToUserIds") or []]


class Showing(MirrorRow):
    """A showing from /reporting/showings (rows carry no unit id; the unit is resolved from the prospect)."""

    id = models.BigIntegerField(primary_key=True)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="showings")
    prospect = _unconstrained("Prospect", "showings")
    unit = _unconstrained("Unit", "showings")
    property_address = models.CharField(max_length=300, blank=True)
    prospect_name = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=40, blank=True)
    feedback = models.TextField(blank=True)
    agent_name = models.CharField(max_length=200, blank=True)
    cancellation_reason = models.TextField(blank=True)
    planned_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["account", "planned_at", "id"], name="showing_account_planned"),
            models.Index(fields=["unit", "planned_at"], name="showing_unit_planned"),
            models.Index(fields=["prospect", "planned_at"], name="showing_prospect_planned"),
        ]

    def __str__(self) -> str:
        return f"Showing {self.id}"


# --- lockboxes ------------------------------------------------------------------------------------


class Lockbox(MirrorRow):
    id = models.UUIDField(primary_key=True)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="lockboxes")
    lockbox_type = models.CharField(max_length=40, blank=True)
    serial_number = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(null=True, blank=True)
    # Derived from installations and events (lockbox_refresh_derived), kept for the inventory list.
    current_unit = _unconstrained("Unit", "current_lockboxes")
    installed_at = models.DateTimeField(null=True, blank=True)
    last_event_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["account", "serial_number"], name="lockbox_account_serial"),
            models.Index(fields=["account", "last_event_at"], name="lockbox_account_last_event"),
        ]

    def __str__(self) -> str:
        return f"{self.lockbox_type or 'Lockbox'} {self.serial_number}".strip()


class LockboxEvent(MirrorRow):
    id = models.UUIDField(primary_key=True)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, null=True, blank=True, related_name="lockbox_events")
    lockbox = models.ForeignKey(Lockbox, on_delete=models.DO_NOTHING, db_constraint=False, related_name="events")
    event_type = models.CharField(max_length=40)
    unit = _unconstrained("Unit", "lockbox_events")
    metadata = models.JSONField(default=dict, blank=True)
    created_for = models.CharField(max_length=200, blank=True, help_text="Generate Code: whom the code was made for")
    created_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["lockbox", "-created_at", "-id"], name="lockbox_event_lockbox"),
            models.Index(fields=["account", "-created_at", "-id"], name="lockbox_event_account"),
            models.Index(fields=["unit", "-created_at"], name="lockbox_event_unit"),
            models.Index(fields=["account", "event_type", "-created_at"], name="lockbox_event_type"),
            # Where is a box now: its latest Install/Uninstall, found without walking its code events.
            models.Index(
                fields=["lockbox", "-created_at"],
                name="lockbox_event_placement",
                condition=models.Q(event_type__in=["Install", "Uninstall"], deleted_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.id}"


class LockboxInstallation(MirrorRow):
    """Which lockbox sits on which unit, from /lockbox_installations (INFERRED endpoint) or, when it
    does not exist, derived from Install/Uninstall events."""

    id = models.UUIDField(primary_key=True)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, null=True, blank=True, related_name="lockbox_installations")
    lockbox = models.ForeignKey(Lockbox, on_delete=models.DO_NOTHING, db_constraint=False, related_name="installations")
    unit = _unconstrained("Unit", "lockbox_installations")
    serial_number = models.CharField(max_length=64, blank=True)
    installed_at = models.DateTimeField(null=True, blank=True)
    uninstalled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["lockbox", "-installed_at"], name="installation_lockbox"),
            models.Index(fields=["unit", "-installed_at"], name="installation_unit"),
        ]

    def __str__(self) -> str:
        return f"Installation {self.id}"


# --- team and reference data ----------------------------------------------------------------------


class Subteam(MirrorRow):
    id = models.UUIDField(primary_key=True)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="subteams")
    name = models.CharField(max_length=200, blank=True)
    user_ids = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.name or f"Subteam {str(self.id)[:8]}"


class RentEngineUser(models.Model):
    """A RentEngine user id seen anywhere in the data, and the accounts it was seen in (RentEngine has
    no users endpoint; the dashboard names ids per account)."""

    id = models.UUIDField(primary_key=True)
    accounts = models.ManyToManyField(Account, blank=True, related_name="rentengine_users")
    first_seen_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"User {str(self.id)[:8]}"


class PrescreeningTemplate(MirrorRow):
    id = models.UUIDField(primary_key=True)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, null=True, blank=True, related_name="prescreening_templates")
    name = models.CharField(max_length=200, blank=True)
    is_default = models.BooleanField(default=False)
    rules = models.JSONField(default=dict, blank=True)
    questions = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.name or "Prescreening template"


class MultifamilyProperty(MirrorRow):
    id = models.UUIDField(primary_key=True)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="multifamily_properties")
    community_name = models.CharField(max_length=200, blank=True)
    structure_type = models.CharField(max_length=40, blank=True)
    building_count = models.IntegerField(null=True, blank=True)
    unit_count = models.IntegerField(null=True, blank=True)
    year_built = models.IntegerField(null=True, blank=True)
    text_address = models.CharField(max_length=300, blank=True)
    description = models.TextField(blank=True)
    photos = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.community_name or "Multifamily property"


class Floorplan(MirrorRow):
    id = models.UUIDField(primary_key=True)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, null=True, blank=True, related_name="floorplans")
    multifamily_property = _unconstrained("MultifamilyProperty", "floorplans")
    name = models.CharField(max_length=200, blank=True)
    bedroom_count = models.IntegerField(null=True, blank=True)
    bathroom_count = models.DecimalField(max_digits=4, decimal_places=1, null=True, blank=True)
    unit_count = models.IntegerField(null=True, blank=True)
    units_available = models.IntegerField(null=True, blank=True)
    market_rent = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    min_sqft = models.IntegerField(null=True, blank=True)
    max_sqft = models.IntegerField(null=True, blank=True)
    photos = models.JSONField(default=list, blank=True)
    description = models.TextField(blank=True)

    def __str__(self) -> str:
        return self.name or "Floorplan"
