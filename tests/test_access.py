"""Who sees which RentEngine account: granted accounts only; superusers see all; others get 404."""

from __future__ import annotations

import pytest
from django.http import Http404

from dashboard.models import accounts_for_user, get_for_user_or_404, user_is_manager
from integrations.rentengine.models import Account


def test_an_agent_sees_only_the_accounts_granted_to_them(ari, maple: Account, birch: Account) -> None:  # type: ignore[no-untyped-def]
    assert list(accounts_for_user(ari)) == [maple]


def test_a_superuser_sees_every_account(root, maple: Account, birch: Account) -> None:  # type: ignore[no-untyped-def]
    assert set(accounts_for_user(root)) == {maple, birch}


def test_an_agent_gets_their_own_accounts_object(ari, maple: Account) -> None:  # type: ignore[no-untyped-def]
    assert get_for_user_or_404(Account.objects.all(), ari, account_field="pk", pk=maple.pk) == maple


def test_an_agent_gets_404_for_another_accounts_object(ari, birch: Account) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(Http404):
        get_for_user_or_404(Account.objects.all(), ari, account_field="pk", pk=birch.pk)


def test_a_malformed_id_is_a_404_not_a_crash(ari) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(Http404):
        get_for_user_or_404(Account.objects.all(), ari, account_field="pk", pk="not-a-uuid")


def test_roles(mia, ari, root) -> None:  # type: ignore[no-untyped-def]
    assert user_is_manager(mia)
    assert not user_is_manager(ari)
    assert user_is_manager(root)
