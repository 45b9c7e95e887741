"""The people `make demo` logs in as."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction

from dashboard.models import TeamMember

DEMO_USERNAME = "manager"
DEMO_PASSWORD = "leasing-desk-demo"


@transaction.atomic
def demo_people_ensure(*, simulator_url: str | None = None) -> TeamMember:
    """Create (or reset) the demo manager: a superuser, so the admin works and every account shows."""
    user_model = get_user_model()
    user, _ = user_model.objects.get_or_create(username=DEMO_USERNAME, defaults={"first_name": "Morgan", "last_name": "Reyes"})
    user.is_staff = True
    user.is_superuser = True
    user.is_active = True
    user.set_password(DEMO_PASSWORD)
    user.save()
    member, _ = TeamMember.objects.get_or_create(user=user, defaults={"role": TeamMember.Role.MANAGER})
    if member.role != TeamMember.Role.MANAGER:
        member.role = TeamMember.Role.MANAGER
        member.save(update_fields=["role"])
    return member
