"""Reading fields out of socket event payloads: one clear :class:`SocketError` for anything malformed."""

from __future__ import annotations

import re
from typing import Any

from altegon_rt.sio.server import SocketError

_OBJECT_ID = re.compile(r"^[0-9a-f]{24}$")


def payload_object(payload: Any) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise SocketError("invalid_payload", "the payload must be a JSON object")
    return payload


def text(payload: dict[str, Any], name: str, *, max_length: int, required: bool = True) -> str | None:
    value = payload.get(name)
    if value is None or value == "":
        if required:
            raise SocketError("invalid_field", f"field {name!r} is required")
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)  # ids and device ids sometimes arrive as numbers
    if not isinstance(value, str):
        raise SocketError("invalid_field", f"field {name!r} must be a string")
    if len(value) > max_length:
        raise SocketError("invalid_field", f"field {name!r} is longer than {max_length} characters")
    if any(ord(c) < 0x20 and c not in "\t\n\r" for c in value):
        raise SocketError("invalid_field", f"field {name!r} contains control characters")
    return value


def required_text(payload: dict[str, Any], name: str, *, max_length: int) -> str:
    value = text(payload, name, max_length=max_length)
    assert value is not None  # required=True raised otherwise
    return value


def object_id(payload: dict[str, Any], name: str) -> str:
    value = required_text(payload, name, max_length=24)
    if not _OBJECT_ID.match(value):
        raise SocketError("invalid_field", f"field {name!r} must be a 24-character hex id")
    return value


def boolean(payload: dict[str, Any], name: str, *, default: bool = False) -> bool:
    value = payload.get(name, default)
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    raise SocketError("invalid_field", f"field {name!r} must be true or false")


def number(payload: dict[str, Any], name: str) -> float | None:
    value = payload.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SocketError("invalid_field", f"field {name!r} must be a number")
    return value
