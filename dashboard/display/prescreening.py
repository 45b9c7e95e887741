"""Prescreening templates in words: the `rules` object and the `questions` list as RentEngine sends
them (API-FACTS 2.10; the question item was only ever seen cut off), read tolerantly, so an
unexpected shape shows as plain text instead of breaking the page."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final

RULE_LABELS: Final[dict[str, str]] = {
    "minimumCreditScore": "Minimum credit score",
    "minimumIncomeRentMultiplier": "Income at least (times the rent)",
    "minimumAge": "Minimum age",
    "enableVoIPPhoneVerification": "VoIP phone check",
    "enableIDVerification": "ID verification",
    "enableSelfieVerification": "Selfie verification",
    "allowIDWithoutExpiryDate": "Accept IDs without an expiry date",
    "allowIDExpiredInDays": "Accept IDs expired up to (days)",
    "enableShowingLocationVerification": "Location check at showings",
}
QUESTION_TYPES: Final[dict[str, str]] = {"yes_no": "Yes / no", "free_text": "Free text", "text": "Free text", "date": "Date"}


def _words(key: str) -> str:
    """camelCase or snake_case as a sentence: an unknown rule still reads."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", key).replace("_", " ").strip()
    return spaced[:1].upper() + spaced[1:].lower() if spaced else key


def _value(value: Any) -> str:
    if value is True:
        return "On"
    if value is False:
        return "Off"
    if value is None or value == "":
        return "—"
    if isinstance(value, dict | list):
        return (
            ", ".join(_value(v) for v in value)
            if isinstance(value, list)
            else "; ".join(f"{_words(str(k))}: {_value(v)}" for k, v in value.items())
        )
    return str(value)


def rules_readable(rules: Any) -> list[tuple[str, str]]:
    """[(label, value)] with the known rules first, in RentEngine's order."""
    if not isinstance(rules, dict):
        return [("Rules", _value(rules))] if rules else []
    known = [(RULE_LABELS[k], _value(rules[k])) for k in RULE_LABELS if k in rules]
    others = [(_words(str(k)), _value(v)) for k, v in rules.items() if k not in RULE_LABELS]
    return known + others


@dataclass(frozen=True)
class Question:
    text: str
    kind: str
    rejects: str  # how an answer rejects the prospect, in words ("" when informational)
    fixed: str  # a built-in question's type ("housing_voucher"), "" for custom ones


def questions_readable(questions: Any) -> list[Question]:
    if not isinstance(questions, list):
        return []
    found = []
    for item in questions:
        if not isinstance(item, dict):
            found.append(Question(_value(item), "", "", ""))
            continue
        kind = str(item.get("type") or "")
        reject = next((item[k] for k in item if str(k).lower().startswith("reject")), None)
        rejects = ""
        if isinstance(reject, str) and reject:
            rejects = f"Rejects on “{reject}”" if reject.lower() in {"yes", "no"} else _words(reject)
        elif reject is True:
            rejects = "Rejects on Yes"
        found.append(
            Question(
                text=str(item.get("question") or item.get("text") or "(no text)"),
                kind=QUESTION_TYPES.get(kind, _words(kind) if kind else ""),
                rejects=rejects,
                fixed=_words(str(item.get("fixedQuestionType") or "")) if item.get("fixedQuestionType") else "",
            )
        )
    return found
