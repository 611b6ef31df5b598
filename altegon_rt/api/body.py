"""Reading a JSON request body the way clients actually send it.

Strict JSON first. If that fails, one forgiving pass: the platform's own documentation shows bodies with
a trailing comma before ``}``, and people paste those samples into curl, so commas directly before a
closing bracket (outside strings) are dropped and the text parsed again. Keys are stripped of surrounding
whitespace (the documents spell one key ``" endTime"``). Anything else malformed is a 400.
"""

from __future__ import annotations

import json
from typing import Any

from altegon_rt.errors import BadRequest

MAX_DEPTH = 32


def _drop_trailing_commas(text: str) -> str:
    out: list[str] = []
    in_string = escaped = False
    pending_comma = -1  # index in ``out`` of a comma that follows a value and may precede a closing bracket
    previous = ""  # the last character outside whitespace
    for ch in text:
        if in_string:
            out.append(ch)
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
            continue
        if ch in "}]" and pending_comma >= 0:
            del out[pending_comma]
        if ch == ",":
            # Only a comma after a value is a trailing comma: "{,}" and "[1,,]" stay malformed.
            pending_comma = len(out) if previous and previous not in "{[,:" else -1
        elif not ch.isspace():
            pending_comma = -1
        if not ch.isspace():
            previous = ch
        if ch == '"':
            in_string = True
        out.append(ch)
    return "".join(out)


def _strip_keys(value: Any, depth: int = 0) -> Any:
    if depth > MAX_DEPTH:
        raise BadRequest("request body is nested too deeply", code="invalid_json")
    if isinstance(value, dict):
        return {k.strip(): _strip_keys(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_strip_keys(v, depth + 1) for v in value]
    return value


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_json_body(raw: bytes) -> Any:
    """The decoded body, or BadRequest with a message a client developer can act on."""
    if not raw.strip():
        raise BadRequest("request body is empty; send a JSON object", code="invalid_json")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("request body is not UTF-8", code="invalid_json") from None
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        try:
            value = json.loads(_drop_trailing_commas(text), parse_constant=_reject_constant)
        except ValueError as exc:
            raise BadRequest(f"request body is not valid JSON: {exc}", code="invalid_json") from None
        except RecursionError:
            raise BadRequest("request body is nested too deeply", code="invalid_json") from None
    return _strip_keys(value)
