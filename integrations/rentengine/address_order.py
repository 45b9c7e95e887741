"""How units sort: by street name, then house number as a number, then unit ("14 Oak St" before
"1417 Mockingbird Ln" before "14082 Mockingbird Ln", and Apt 2 before Apt 10), not as text."""

from __future__ import annotations

import re

from integrations.rentengine.text_fold import fold

_NUMBER_FIRST = re.compile(r"^\s*(\d+)\s*([A-Za-z](?![A-Za-z]))?[\s,-]*(.*)$")
_DIGITS = re.compile(r"\d+")
NUMBER_WIDTH = 10


def _numbers_padded(text: str) -> str:
    return _DIGITS.sub(lambda m: m.group().zfill(NUMBER_WIDTH), text)


def address_order(street: str, unit_label: str, one_line: str = "") -> str:
    """A text key that sorts as people read addresses: "MOCKINGBIRD LN 0000001417 APT 0000000002".
    `street` is "1417 Mockingbird Ln" (number and name); without it, the one-line address up to its
    first comma."""
    text = (street or one_line.split(",", 1)[0]).strip()
    match = _NUMBER_FIRST.match(text)
    if match and match.group(3):
        number, suffix, name = match.group(1), (match.group(2) or "").upper(), match.group(3)
        key = f"{(fold(name) or '').strip()} {number.zfill(NUMBER_WIDTH)}{suffix}"
    else:
        key = fold(text) or ""
    unit = (fold(unit_label) or "").strip()
    return " ".join(part for part in (key, _numbers_padded(unit)) if part)[:320]
