"""ORTC negotiation the way mediasoup does it: capabilities, parameters, and the producer → consumer mapping.

Everything here is a pure function over dicts in mediasoup's JSON shapes (camelCase keys, as on the wire),
so mediasoup-client's ``Device`` accepts our router capabilities and our consumer parameters unchanged.
Unlike mediasoup's validators, ours never fill defaults into the caller's dict: they return a normalised
copy, and every other function works on copies too. Randomness (fresh SSRCs) comes from a callable the
caller may replace, so tests can be deterministic.

References: RFC 3264 (offer/answer), RFC 4588 (RTX), RFC 6184 (H264 fmtp), draft-ietf-payload-vp9 (VP9).
"""

from __future__ import annotations

import copy
import secrets
from collections.abc import Callable, Mapping
from typing import Any

from altegon_rt.rtc import h264_profile
from altegon_rt.rtc.rtp_parameters import SCALABILITY_MODE as _SCALABILITY_MODE
from altegon_rt.rtc.rtp_parameters import (
    InvalidRtpParameters,
    RtpCapabilities,
    RtpMapping,
    RtpParameters,
    UnsupportedError,
    parse_codec,
    validate_rtp_capabilities,
    validate_rtp_parameters,
)

# Dynamic payload types (RFC 3551 §3) handed out in order, as mediasoup does, so routers are predictable.
DYNAMIC_PAYLOAD_TYPES: tuple[int, ...] = tuple(range(96, 128))

URI_MID = "urn:ietf:params:rtp-hdrext:sdes:mid"
URI_RID = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id"
URI_RRID = "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id"
URI_ABS_SEND_TIME = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
URI_TRANSPORT_CC = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"
URI_AUDIO_LEVEL = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"
URI_VIDEO_ORIENTATION = "urn:3gpp:video-orientation"
URI_TOFFSET = "urn:ietf:params:rtp-hdrext:toffset"


def _video_feedback() -> list[dict[str, str]]:
    return [
        {"type": "nack", "parameter": ""},
        {"type": "nack", "parameter": "pli"},
        {"type": "ccm", "parameter": "fir"},
        {"type": "goog-remb", "parameter": ""},
        {"type": "transport-cc", "parameter": ""},
    ]


def _video_codec(mime_type: str, parameters: dict[str, Any]) -> dict[str, Any]:
    return {
        "kind": "video",
        "mimeType": mime_type,
        "clockRate": 90000,
        "parameters": parameters,
        "rtcpFeedback": _video_feedback(),
    }


def _ext(kind: str, uri: str, preferred_id: int, direction: str) -> dict[str, Any]:
    return {"kind": kind, "uri": uri, "preferredId": preferred_id, "preferredEncrypt": False, "direction": direction}


# What the SFU can forward. H264 is limited to packetization-mode 1 in Constrained Baseline and Main: what
# every browser sends and decodes in hardware. The recvonly entries are ones we read from producers but never
# write towards consumers (simulcast RIDs; transport-cc on audio, where browsers only send it).
SUPPORTED_RTP_CAPABILITIES: RtpCapabilities = {
    "codecs": [
        {
            "kind": "audio",
            "mimeType": "audio/opus",
            "clockRate": 48000,
            "channels": 2,
            "parameters": {},
            "rtcpFeedback": [{"type": "nack", "parameter": ""}, {"type": "transport-cc", "parameter": ""}],
        },
        _video_codec("video/VP8", {}),
        _video_codec("video/VP9", {}),
        _video_codec(
            "video/H264", {"level-asymmetry-allowed": 1, "packetization-mode": 1, "profile-level-id": "42e01f"}
        ),
        _video_codec(
            "video/H264", {"level-asymmetry-allowed": 1, "packetization-mode": 1, "profile-level-id": "4d001f"}
        ),
    ],
    "headerExtensions": [
        _ext("audio", URI_MID, 1, "sendrecv"),
        _ext("video", URI_MID, 1, "sendrecv"),
        _ext("video", URI_RID, 2, "recvonly"),
        _ext("video", URI_RRID, 3, "recvonly"),
        _ext("audio", URI_ABS_SEND_TIME, 4, "sendrecv"),
        _ext("video", URI_ABS_SEND_TIME, 4, "sendrecv"),
        _ext("audio", URI_TRANSPORT_CC, 5, "recvonly"),
        _ext("video", URI_TRANSPORT_CC, 5, "sendrecv"),
        _ext("audio", URI_AUDIO_LEVEL, 10, "sendrecv"),
        _ext("video", URI_VIDEO_ORIENTATION, 11, "sendrecv"),
        _ext("video", URI_TOFFSET, 12, "sendrecv"),
    ],
}


