"""What the dashboard owns: who may see which RentEngine account, and in which role."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db import models
from django.db.models import QuerySet
from django.http import Http404

from integrations.rentengine.models import Account

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

M = TypeVar("M", bound=models.Model)


class TeamMember(models.Model):
    """A dashboard user as RentEngine knows them: their role here, the accounts they may see, and
    their RentEngine user id (RentEngine has no users endpoint, so a manager records it)."""

    class Role(models.TextChoices):
        MANAGER = "manager", "Manager"
        AGENT = "agent", "Agent"

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="team_member")
    rentengine_user_id = models.UUIDField(
        null=True, blank=True, unique=True, help_text="This person's user id in RentEngine (seen in assignments)."
    )
    accounts = models.ManyToManyField(Account, blank=True, related_name="team_members", through="AccountGrant")

    class Meta:
        ordering = ["user__first_name", "user__last_name", "user__username"]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return self.user.get_full_name() or self.user.get_username()

    def role_in(self, account_id: Any) -> str:
        grant = AccountGrant.objects.filter(member=self, account_id=account_id).only("role").first()
        return grant.role if grant else ""


class AccountGrant(models.Model):
    """One account a team member may see, and their role in it: a manager of one account is not a
    manager of another they also hold."""

    member = models.ForeignKey(TeamMember, on_delete=models.CASCADE, related_name="grants", db_column="teammember_id")
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="grants")
    role = models.CharField(max_length=16, choices=TeamMember.Role.choices, default=TeamMember.Role.AGENT)

    class Meta:
        db_table = "dashboard_teammember_accounts"  # the table the plain grant list always had
        constraints = [models.UniqueConstraint(fields=["member", "account"], name="one_grant_per_account")]

    def __str__(self) -> str:
        return f"{self.member} in {self.account_id} ({self.role})"


class PersonName(models.Model):
    """The name a manager gave a RentEngine user id in one account (RentEngine has no users
    endpoint): a manager of one account never renames a person for another's people."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    user_id = models.UUIDField()
    name = models.CharField(max_length=200)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "user_id"], name="one_name_per_account")]

    def __str__(self) -> str:
        return self.name


def accounts_for_user(user: User | AnonymousUser) -> QuerySet[Account]:
    """The RentEngine accounts this user may see: superusers see all; others what they were granted."""
    if not user.is_authenticated or not user.is_active:
        return Account.objects.none()
    if user.is_superuser:
        return Account.objects.all()
    return Account.objects.filter(team_members__user=user)


def user_is_manager(user: User | AnonymousUser, account: Any = None) -> bool:
    """A manager of this account (its id or the Account); without one, a manager of any account
    they hold (for what is not an account's: the sync, the outbox, health)."""
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    grants = AccountGrant.objects.filter(member__user=user, role=TeamMember.Role.MANAGER)
    if account is not None:
        grants = grants.filter(account_id=getattr(account, "pk", account))
    return grants.exists()


def accounts_managed(user: User | AnonymousUser) -> QuerySet[Account]:
    """The accounts this user manages."""
    if not user.is_authenticated or not user.is_active:
        return Account.objects.none()
    if user.is_superuser:
        return Account.objects.all()
    return Account.objects.filter(grants__member__user=user, grants__role=TeamMember.Role.MANAGER)


def scoped_to_user[M: models.Model](
    queryset: QuerySet[M], user: User | AnonymousUser, *, account_field: str = "account"
) -> QuerySet[M]:
    """Restrict any queryset of account-owned rows to the accounts the user may see."""
    if user.is_authenticated and user.is_superuser:
        return queryset
    return queryset.filter(**{f"{account_field}__in": accounts_for_user(user)})


def get_for_user_or_404[M: models.Model](
    queryset: QuerySet[M], user: User | AnonymousUser, *, account_field: str = "account", **lookup: Any
) -> M:
    """Fetch one account-owned object the user may see, or 404 (never 403: another account's
    objects must not even be confirmed to exist)."""
    try:
        return scoped_to_user(queryset, user, account_field=account_field).get(**lookup)
    except (ObjectDoesNotExist, ValidationError, ValueError, TypeError):  # the others: a malformed id
        raise Http404(f"No {queryset.model._meta.verbose_name} matches the given query.") from None


