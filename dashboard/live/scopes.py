"""Which change scopes a person may watch: the screen scopes of the accounts they may see
("<kind>:<account id>", the kinds `mirror.KIND_SCOPES` bumps) and the global ones every signed-in
person's screens show (/sync/, bulk-assignment progress)."""

from __future__ import annotations

from collections.abc import Iterable

from integrations.rentengine.mirror import KIND_SCOPES

# Kinds bumped per account: every screen scope a change to a mirror table touches.
ACCOUNT_KINDS = tuple(dict.fromkeys(scope for scopes in KIND_SCOPES.values() for scope in scopes))
# Bumped without an account: they carry a version number and nothing about any account's data.
GLOBAL_SCOPES = ("sync", "assignments")
# A page watches a handful, plus one alerts scope per account: a bound, not a budget.
MAX_SCOPES = 256


def scopes_allowed(account_ids: Iterable[object]) -> set[str]:
    """Every scope a person who may see these accounts may watch."""
    allowed = set(GLOBAL_SCOPES)
    for account in account_ids:
        allowed.update(f"{kind}:{account}" for kind in ACCOUNT_KINDS)
    return allowed


def scopes_requested(asked: Iterable[str], allowed: set[str]) -> list[str]:
    """The scopes asked for that are allowed, each once, in a stable order. Anything else is left
    out silently: a page never asks for another account's scope, so there is nothing to explain."""
    wanted: list[str] = []
    for raw in asked:
        for scope in raw.split(","):
            scope = scope.strip()
            if scope in allowed and scope not in wanted:
                wanted.append(scope)
    return sorted(wanted)[:MAX_SCOPES]
