"""The shapes of RTP capabilities and parameters (mediasoup's JSON, camelCase keys): validation as pure functions.

Each validator returns a normalised copy and never fills defaults into the caller's dict; a malformed field
is an :class:`InvalidRtpParameters` naming it (``missing codecs[0].clockRate``). Lists and maps a peer sends are
capped. The negotiation that uses these shapes is in ``ortc``.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any


class UnsupportedError(Exception):
    """Negotiation failed: a codec or capability the other side needs is not available (mediasoup's name)."""


class InvalidRtpParameters(ValueError):
    """RTP capabilities or parameters have the wrong shape; the message names the offending field."""


RtpCapabilities = dict[str, Any]
RtpParameters = dict[str, Any]
RtpMapping = dict[str, Any]

# Bounds on what a peer may send us; real browsers stay far below them.
MAX_CODECS = 64
MAX_HEADER_EXTENSIONS = 64
MAX_ENCODINGS = 16
MAX_RTCP_FEEDBACK = 32
MAX_PARAMETERS = 32

_DIRECTIONS = frozenset({"sendrecv", "sendonly", "recvonly", "inactive"})
_MIME_TYPE = re.compile(r"^(audio|video)/(.+)$", re.IGNORECASE)
SCALABILITY_MODE = re.compile(r"^[LS]([1-9][0-9]?)T([1-9][0-9]?)")


def _is_int(value: object) -> bool:
    # bool is an int in Python but never a valid number on this wire.
    return isinstance(value, int) and not isinstance(value, bool)


def _int(obj: Mapping[str, Any], key: str, path: str, lo: int, hi: int, *, required: bool) -> int | None:
    value = obj.get(key)
    if value is None:
        if required:
            raise InvalidRtpParameters(f"missing {path}.{key}")
        return None
    if not _is_int(value) or not lo <= value <= hi:
        raise InvalidRtpParameters(f"invalid {path}.{key}: {value!r} (expected an integer in {lo}..{hi})")
    return value


def _str(obj: Mapping[str, Any], key: str, path: str, *, required: bool) -> str | None:
    value = obj.get(key)
    if value is None:
        if required:
            raise InvalidRtpParameters(f"missing {path}.{key}")
        return None
    if not isinstance(value, str) or (required and not value):
        raise InvalidRtpParameters(f"invalid {path}.{key}: {value!r} (expected a string)")
    return value


def _bool(obj: Mapping[str, Any], key: str, path: str, default: bool) -> bool:
    value = obj.get(key)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise InvalidRtpParameters(f"invalid {path}.{key}: {value!r} (expected a boolean)")
    return value


def _object(value: object, path: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidRtpParameters(f"{path} is not an object")
    return value


def _list(obj: Mapping[str, Any], key: str, path: str, limit: int, *, required: bool = False) -> list[Any]:
    value = obj.get(key)
    if value is None:
        if required:
            raise InvalidRtpParameters(f"missing {path}.{key}")
        return []
    if not isinstance(value, list):
        raise InvalidRtpParameters(f"{path}.{key} is not an array")
    if len(value) > limit:
        raise InvalidRtpParameters(f"too many {path}.{key}: {len(value)} (at most {limit})")
    return value


def _parameters(obj: Mapping[str, Any], path: str) -> dict[str, Any]:
    raw = obj.get("parameters")
    if raw is None:
        return {}
    raw = _object(raw, f"{path}.parameters")
    if len(raw) > MAX_PARAMETERS:
        raise InvalidRtpParameters(f"too many {path}.parameters: {len(raw)} (at most {MAX_PARAMETERS})")
    out: dict[str, Any] = {}
    for key, value in raw.items():
        value = "" if value is None else value  # an fmtp flag without a value
        if not (isinstance(value, str | float) or _is_int(value)):
            raise InvalidRtpParameters(f"invalid {path}.parameters.{key}: {value!r} (expected a string or number)")
        if key == "apt" and not _is_int(value):
            raise InvalidRtpParameters(f"invalid {path}.parameters.apt: {value!r} (expected an integer)")
        out[str(key)] = value
    return out


def _rtcp_feedback(obj: Mapping[str, Any], path: str) -> list[dict[str, str]]:
    out = []
    for i, raw in enumerate(_list(obj, "rtcpFeedback", path, MAX_RTCP_FEEDBACK)):
        fb = _object(raw, f"{path}.rtcpFeedback[{i}]")
        fb_type = _str(fb, "type", f"{path}.rtcpFeedback[{i}]", required=True)
        parameter = _str(fb, "parameter", f"{path}.rtcpFeedback[{i}]", required=False) or ""
        out.append({"type": fb_type, "parameter": parameter})
    return out


def parse_codec(raw: object, path: str, *, capability: bool) -> dict[str, Any]:
    """A codec capability (``preferredPayloadType``, ``kind``) or codec parameters (``payloadType``)."""
    obj = _object(raw, path)
    mime_type = _str(obj, "mimeType", path, required=True)
    match = _MIME_TYPE.match(mime_type or "")
    if match is None:
        raise InvalidRtpParameters(f"invalid {path}.mimeType: {mime_type!r} (expected audio/... or video/...)")
    kind = match.group(1).lower()  # the mimeType decides the kind, whatever "kind" says (as mediasoup)
    out: dict[str, Any] = {"kind": kind, "mimeType": mime_type} if capability else {"mimeType": mime_type}
    if capability:
        pt = _int(obj, "preferredPayloadType", path, 0, 127, required=False)
        if pt is not None:
            out["preferredPayloadType"] = pt
    else:
        out["payloadType"] = _int(obj, "payloadType", path, 0, 127, required=True)
    out["clockRate"] = _int(obj, "clockRate", path, 1, 2**32 - 1, required=True)
    if kind == "audio":  # channels mean nothing for video; audio defaults to mono
        out["channels"] = _int(obj, "channels", path, 1, 255, required=False) or 1
    out["parameters"] = _parameters(obj, path)
    out["rtcpFeedback"] = _rtcp_feedback(obj, path)
    return out


def _capability_extension(raw: object, path: str) -> dict[str, Any]:
    obj = _object(raw, path)
    kind = obj.get("kind")
    if kind not in ("audio", "video"):
        raise InvalidRtpParameters(f"invalid {path}.kind: {kind!r} (expected 'audio' or 'video')")
    direction = _str(obj, "direction", path, required=False) or "sendrecv"
    if direction not in _DIRECTIONS:
        raise InvalidRtpParameters(f"invalid {path}.direction: {direction!r}")
    return {
        "kind": kind,
        "uri": _str(obj, "uri", path, required=True),
        "preferredId": _int(obj, "preferredId", path, 1, 255, required=True),
        "preferredEncrypt": _bool(obj, "preferredEncrypt", path, False),
        "direction": direction,
    }


def validate_rtp_capabilities(caps: object) -> RtpCapabilities:
    """Checks RTP capabilities and returns a normalised copy (defaults filled in); ``caps`` is not touched.

    Raises:
        InvalidRtpParameters: naming the first field that is missing or of the wrong type.
    """
    obj = _object(caps, "caps")
    return {
        "codecs": [
            parse_codec(c, f"codecs[{i}]", capability=True)
            for i, c in enumerate(_list(obj, "codecs", "caps", MAX_CODECS))
        ],
        "headerExtensions": [
            _capability_extension(e, f"headerExtensions[{i}]")
            for i, e in enumerate(_list(obj, "headerExtensions", "caps", MAX_HEADER_EXTENSIONS))
        ],
    }


def _extension_parameters(raw: object, path: str) -> dict[str, Any]:
    obj = _object(raw, path)
    return {
        "uri": _str(obj, "uri", path, required=True),
        "id": _int(obj, "id", path, 1, 255, required=True),
        "encrypt": _bool(obj, "encrypt", path, False),
        "parameters": _parameters(obj, path),
    }


def _encoding(raw: object, path: str) -> dict[str, Any]:
    obj = _object(raw, path)
    out = copy.deepcopy(dict(obj))  # keep what we do not interpret (maxBitrate, active, ...) for the worker
    for key in ("ssrc", "codecPayloadType"):
        if obj.get(key) is None:
            out.pop(key, None)
    _int(obj, "ssrc", path, 0, 2**32 - 1, required=False)
    _int(obj, "codecPayloadType", path, 0, 127, required=False)
    for key in ("rid", "scalabilityMode"):
        if _str(obj, key, path, required=False) is None:
            out.pop(key, None)
    if obj.get("rtx") is not None:
        _int(_object(obj["rtx"], f"{path}.rtx"), "ssrc", f"{path}.rtx", 0, 2**32 - 1, required=True)
        out["rtx"] = {"ssrc": obj["rtx"]["ssrc"]}
    else:
        out.pop("rtx", None)
    out["dtx"] = _bool(obj, "dtx", path, False)
    return out


def validate_rtp_parameters(params: object) -> RtpParameters:
    """Checks RTP parameters and returns a normalised copy (defaults filled in); ``params`` is not touched.

    Raises:
        InvalidRtpParameters: naming the first field that is missing or of the wrong type.
    """
    obj = _object(params, "params")
    out: RtpParameters = {}
    mid = _str(obj, "mid", "params", required=False)
    if mid is not None:
        out["mid"] = mid
    codecs = _list(obj, "codecs", "params", MAX_CODECS, required=True)
    out["codecs"] = [parse_codec(c, f"codecs[{i}]", capability=False) for i, c in enumerate(codecs)]
    seen: set[int] = set()
    for codec in out["codecs"]:
        if codec["payloadType"] in seen:
            raise InvalidRtpParameters(f"duplicate codecs payloadType {codec['payloadType']}")
        seen.add(codec["payloadType"])
    extensions = _list(obj, "headerExtensions", "params", MAX_HEADER_EXTENSIONS)
    out["headerExtensions"] = [_extension_parameters(e, f"headerExtensions[{i}]") for i, e in enumerate(extensions)]
    encodings = _list(obj, "encodings", "params", MAX_ENCODINGS)
    out["encodings"] = [_encoding(e, f"encodings[{i}]") for i, e in enumerate(encodings)]
    rtcp = _object(obj.get("rtcp") or {}, "rtcp")
    out["rtcp"] = copy.deepcopy({k: v for k, v in rtcp.items() if v is not None})  # keeps "mux" and the like
    _str(rtcp, "cname", "rtcp", required=False)
    out["rtcp"]["reducedSize"] = _bool(rtcp, "reducedSize", "rtcp", True)
    return out
