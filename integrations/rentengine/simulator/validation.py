"""Strict query-string validation, answered the way RentEngine's Ajv-based server answers.

Every list endpoint declares its parameters; anything else is a 400 "must NOT have additional
properties" (API-FACTS 1.4). Values arrive as strings and are coerced like Ajv's `coerceTypes`;
array parameters are comma-separated (`statuses=Available,On Hold`; `statuses[]=` and repeats are
accepted too, as the qs parser would); dates must be RFC 3339 date-times with a zone. Like Ajv with
`allErrors: false`, only the first problem is reported.

Error body: `{"error": "Invalid query parameters", "details": [{"instancePath", "schemaPath",
"keyword", "params", "message"}]}`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from .state import stamp

QUERY_ERROR = "Invalid query parameters"
BODY_ERROR = "Invalid request body"

DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}(?::?\d{2})?)")
UUID = re.compile(r"(?:urn:uuid:)?[0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12}", re.IGNORECASE)
INTEGER = re.compile(r"-?\d+(?:\.0*)?")


class Invalid(Exception):
    """A 400 with RentEngine's error body."""

    def __init__(self, error: str, details: list[dict[str, Any]] | None = None, status: int = 400) -> None:
        super().__init__(error)
        self.error = error
        self.details = details or []
        self.status = status

    def body(self) -> dict[str, Any]:
        return {"error": self.error, "details": self.details}


@dataclass(frozen=True)
class Param:
    """kind: integer, string, uuid, date-time, boolean, or one of those with `[]` (comma-separated array)."""

    kind: str
    enum: tuple[str, ...] | None = None
    minimum: int | None = None
    maximum: int | None = None
    required: bool = False

    @property
    def is_array(self) -> bool:
        return self.kind.endswith("[]")

    @property
    def item_kind(self) -> str:
        return self.kind.removesuffix("[]")


def detail(path: str, keyword: str, params: dict[str, Any], message: str, schema_path: str | None = None) -> dict[str, Any]:
    name = path.split("/")[1] if path.count("/") else ""
    return {
        "instancePath": path,
        "schemaPath": schema_path or (f"#/properties/{name}/{keyword}" if name else f"#/{keyword}"),
        "keyword": keyword,
        "params": params,
        "message": message,
    }


def paging(maximum: int) -> dict[str, Param]:
    return {"limit": Param("integer", minimum=1, maximum=maximum), "page_number": Param("integer", minimum=0)}


def query_parse(query_string: str, spec: dict[str, Param]) -> dict[str, Any]:
    """The validated, coerced parameters (arrays as tuples, date-times as canonical timestamps)."""
    raw: dict[str, list[str]] = {}
    for name, value in parse_qsl(query_string, keep_blank_values=True):
        if name.endswith("[]") and name[:-2] in spec and spec[name[:-2]].is_array:
            name = name[:-2]
        raw.setdefault(name, []).append(value)
    for name, param in spec.items():
        if param.required and name not in raw:
            raise Invalid(
                QUERY_ERROR,
                [detail("", "required", {"missingProperty": name}, f"must have required property '{name}'", "#/required")],
            )
    for name in raw:
        if name not in spec:
            raise Invalid(
                QUERY_ERROR,
                [
                    detail(
                        "",
                        "additionalProperties",
                        {"additionalProperty": name},
                        "must NOT have additional properties",
                        "#/additionalProperties",
                    )
                ],
            )
    values: dict[str, Any] = {}
    for name, param in spec.items():
        if name not in raw:
            continue
        if param.is_array:
            items = [item for value in raw[name] for item in value.split(",")]
            values[name] = tuple(_coerce(f"/{name}/{n}", param, item, name) for n, item in enumerate(items))
        elif len(raw[name]) > 1:
            kind = "integer" if param.kind == "integer" else param.kind if param.kind in ("boolean",) else "string"
            raise Invalid(QUERY_ERROR, [detail(f"/{name}", "type", {"type": kind}, f"must be {kind}")])
        else:
            values[name] = _coerce(f"/{name}", param, raw[name][0], name)
    return values


def _coerce(path: str, param: Param, text: str, name: str) -> Any:
    kind = param.item_kind
    schema = f"#/properties/{name}" + ("/items" if param.is_array else "")
    if kind == "integer":
        if not INTEGER.fullmatch(text):
            raise Invalid(QUERY_ERROR, [detail(path, "type", {"type": "integer"}, "must be integer", f"{schema}/type")])
        number = int(float(text)) if "." in text else int(text)
        if param.minimum is not None and number < param.minimum:
            raise Invalid(
                QUERY_ERROR,
                [
                    detail(
                        path,
                        "minimum",
                        {"comparison": ">=", "limit": param.minimum},
                        f"must be >= {param.minimum}",
                        f"{schema}/minimum",
                    )
                ],
            )
        if param.maximum is not None and number > param.maximum:
            raise Invalid(
                QUERY_ERROR,
                [
                    detail(
                        path,
                        "maximum",
                        {"comparison": "<=", "limit": param.maximum},
                        f"must be <= {param.maximum}",
                        f"{schema}/maximum",
                    )
                ],
            )
        return number
    if kind == "boolean":
        if text not in ("true", "false"):
            raise Invalid(QUERY_ERROR, [detail(path, "type", {"type": "boolean"}, "must be boolean", f"{schema}/type")])
        return text == "true"
    if kind == "date-time":
        moment = date_time_parse(text)
        if moment is None:
            raise Invalid(
                QUERY_ERROR,
                [detail(path, "format", {"format": "date-time"}, 'must match format "date-time"', f"{schema}/format")],
            )
        return stamp(moment)
    if kind == "uuid":
        if not UUID.fullmatch(text):
            raise Invalid(
                QUERY_ERROR, [detail(path, "format", {"format": "uuid"}, 'must match format "uuid"', f"{schema}/format")]
            )
        return text.lower().removeprefix("urn:uuid:")
    if param.enum is not None and text not in param.enum:
        raise Invalid(
            QUERY_ERROR,
            [
                detail(
                    path,
                    "enum",
                    {"allowedValues": list(param.enum)},
                    "must be equal to one of the allowed values",
                    f"{schema}/enum",
                )
            ],
        )
    return text


def date_time_parse(text: str) -> datetime | None:
    if not DATE_TIME.fullmatch(text):
        return None
    try:
        return datetime.fromisoformat(text.replace("z", "Z").replace("t", "T")).astimezone(UTC)
    except (ValueError, OverflowError):  # 2024-02-30, or an offset that leaves year 1..9999
        return None
