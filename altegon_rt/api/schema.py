"""Request schemas: one declaration both validates input and describes it in OpenAPI (JSON Schema).

A failed check raises :class:`BadRequest` whose message names the field, e.g. ``field 'email' is
required``. Validation never trusts types from JSON: ``True`` is not an integer, strings are length-capped.
"""

from __future__ import annotations

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
