"""Loose values into strict ones: the conversions every RentEngine record field goes through.

RentEngine sends numbers as strings (or mixed within one array), "None" for empty lists, ids in
several spellings (API-FACTS section 4); each `to_*` function reads any of them and returns the
value or None, never raising. The `Annotated` aliases at the end put them on record fields.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import BeforeValidator

_NUMBER_JUNK = re.compile(r"[,$\s]")
_NULLISH = {"", "none", "null", "n/a", "na", "-"}
_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _is_nullish(value: Any) -> bool:
    if isinstance(value, str):
        text = value.strip()
        return len(text) <= 4 and text.lower() in _NULLISH  # (no nullish word is longer)
    return value is None


def to_decimal(value: Any) -> Decimal | None:
    """1925, 1925.5, "1925", "1,925.00", "$75" -> Decimal; empty or unreadable -> None."""
    if _is_nullish(value) or isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int | float):
        return Decimal(str(value))
    if isinstance(value, str):
        try:
            number = Decimal(_NUMBER_JUNK.sub("", value))
        except InvalidOperation:
            return None
        return number if number.is_finite() else None
    return None


def to_int(value: Any) -> int | None:
    if type(value) is int:  # the common case, first (bool is not an int here)
        return value
    number = to_decimal(value)
    if number is None or number != number.to_integral_value():
        return None
    return int(number)


def to_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in {"true", "yes", "y", "1"}:
            return True
        if text in {"false", "no", "n", "0"}:
            return False
    return None


def to_datetime(value: Any) -> datetime | None:
    """ISO 8601 with or without Z / offset / fraction; naive values are UTC."""
    if _is_nullish(value):
        return None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)  # ISO 8601 with "Z" reads as is (Python >= 3.11)
        except ValueError:
            try:
                parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace("z", "+00:00"))
            except ValueError:
                return None
    else:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def to_date(value: Any) -> date | None:
    if _is_nullish(value):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip()[:10])
        except ValueError:
            return None
    return None


def to_uuid_str(value: Any) -> str | None:
    """A uuid in canonical lowercase form, or None when the value is not a uuid."""
    if isinstance(value, str) and _CANONICAL_UUID.fullmatch(value):
        return value  # already canonical: most ids, and uuid.UUID() costs ten times the match
    if _is_nullish(value):
        return None
    try:
        return str(uuid.UUID(str(value).strip()))
    except ValueError:
        return None


def to_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return str(value)
    return None


def to_str_list(value: Any) -> list[str]:
    """Arrays of strings; also the literal "None", a single string, or null."""
    if _is_nullish(value):
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple):
        return [str(item) for item in value if not _is_nullish(item)]
    return []


def to_uuid_list(value: Any) -> list[str]:
    return [u for u in (to_uuid_str(item) for item in to_str_list(value)) if u]


def to_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def to_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _required_uuid(value: Any) -> str:
    result = to_uuid_str(value)
    if result is None:
        raise ValueError(f"not a uuid: {value!r}")
    return result


def _required_int(value: Any) -> int:
    result = to_int(value)
    if result is None:
        raise ValueError(f"not an integer id: {value!r}")
    return result


def _required_datetime(value: Any) -> datetime:
    result = to_datetime(value)
    if result is None:
        raise ValueError(f"not a date-time: {value!r}")
    return result


Dec = Annotated[Decimal | None, BeforeValidator(to_decimal)]
Int = Annotated[int | None, BeforeValidator(to_int)]
Bool = Annotated[bool | None, BeforeValidator(to_bool)]
Time = Annotated[datetime | None, BeforeValidator(to_datetime)]
Day = Annotated[date | None, BeforeValidator(to_date)]
Uuid = Annotated[str | None, BeforeValidator(to_uuid_str)]
Text = Annotated[str | None, BeforeValidator(to_text)]
StrList = Annotated[list[str], BeforeValidator(to_str_list)]
UuidList = Annotated[list[str], BeforeValidator(to_uuid_list)]
Obj = Annotated[dict[str, Any], BeforeValidator(to_dict)]
Arr = Annotated[list[Any], BeforeValidator(to_list)]
IdUuid = Annotated[str, BeforeValidator(_required_uuid)]
IdInt = Annotated[int, BeforeValidator(_required_int)]
CreatedAt = Annotated[datetime, BeforeValidator(_required_datetime)]
