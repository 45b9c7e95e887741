"""How RentEngine's words look on screen: every table covers values it has never seen."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from dashboard.display.pills import lockbox_state, prospect_status_pill, unit_status_pill


def test_presentation_tables_cover_unknown_values() -> None:
    assert prospect_status_pill("Something New From RentEngine").css == "fam-unknown"
    assert prospect_status_pill("Lease Signed").css == "fam-won"
    assert unit_status_pill("Mystery").css == "fam-unknown"
    now = timezone.now()
    assert lockbox_state(None, now, now) == "not_installed"
    assert lockbox_state(1, now - timedelta(days=20), now) == "quiet"
    assert lockbox_state(1, now - timedelta(days=1), now) == "installed"
