"""One JSON Schema per RealtimeKit document: it validates request bodies and is what ``/openapi.json`` shows.

The RealtimeKit bodies are nested (a meeting's ``ai_config``, a preset's ``config``/``ui``/``permissions``),
which the flat :class:`altegon_rt.api.schema.Schema` does not express, so this module checks the subset of
JSON Schema (2020-12, as OpenAPI 3.1 uses it) that our schemas are written in: ``type`` (one or a list, with
``null``), ``properties``/``required``/``additionalProperties``, ``enum``, ``minimum``/``maximum``,
``minLength``/``maxLength``/``pattern``, ``format`` (uuid, uri, date-time), ``items``/``maxItems``,
``oneOf`` and ``default``. A failure is a :class:`BadRequest` naming the field by its dotted path, e.g.
``field 'config.media.video.quality' must be one of: hd, vga, qvga``.

Checking never mutates its input; it returns a cleaned copy: properties a schema does not list are dropped
(clients send extra keys), missing ones with a ``default`` are filled unless ``partial`` (a PATCH body).
Free-form values (a schema of ``{}``) are accepted as JSON but their keys are checked, so that nothing a
client sends can be refused by the database (keys with NUL, a leading ``$`` or a ``.``).
"""

from __future__ import annotations

import copy
import datetime as dt
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from altegon_rt.errors import BadRequest

UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
URI_SCHEMES = ("http", "https", "rtmp", "rtmps")
MAX_SAFE_INT = 2**53 - 1  # every number we store fits a double exactly; bigger ones are refused
_JSON_TYPES = {"object": dict, "array": list, "string": str, "boolean": bool}


def _label(path: str) -> str:
    return f"field '{path}'" if path else "request body"


def _bad(path: str, why: str, code: str = "invalid_field") -> BadRequest:
    return BadRequest(f"{_label(path)} {why}", code=code)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _type_matches(kind: str, value: Any) -> bool:
    if kind == "null":
        return value is None
    if kind == "integer":
        return (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, float) and value.is_integer()
        )
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(value, _JSON_TYPES[kind])


def _check_format(fmt: str, value: str, path: str) -> None:
    if fmt == "uuid" and not UUID.match(value):
        raise _bad(path, "must be a UUID")
    if fmt == "uri":
        try:
            parts = urlsplit(value)
        except ValueError:
            raise _bad(path, "must be an absolute http(s) URL") from None
        if parts.scheme.lower() not in URI_SCHEMES or not parts.netloc or any(c.isspace() for c in value):
            raise _bad(path, "must be an absolute http(s) URL")
    if fmt == "date-time":
        try:
            dt.datetime.fromisoformat(value)
        except ValueError:
            raise _bad(path, "must be an ISO 8601 date-time") from None


def _check_free(value: Any, path: str, depth: int = 0) -> Any:
    """Any JSON value; object keys must be storable."""
    if depth > 16:
        raise _bad(path, "is nested too deeply")
    if isinstance(value, dict):
        for key in value:
            if not key or "\x00" in key or key.startswith("$") or "." in key:
                raise _bad(path, f"has a key the server cannot store: {key[:40]!r}")
        return {k: _check_free(v, _join(path, k), depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_check_free(v, f"{path}[{i}]", depth + 1) for i, v in enumerate(value)]
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_SAFE_INT:
        raise _bad(path, "is too large a number")
    return value


def _check_scalar(schema: dict[str, Any], value: Any, path: str) -> Any:
    if "enum" in schema and value not in schema["enum"]:
        choices = ", ".join(str(c) for c in schema["enum"])
        raise _bad(path, f"must be one of: {choices}")
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0):
            raise _bad(path, "must not be empty" if schema.get("minLength") == 1 else "is too short")
        if len(value) > schema.get("maxLength", 10_000):
            raise _bad(path, f"is longer than {schema.get('maxLength', 10_000)} characters")
        if "pattern" in schema and not re.search(schema["pattern"], value):
            raise _bad(path, f"must match {schema['pattern']}")
        if "format" in schema:
            _check_format(schema["format"], value, path)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        low, high = schema.get("minimum", -MAX_SAFE_INT), schema.get("maximum", MAX_SAFE_INT)
        if not low <= value <= high:
            raise _bad(path, f"must be between {low} and {high}")
        if schema.get("type") == "integer":
            value = int(value)
    return value


def _check_object(schema: dict[str, Any], value: dict[str, Any], path: str, partial: bool) -> dict[str, Any]:
    properties: dict[str, Any] = schema.get("properties", {})
    out: dict[str, Any] = {}
    for name, sub in properties.items():
        here = _join(path, name)
        if name in value:
            out[name] = check(sub, value[name], here, partial=partial)
        elif not partial and "default" in sub:
            out[name] = copy.deepcopy(sub["default"])
        elif not partial and name in schema.get("required", ()):
            raise _bad(here, "is required", code="missing_field")
    extra = schema.get("additionalProperties", False)
    if extra is not False:
        for name, item in value.items():
            if name not in properties:
                out[name] = (
                    _check_free(item, _join(path, name))
                    if extra is True
                    else check(extra, item, _join(path, name), partial=partial)
                )
    return out


