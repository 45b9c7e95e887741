"""Filter menus list the distinct values of a column by index hops."""

from __future__ import annotations

import pytest

from dashboard.raw_sql import distinct_values
from integrations.rentengine.models import Prospect
from tests.dashboard.conftest import MAPLE

pytestmark = pytest.mark.django_db


def test_filter_menus_list_distinct_values_by_index_hops(world) -> None:  # type: ignore[no-untyped-def]
    assert distinct_values(Prospect, "source_normalized", account_id=MAPLE) == ["HotPads", "Rent.com", "Zillow"]