class BulkAssignment(models.Model):
    """One bulk assignment as an agent asked for it: which prospects (the outbox rows, one per
    prospect, carry each one's state), to whom, by whom and when. An undo is a job of its own."""

    class Kind(models.TextChoices):
        ASSIGN = "assign", "Assign"
        UNDO = "undo", "Undo"

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="bulk_assignments")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.ASSIGN)
    undo_of = models.OneToOneField("self", on_delete=models.CASCADE, null=True, blank=True, related_name="undo")
    user_ids = models.JSONField(
        default=list, blank=True, help_text="The RentEngine users assigned (an undo: each prospect's own)."
    )
    note = models.TextField(blank=True)
    source = models.CharField(max_length=40)
    apply_in_bulk = models.BooleanField(default=False)
    # "all": every prospect to every person; else split between them (dashboard/assignment_split.py),
    # each prospect's own person on its outbox row.
    split = models.CharField(max_length=16, default="all")
    keep_phone_together = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["account", "-created_at", "-id"], name="bulk_assignment_account")]

    def __str__(self) -> str:
        return f"Bulk {self.get_kind_display().lower()} #{self.pk}"


class SubmitKey(models.Model):
    """A one-time key a form that starts work carries (`{% submit_key %}`): the first submit with it
    does the work and records its result here; a repeat (a double click, a resent form) finds the key
    and answers with that result instead of doing the work again. The primary key is the guard: of two
    concurrent submits, the second waits on the first's insert and then reads its result."""

    key = models.UUIDField(primary_key=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    action = models.CharField(max_length=40, help_text="What the form does, e.g. bulk_assign, undo, sync_now.")
    result = models.CharField(max_length=300, blank=True, help_text="What the first submit produced (a job id, a URL).")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    def __str__(self) -> str:
        return f"{self.action} {self.key}"


class SavedView(models.Model):
    """A list's filters under a name: the query string exactly as the list's URL carries it, so a
    saved view is just a link (PRODUCT 4.4: views live in the URL). Its owner may make it their
    default (what the list opens with) and share it with everyone on the account."""

    class List(models.TextChoices):
        PROSPECTS = "prospects", "Prospects"
        UNITS = "units", "Units"
        SHOWINGS = "showings", "Showings"
        LOCKBOXES = "lockboxes", "Lockboxes"
        LOCKBOX_ACTIVITY = "lockbox_activity", "Lockbox activity"

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views")
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="saved_views")
    list_name = models.CharField(max_length=24, choices=List.choices)
    name = models.CharField(max_length=80)
    query = models.CharField(max_length=1000, blank=True, help_text="The list's query string, without a page cursor.")
    shared = models.BooleanField(default=False, help_text="Everyone on the account sees it under Team views.")
    is_default = models.BooleanField(default=False, help_text="The list opens with these filters for its owner.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["account", "list_name"], name="saved_view_account_list")]
        constraints = [
            # One default per person, list and account: the database keeps it so when two tabs race.
            models.UniqueConstraint(
                fields=["owner", "account", "list_name"],
                condition=models.Q(is_default=True),
                name="saved_view_one_default",
            )
        ]

    def __str__(self) -> str:
        return self.name


# --- lockbox alerts ---------------------------------------------------------------------------------


class ExpectedRecipient(models.Model):
    """Someone a team expects codes for (a vendor, a cleaning crew, an inspector): a code made for
    them raises no alert. Managed per account by its managers on the team page; matched against a
    code's "created for" text, case-insensitively, as a part of it ("Sparkle Cleaning" matches
    "Sparkle Cleaning - Rosa")."""

    class Kind(models.TextChoices):
        VENDOR = "vendor", "Vendor"
        CLEANER = "cleaner", "Cleaner"
        INSPECTOR = "inspector", "Inspector"
        OTHER = "other", "Other"

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="expected_recipients")
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.VENDOR)
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(fields=["account", "name"], name="expected_recipient_unique")]

    def __str__(self) -> str:
        return self.name


class LockboxMute(models.Model):
    """A manager silenced a lockbox's alerts until `until` (its codes still show on the digest)."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="lockbox_mutes")
    lockbox_id = models.UUIDField()
    until = models.DateTimeField()
    muted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["account", "lockbox_id", "until"], name="lockbox_mute_box")]

    def __str__(self) -> str:
        return f"Mute {self.lockbox_id} until {self.until:%Y-%m-%d %H:%M}"


class AlertsSeen(models.Model):
    """When a person last opened the bell's panel: the bell counts alerts raised after it."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="alerts_seen")
    seen_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.user_id} saw alerts at {self.seen_at:%Y-%m-%d %H:%M}"