def check(schema: dict[str, Any], value: Any, path: str = "", *, partial: bool = False) -> Any:
    """``value`` checked against ``schema``: a cleaned copy, or BadRequest naming the field by ``path``."""
    if "oneOf" in schema:
        for option in schema["oneOf"]:
            try:
                return check(option, value, path, partial=partial)
            except BadRequest:
                continue
        raise _bad(path, schema.get("description_of_choices", "has none of the accepted shapes"))
    kinds = schema.get("type")
    if kinds is None:
        return _check_free(value, path)
    kinds = [kinds] if isinstance(kinds, str) else kinds
    if not any(_type_matches(kind, value) for kind in kinds):
        names = " or ".join("an integer" if k == "integer" else f"a {k}" for k in kinds if k != "null")
        raise _bad(path, f"must be {names}" + (" or null" if "null" in kinds else ""))
    if value is None:
        return None
    if isinstance(value, dict):
        return _check_object(schema, value, path, partial)
    if isinstance(value, list):
        if len(value) > schema.get("maxItems", 1000):
            raise _bad(path, f"has more than {schema.get('maxItems', 1000)} items")
        if len(value) < schema.get("minItems", 0):
            raise _bad(path, f"needs at least {schema['minItems']} item(s)")
        items = schema.get("items", {})
        return [check(items, item, f"{path}[{i}]", partial=partial) for i, item in enumerate(value)]
    return _check_scalar(schema, value, path)


def relaxed(schema: Any) -> Any:
    """The schema of a partial (PATCH) body: nothing required, no defaults filled."""
    if isinstance(schema, dict):
        return {k: relaxed(v) for k, v in schema.items() if k not in ("required", "default")}
    if isinstance(schema, list):
        return [relaxed(v) for v in schema]
    return schema


def deep_merge(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``patch`` laid over it, objects merged key by key (neither argument is changed)."""
    out = copy.deepcopy(base)
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


@dataclass(frozen=True, slots=True)
class Body:
    """A request body for :func:`altegon_rt.api.routing.endpoint`: a named JSON Schema that validates."""

    name: str
    schema: dict[str, Any]
    partial: bool = False

    def validate(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise BadRequest("request body must be a JSON object", code="invalid_body")
        return check(self.schema, body, partial=self.partial)  # type: ignore[no-any-return]

    def json_schema(self) -> dict[str, Any]:
        out = relaxed(self.schema) if self.partial else copy.deepcopy(self.schema)
        out.setdefault("properties", {})
        out.setdefault("required", [])
        return out  # type: ignore[no-any-return]


# -- small builders used by the schema modules ----------------------------------------------------------------
def string(description: str = "", *, max_length: int = 256, min_length: int = 0, **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "string", "maxLength": max_length, **extra}
    if min_length:
        out["minLength"] = min_length
    if description:
        out["description"] = description
    return out


def enum(values: tuple[str, ...] | list[str], description: str = "", **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "string", "enum": list(values), **extra}
    if description:
        out["description"] = description
    return out


def boolean(description: str = "", **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "boolean", **extra}
    if description:
        out["description"] = description
    return out


def integer(minimum: int, maximum: int, description: str = "", **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "integer", "minimum": minimum, "maximum": maximum, **extra}
    if description:
        out["description"] = description
    return out


def obj(properties: dict[str, Any], required: tuple[str, ...] = (), description: str = "", **extra: Any) -> dict:
    out: dict[str, Any] = {"type": "object", "properties": properties, **extra}
    if required:
        out["required"] = list(required)
    if description:
        out["description"] = description
    return out


UUID_STRING = {"type": "string", "format": "uuid"}
DATE_TIME = {"type": "string", "format": "date-time"}


def envelope(data: dict[str, Any], *, paged: bool = False) -> dict[str, Any]:
    """The answer schema ``{success, data}`` (and ``paging`` for lists)."""
    properties: dict[str, Any] = {"success": {"type": "boolean"}, "data": data}
    required = ["success", "data"]
    if paged:
        properties["paging"] = PAGING
        required.append("paging")
    return {"type": "object", "required": required, "properties": properties}


PAGING = obj(
    {
        "start_offset": {"type": "integer", "minimum": 0},
        "end_offset": {"type": "integer", "minimum": 0},
        "total_count": {"type": "integer", "minimum": 0},
    },
    ("start_offset", "end_offset", "total_count"),
)