def random_ssrc() -> int:
    """A random SSRC in mediasoup's range (nine digits, so ``ssrc + n`` stays far from 2**32)."""
    return 100_000_000 + secrets.randbelow(900_000_000)


# --------------------------------------------------------------------------------------------- negotiation


def is_rtx(codec: Mapping[str, Any]) -> bool:
    return str(codec["mimeType"]).lower().endswith("/rtx")


def _same_base(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    return (
        a["mimeType"].lower() == b["mimeType"].lower()
        and a["clockRate"] == b["clockRate"]
        and a.get("channels") == b.get("channels")
    )


def _match_codecs(a: Mapping[str, Any], b: Mapping[str, Any], *, strict: bool) -> bool:
    """Whether codec ``a`` can be carried as ``b``; ``strict`` adds the fmtp checks a real stream needs."""
    if not _same_base(a, b):
        return False
    mime = a["mimeType"].lower()
    pa, pb = a["parameters"], b["parameters"]
    if mime == "video/h264" and strict:
        if pa.get("packetization-mode", 0) != pb.get("packetization-mode", 0):
            return False
        if not h264_profile.is_same_profile(pa, pb):
            return False
        try:
            h264_profile.answer_profile_level_id(pa, pb)
        except ValueError:
            return False
    # VP9 profiles 0 and 2 are different bitstreams (8 vs 10 bit), not levels of one.
    return not (mime == "video/vp9" and strict and pa.get("profile-id", 0) != pb.get("profile-id", 0))


def _matches_supported(media_codec: Mapping[str, Any], supported: Mapping[str, Any]) -> bool:
    # A router codec may leave H264 fmtp out (the supported entry then fills it in); what it does say
    # must agree with the entry, so "profile-level-id 640032" is refused rather than silently relabelled.
    if not _same_base(media_codec, supported):
        return False
    params, sparams = media_codec["parameters"], supported["parameters"]
    if media_codec["mimeType"].lower() == "video/h264":
        if params.get("packetization-mode", 1) != sparams["packetization-mode"]:
            return False
        if "profile-level-id" in params and not h264_profile.is_same_profile(params, sparams):
            return False
    return True


def router_rtp_capabilities(media_codecs: list[Any]) -> RtpCapabilities:
    """The router's RTP capabilities for its configured ``media_codecs`` (mediasoup's ``mediaCodecs``).

    Each codec gets a unique ``preferredPayloadType`` (its own if given, else the next free dynamic one),
    its parameters merged over the supported entry's, and every video codec an ``video/rtx`` (RFC 4588).

    Raises:
        InvalidRtpParameters: a codec is malformed or two codecs claim the same payload type.
        UnsupportedError: a codec is not one we can forward.
    """
    if not isinstance(media_codecs, list):
        raise InvalidRtpParameters("mediaCodecs is not an array")
    codecs = [parse_codec(c, f"mediaCodecs[{i}]", capability=True) for i, c in enumerate(media_codecs)]
    supported = SUPPORTED_RTP_CAPABILITIES["codecs"]
    claimed = {c["preferredPayloadType"] for c in codecs if "preferredPayloadType" in c}
    free = [pt for pt in DYNAMIC_PAYLOAD_TYPES if pt not in claimed]
    out: list[dict[str, Any]] = []

    def take() -> int:
        if not free:
            raise UnsupportedError("cannot allocate more dynamic codec payload types")
        return free.pop(0)

    for media_codec in codecs:
        match = next((s for s in supported if _matches_supported(media_codec, s)), None)
        if match is None:
            raise UnsupportedError(f"media codec not supported [mimeType:{media_codec['mimeType']}]")
        codec = copy.deepcopy(match)
        pt = media_codec.get("preferredPayloadType")
        codec["preferredPayloadType"] = take() if pt is None else pt
        if any(c["preferredPayloadType"] == codec["preferredPayloadType"] for c in out):
            raise InvalidRtpParameters(f"duplicated preferredPayloadType {codec['preferredPayloadType']}")
        codec["parameters"] = {**codec["parameters"], **media_codec["parameters"]}
        out.append(codec)
        if codec["kind"] == "video":
            out.append(
                {
                    "kind": "video",
                    "mimeType": "video/rtx",
                    "preferredPayloadType": take(),
                    "clockRate": codec["clockRate"],
                    "parameters": {"apt": codec["preferredPayloadType"]},
                    "rtcpFeedback": [],
                }
            )
    return {"codecs": out, "headerExtensions": copy.deepcopy(SUPPORTED_RTP_CAPABILITIES["headerExtensions"])}


def _router_codec_for(codec: Mapping[str, Any], router_caps: RtpCapabilities) -> dict[str, Any]:
    for cap in router_caps["codecs"]:
        if not is_rtx(cap) and _match_codecs(codec, cap, strict=True):
            return cap
    raise UnsupportedError(f"unsupported codec [mimeType:{codec['mimeType']}, payloadType:{codec['payloadType']}]")


def _router_rtx_for(router_caps: RtpCapabilities, payload_type: int) -> dict[str, Any] | None:
    return next((c for c in router_caps["codecs"] if is_rtx(c) and c["parameters"].get("apt") == payload_type), None)


def _codec_pairs(params: RtpParameters, router_caps: RtpCapabilities) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(producer codec, router codec) for every producer codec: media codecs first, then their RTX."""
    pairs = [(c, _router_codec_for(c, router_caps)) for c in params["codecs"] if not is_rtx(c)]
    by_pt = {c["payloadType"]: cap for c, cap in pairs}
    for codec in params["codecs"]:
        if not is_rtx(codec):
            continue
        apt = codec["parameters"].get("apt")
        if apt not in by_pt:
            raise InvalidRtpParameters(f"missing media codec for RTX payloadType {codec['payloadType']} (apt {apt})")
        router_pt = by_pt[apt]["preferredPayloadType"]
        rtx = _router_rtx_for(router_caps, router_pt)
        if rtx is None:
            raise UnsupportedError(f"no RTX codec for capability codec PT {router_pt}")
        pairs.append((codec, rtx))
    return pairs


def producer_rtp_mapping(
    params: object, router_caps: RtpCapabilities, *, new_ssrc: Callable[[], int] = random_ssrc
) -> RtpMapping:
    """How a producer's payload types and streams map onto the router's (mediasoup's ``RtpMapping``).

    Returns ``{"codecs": [{"payloadType", "mappedPayloadType"}], "encodings": [{"ssrc"?, "rid"?,
    "scalabilityMode"?, "mappedSsrc"}]}``; mapped SSRCs are consecutive from ``new_ssrc()``.

    Raises:
        InvalidRtpParameters: ``params`` is malformed.
        UnsupportedError: a producer codec (or its RTX) has no counterpart in the router.
    """
    checked = validate_rtp_parameters(params)
    pairs = _codec_pairs(checked, router_caps)
    codecs = [{"payloadType": c["payloadType"], "mappedPayloadType": cap["preferredPayloadType"]} for c, cap in pairs]
    first = new_ssrc()
    encodings = []
    for i, encoding in enumerate(checked["encodings"]):
        mapped = {key: encoding[key] for key in ("rid", "ssrc", "scalabilityMode") if key in encoding}
        mapped["mappedSsrc"] = first + i
        encodings.append(mapped)
    return {"codecs": codecs, "encodings": encodings}


def _producer_codec_parameters(codec: Mapping[str, Any], cap: Mapping[str, Any]) -> dict[str, Any]:
    # Consumers see the producer's fmtp, but an H264 level is the answer the router would give (RFC 6184).
    parameters = copy.deepcopy(dict(codec["parameters"]))
    if codec["mimeType"].lower() == "video/h264":
        answer = h264_profile.answer_profile_level_id(codec["parameters"], cap["parameters"])
        if answer is None:
            parameters.pop("profile-level-id", None)
        else:
            parameters["profile-level-id"] = answer
    return parameters


def consumable_rtp_parameters(
    kind: str, params: object, router_caps: RtpCapabilities, mapping: RtpMapping
) -> RtpParameters:
    """The producer's stream as every consumer of this router may receive it: router payload types,
    the header extensions the router sends for ``kind``, encodings on their mapped SSRCs.

    Raises:
        InvalidRtpParameters: ``params`` is malformed or ``mapping`` does not belong to it.
    """
    checked = validate_rtp_parameters(params)
    codecs: list[dict[str, Any]] = []
    for codec, cap in _codec_pairs(checked, router_caps):
        if is_rtx(codec):
            continue
        codecs.append(
            {
                "mimeType": cap["mimeType"],
                "payloadType": cap["preferredPayloadType"],
                "clockRate": cap["clockRate"],
                **({"channels": cap["channels"]} if "channels" in cap else {}),
                "parameters": _producer_codec_parameters(codec, cap),
                "rtcpFeedback": copy.deepcopy(cap["rtcpFeedback"]),
            }
        )
        rtx = _router_rtx_for(router_caps, cap["preferredPayloadType"])
        if rtx is not None:
            codecs.append(
                {
                    "mimeType": rtx["mimeType"],
                    "payloadType": rtx["preferredPayloadType"],
                    "clockRate": rtx["clockRate"],
                    "parameters": copy.deepcopy(rtx["parameters"]),
                    "rtcpFeedback": copy.deepcopy(rtx["rtcpFeedback"]),
                }
            )
    extensions = [
        {"uri": ext["uri"], "id": ext["preferredId"], "encrypt": ext["preferredEncrypt"], "parameters": {}}
        for ext in router_caps["headerExtensions"]
        if ext["kind"] == kind and ext["direction"] in ("sendrecv", "sendonly")
    ]
    if len(mapping["encodings"]) != len(checked["encodings"]):
        raise InvalidRtpParameters("mapping.encodings does not match params.encodings")
    encodings = []
    for encoding, mapped in zip(checked["encodings"], mapping["encodings"], strict=True):
        # RIDs, RTX and the codec pin are the producer's business; consumers only see the mapped stream.
        out = {k: v for k, v in encoding.items() if k not in ("rid", "rtx", "codecPayloadType")}
        out["ssrc"] = mapped["mappedSsrc"]
        encodings.append(out)
    rtcp = (
        {"cname": checked["rtcp"]["cname"], "reducedSize": True}
        if "cname" in checked["rtcp"]
        else {"reducedSize": True}
    )
    return {"codecs": codecs, "headerExtensions": extensions, "encodings": encodings, "rtcp": rtcp}


def can_consume(consumable: RtpParameters, caps: object) -> bool:
    """Whether a device with ``caps`` can receive ``consumable`` (its first matching codec is media, not RTX).

    Raises:
        InvalidRtpParameters: ``caps`` is malformed.
    """
    checked = validate_rtp_capabilities(caps)
    matching = [c for c in consumable["codecs"] if any(_match_codecs(cap, c, strict=True) for cap in checked["codecs"])]
    return bool(matching) and not is_rtx(matching[0])


def _consumer_codecs(
    consumable: RtpParameters, caps: RtpCapabilities, enable_rtx: bool
) -> tuple[list[dict[str, Any]], bool]:
    codecs = []
    for codec in consumable["codecs"]:
        if not enable_rtx and is_rtx(codec):
            continue
        cap = next((c for c in caps["codecs"] if _match_codecs(c, codec, strict=True)), None)
        if cap is None:
            continue
        out = copy.deepcopy(codec)
        # The consumer's feedback wins; without RTX, plain NACK would ask for what we cannot resend.
        out["rtcpFeedback"] = [
            copy.deepcopy(fb) for fb in cap["rtcpFeedback"] if enable_rtx or fb["type"] != "nack" or fb["parameter"]
        ]
        codecs.append(out)
    media_pts = {c["payloadType"] for c in codecs if not is_rtx(c)}
    codecs = [c for c in codecs if not is_rtx(c) or c["parameters"].get("apt") in media_pts]
    if not codecs or is_rtx(codecs[0]):
        raise UnsupportedError("no compatible media codecs")
    return codecs, any(is_rtx(c) for c in codecs)


def _trim_bwe_feedback(codecs: list[dict[str, Any]], extensions: list[dict[str, Any]]) -> None:
    # One bandwidth estimator per consumer: transport-cc if its extension is negotiated, else REMB
    # (which needs abs-send-time), else neither. Mutates only our own fresh copies.
    uris = {ext["uri"] for ext in extensions}
    if URI_TRANSPORT_CC in uris:
        drop = {"goog-remb"}
    elif URI_ABS_SEND_TIME in uris:
        drop = {"transport-cc"}
    else:
        drop = {"goog-remb", "transport-cc"}
    for codec in codecs:
        codec["rtcpFeedback"] = [fb for fb in codec["rtcpFeedback"] if fb["type"] not in drop]


def _scalability_mode(encodings: list[dict[str, Any]]) -> str | None:
    mode = next((e["scalabilityMode"] for e in encodings if e.get("scalabilityMode")), None)
    if len(encodings) > 1:
        # Simulcast reaches the consumer as one stream whose spatial layers are the encodings.
        match = _SCALABILITY_MODE.match(mode or "")
        temporal = int(match.group(2)) if match else 1
        mode = f"L{len(encodings)}T{temporal}"
    return mode


def consumer_rtp_parameters(
    consumable: RtpParameters,
    remote_rtp_capabilities: object,
    pipe: bool = False,
    *,
    enable_rtx: bool = True,
    new_ssrc: Callable[[], int] = random_ssrc,
) -> RtpParameters:
    """The RTP parameters a consumer with ``remote_rtp_capabilities`` receives ``consumable`` with.

    Codecs, their feedback and the header extensions are narrowed to what the consumer supports. A normal
    consumer gets one encoding on a fresh SSRC (RTX on ``ssrc + 1`` if negotiated), keeping the scalability
    mode and the highest ``maxBitrate``; a ``pipe`` consumer keeps every encoding on fresh SSRCs.

    Raises:
        InvalidRtpParameters: the capabilities are malformed.
        UnsupportedError: the consumer cannot decode any of the codecs.
    """
    caps = validate_rtp_capabilities(remote_rtp_capabilities)
    codecs, rtx = _consumer_codecs(consumable, caps, enable_rtx)
    offered = {(ext["preferredId"], ext["uri"]) for ext in caps["headerExtensions"]}
    extensions = [copy.deepcopy(e) for e in consumable["headerExtensions"] if (e["id"], e["uri"]) in offered]
    _trim_bwe_feedback(codecs, extensions)
    source = consumable["encodings"]
    if pipe:
        base, rtx_base = new_ssrc(), new_ssrc()
        encodings = []
        for i, encoding in enumerate(source):
            out = {k: copy.deepcopy(v) for k, v in encoding.items() if k != "rtx"}
            out["ssrc"] = base + i
            if rtx:
                out["rtx"] = {"ssrc": rtx_base + i}
            encodings.append(out)
    else:
        single: dict[str, Any] = {"ssrc": new_ssrc()}
        if rtx:
            single["rtx"] = {"ssrc": single["ssrc"] + 1}
        mode = _scalability_mode(source)
        if mode:
            single["scalabilityMode"] = mode
        max_bitrate = max((e.get("maxBitrate") or 0 for e in source), default=0)
        if max_bitrate:
            single["maxBitrate"] = max_bitrate
        encodings = [single]
    return {
        "codecs": codecs,
        "headerExtensions": extensions,
        "encodings": encodings,
        "rtcp": copy.deepcopy(consumable["rtcp"]),
    }
