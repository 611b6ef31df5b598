"""Request schemas: one declaration both validates input and describes it in OpenAPI (JSON Schema).

A failed check raises :class:`BadRequest` whose message names the field, e.g. ``field 'email' is
required``. Validation never trusts types from JSON: ``True`` is not an integer, strings are length-capped.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from altegon_rt.errors import BadRequest

OBJECT_ID = re.compile(r"^[0-9a-fA-F]{24}$")
EMAIL = re.compile(r"^[^@\s\x00-\x1f]{1,64}@[^@\s\x00-\x1f.]+(\.[^@\s\x00-\x1f.]+)+$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

KINDS = ("string", "email", "objectid", "boolean", "integer", "number", "id")


@dataclass(frozen=True, slots=True)
class Field:
    """One field of a body or a path parameter."""

    name: str
    kind: str
    required: bool = True
    description: str = ""
    max_length: int = 256
    min_length: int = 0
    minimum: float | None = None
    maximum: float | None = None
    example: Any = None
    aliases: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        assert self.kind in KINDS, self.kind

    def check(self, value: Any) -> Any:
        """The cleaned value, or BadRequest naming this field."""
        name = self.name
        if self.kind in ("string", "email", "objectid", "id"):
            return self._check_text(value)
        if self.kind == "boolean":
            if not isinstance(value, bool):
                raise BadRequest(f"field '{name}' must be a boolean", code="invalid_field")
            return value
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise BadRequest(f"field '{name}' must be a number", code="invalid_field")
        if self.kind == "integer":
            if isinstance(value, float) and not value.is_integer():
                raise BadRequest(f"field '{name}' must be an integer", code="invalid_field")
            value = int(value)
        if (self.minimum is not None and value < self.minimum) or (self.maximum is not None and value > self.maximum):
            raise BadRequest(f"field '{name}' must be between {self.minimum} and {self.maximum}", code="invalid_field")
        return value

    def _check_text(self, value: Any) -> str:
        name = self.name
        if self.kind == "id" and isinstance(value, int) and not isinstance(value, bool):
            value = str(value)  # documented samples send some ids as JSON numbers
        if not isinstance(value, str):
            raise BadRequest(f"field '{name}' must be a string", code="invalid_field")
        value = value.strip()
        if len(value) < max(self.min_length, 1 if self.required else 0):
            raise BadRequest(f"field '{name}' must not be empty", code="invalid_field")
        if len(value) > self.max_length:
            raise BadRequest(f"field '{name}' is longer than {self.max_length} characters", code="invalid_field")
        if _CONTROL.search(value):
            raise BadRequest(f"field '{name}' contains control characters", code="invalid_field")
        if self.kind == "email":
            if not EMAIL.match(value):
                raise BadRequest(f"field '{name}' is not a valid e-mail address", code="invalid_field")
            return value.lower()
        if self.kind == "objectid" and not OBJECT_ID.match(value):
            raise BadRequest(f"field '{name}' must be a 24-character hex id", code="invalid_field")
        return value.lower() if self.kind == "objectid" else value

    def json_schema(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.kind in ("string", "email", "objectid", "id"):
            out["type"] = "string"
            out["maxLength"] = self.max_length
            if self.min_length:
                out["minLength"] = self.min_length
            if self.kind == "email":
                out["format"] = "email"
            if self.kind == "objectid":
                out["pattern"] = OBJECT_ID.pattern
        else:
            out["type"] = self.kind
            if self.minimum is not None:
                out["minimum"] = self.minimum
            if self.maximum is not None:
                out["maximum"] = self.maximum
        if self.description:
            out["description"] = self.description
        if self.example is not None:
            out["example"] = self.example
        return out


@dataclass(frozen=True, slots=True)
class Schema:
    """A JSON object body: named fields; unknown fields are ignored (clients send extra keys)."""

    name: str
    fields: tuple[Field, ...] = field(default_factory=tuple)

    def validate(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise BadRequest("request body must be a JSON object", code="invalid_body")
        out: dict[str, Any] = {}
        for f in self.fields:
            present = next((k for k in (f.name, *f.aliases) if k in body and body[k] is not None), None)
            if present is None:
                if f.required:
                    raise BadRequest(f"field '{f.name}' is required", code="missing_field")
                continue
            out[f.name] = f.check(body[present])
        return out

    def json_schema(self) -> dict[str, Any]:
        return {
            "type": "object",
            "properties": {f.name: f.json_schema() for f in self.fields},
            "required": [f.name for f in self.fields if f.required],
        }


EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
MAX_EPOCH_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z, the last instant a datetime holds
MAX_DATE_TEXT = 64
_DATE_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _bad_date(name: str, why: str = "") -> BadRequest:
    detail = why or "must be a date: epoch milliseconds (a number) or an ISO-8601 string"
    return BadRequest(f"field '{name}' {detail}", code="invalid_field")


def parse_date(name: str, value: Any) -> dt.datetime:
    """A UTC datetime (millisecond precision) from epoch milliseconds or ISO-8601; BadRequest naming ``name``.

    ISO strings without an offset are taken as UTC. Dates before 1970 are refused: nothing we store is that old.
    """
    if isinstance(value, bool):
        raise _bad_date(name)
    if isinstance(value, int | float):
        if not 0 <= value <= MAX_EPOCH_MS:
            raise _bad_date(name, "is out of range (epoch milliseconds from 1970 to 9999)")
        return EPOCH + dt.timedelta(milliseconds=int(value))
    if not isinstance(value, str):
        raise _bad_date(name)
    text = value.strip()
    if not text or len(text) > MAX_DATE_TEXT or _DATE_CONTROL.search(text):
        raise _bad_date(name)
    try:
        parsed = dt.datetime.fromisoformat(text)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=dt.UTC)
        parsed = parsed.astimezone(dt.UTC)
    except (ValueError, OverflowError):
        raise _bad_date(name) from None
    if parsed < EPOCH:
        raise _bad_date(name, "is out of range (before 1970)")
    return parsed.replace(microsecond=parsed.microsecond // 1000 * 1000)


_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_SPACED_OFFSET = re.compile(r" (\d{2}(:?\d{2})?)$")


def parse_query_date(name: str, text: str, *, end_of_day: bool = False) -> dt.datetime | None:
    """A date from a query string: None when empty, else as :func:`parse_date`; digits alone are epoch ms.

    An unencoded ``+hh:mm`` offset arrives as a space, and is read as the ``+`` it was. With ``end_of_day``,
    a bare ``YYYY-MM-DD`` means the last millisecond of that day (so an end date includes its day).
    """
    text = text.strip()
    if not text:
        return None
    if text.isascii() and text.isdigit():
        return parse_date(name, int(text) if len(text) <= 16 else -1)
    text = _SPACED_OFFSET.sub(r"+\1", text)
    parsed = parse_date(name, text)
    if end_of_day and _DATE_ONLY.match(text):
        parsed = parsed.replace(hour=23, minute=59, second=59, microsecond=999_000)
    return parsed


class DateField(Field):
    """A date field: validated by :func:`parse_date`, described as a number or a date-time string."""

    __slots__ = ()

    def check(self, value: Any) -> dt.datetime:
        return parse_date(self.name, value)

    def json_schema(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "oneOf": [
                {"type": "integer", "minimum": 0, "maximum": MAX_EPOCH_MS, "description": "epoch milliseconds"},
                {"type": "string", "format": "date-time", "maxLength": MAX_DATE_TEXT},
            ]
        }
        if self.description:
            out["description"] = self.description
        if self.example is not None:
            out["example"] = self.example
        return out
