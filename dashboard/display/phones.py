"""Phone numbers as people read and dial them: "(919) 251-8064" with a `tel:+19192518064` link for
North American numbers (RentEngine's are), the number as given otherwise."""

from __future__ import annotations

import re

_NOT_DIGITS = re.compile(r"\D")


def _nanp(raw: str) -> str | None:
    """The ten digits of a North American number written any way, else None."""
    digits = _NOT_DIGITS.sub("", raw)
    if len(digits) == 11 and digits[0] == "1":
        digits = digits[1:]
    if len(digits) == 10 and digits[0] not in "01" and (not raw.strip().startswith("+") or raw.strip().startswith("+1")):
        return digits
    return None


def phone_national(raw: str | None) -> str:
    """ "(919) 251-8064"; other numbers as given."""
    if not raw:
        return ""
    digits = _nanp(raw)
    return f"({digits[:3]}) {digits[3:6]}-{digits[6:]}" if digits else raw.strip()


def phone_tel(raw: str | None) -> str:
    """The `tel:` URI: "tel:+19192518064"; other numbers with their + and digits only."""
    if not raw:
        return ""
    digits = _nanp(raw)
    if digits:
        return f"tel:+1{digits}"
    plus = "+" if raw.strip().startswith("+") else ""
    return f"tel:{plus}{_NOT_DIGITS.sub('', raw)}"


def phone_csv(raw: str | None) -> str:
    """A CSV cell spreadsheets keep as text with no visible guard: the national form for North
    American numbers ("(380) 453-4125" starts with no formula character); others as given (the
    export's formula guard still applies to them)."""
    return phone_national(raw)
