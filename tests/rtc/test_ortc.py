"""rtc/ortc.py: router capabilities, validation, producer mapping and consumer parameters (mediasoup's ORTC)."""

from __future__ import annotations

import copy
import itertools
import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from altegon_rt.rtc import h264_profile, ortc
from altegon_rt.rtc.ortc import InvalidRtpParameters, UnsupportedError

MEDIA_CODECS: list[dict[str, Any]] = [
    {"kind": "audio", "mimeType": "audio/opus", "clockRate": 48000, "channels": 2},
    {"kind": "video", "mimeType": "video/VP8", "clockRate": 90000, "parameters": {"x-google-start-bitrate": 1000}},
    {
        "kind": "video",
        "mimeType": "video/H264",
        "clockRate": 90000,
        "parameters": {"packetization-mode": 1, "profile-level-id": "42e01f", "level-asymmetry-allowed": 1},
    },
]

FEEDBACK = [
    {"type": "goog-remb", "parameter": ""},
    {"type": "transport-cc", "parameter": ""},
    {"type": "ccm", "parameter": "fir"},
    {"type": "nack", "parameter": ""},
    {"type": "nack", "parameter": "pli"},
]

# What mediasoup-client's Chrome111 handler passes to transport.produce() for a VP8 camera, no simulcast.
CHROME_VP8: dict[str, Any] = {
    "mid": "0",
    "codecs": [
        {"mimeType": "video/VP8", "payloadType": 96, "clockRate": 90000, "parameters": {}, "rtcpFeedback": FEEDBACK},
        {"mimeType": "video/rtx", "payloadType": 97, "clockRate": 90000, "parameters": {"apt": 96}, "rtcpFeedback": []},
    ],
    "headerExtensions": [
        {"uri": "urn:ietf:params:rtp-hdrext:sdes:mid", "id": 4, "encrypt": False, "parameters": {}},
        {"uri": ortc.URI_ABS_SEND_TIME, "id": 2, "encrypt": False, "parameters": {}},
        {"uri": ortc.URI_TRANSPORT_CC, "id": 3, "encrypt": False, "parameters": {}},
        {"uri": "urn:3gpp:video-orientation", "id": 13, "encrypt": False, "parameters": {}},
        {"uri": "urn:ietf:params:rtp-hdrext:toffset", "id": 14, "encrypt": False, "parameters": {}},
    ],
    "encodings": [
        {"ssrc": 3297011520, "rtx": {"ssrc": 1839574105}, "dtx": False, "active": True, "maxBitrate": 900000}
    ],
    "rtcp": {"cname": "Xd2ydCXv1iVuHSJ5", "reducedSize": True},
}

CHROME_OPUS: dict[str, Any] = {
    "mid": "1",
    "codecs": [
        {
            "mimeType": "audio/opus",
            "payloadType": 111,
            "clockRate": 48000,
            "channels": 2,
            "parameters": {"minptime": 10, "useinbandfec": 1},
            "rtcpFeedback": [{"type": "transport-cc", "parameter": ""}],
        }
    ],
    "headerExtensions": [
        {"uri": "urn:ietf:params:rtp-hdrext:sdes:mid", "id": 4, "encrypt": False, "parameters": {}},
        {"uri": ortc.URI_AUDIO_LEVEL, "id": 1, "encrypt": False, "parameters": {}},
    ],
    "encodings": [{"ssrc": 2468013579, "dtx": False}],
    "rtcp": {"cname": "Xd2ydCXv1iVuHSJ5", "reducedSize": True},
}


def ssrcs(start: int) -> Callable[[], int]:
    counter = itertools.count(start, 1000)
    return lambda: next(counter)


@pytest.fixture
def router_caps() -> dict[str, Any]:
    return ortc.router_rtp_capabilities(MEDIA_CODECS)


def without_h264(caps: dict[str, Any]) -> dict[str, Any]:
    h264_pts = {c["preferredPayloadType"] for c in caps["codecs"] if c["mimeType"] == "video/H264"}
    codecs = [c for c in caps["codecs"] if c["mimeType"] != "video/H264" and c["parameters"].get("apt") not in h264_pts]
    return {"codecs": codecs, "headerExtensions": caps["headerExtensions"]}


def test_router_capabilities_assign_dynamic_payload_types_and_rtx(router_caps: dict[str, Any]) -> None:
    summary = [(c["mimeType"], c["preferredPayloadType"], c["parameters"]) for c in router_caps["codecs"]]
    assert summary == [
        ("audio/opus", 96, {}),
        ("video/VP8", 97, {"x-google-start-bitrate": 1000}),
        ("video/rtx", 98, {"apt": 97}),
        ("video/H264", 99, {"level-asymmetry-allowed": 1, "packetization-mode": 1, "profile-level-id": "42e01f"}),
        ("video/rtx", 100, {"apt": 99}),
    ]
    assert router_caps["codecs"][0]["channels"] == 2
    assert router_caps["codecs"][1]["rtcpFeedback"] == [
        {"type": "nack", "parameter": ""},
        {"type": "nack", "parameter": "pli"},
        {"type": "ccm", "parameter": "fir"},
        {"type": "goog-remb", "parameter": ""},
        {"type": "transport-cc", "parameter": ""},
    ]
    assert ortc.validate_rtp_capabilities(router_caps) == router_caps  # already in normal form
    directions = {(e["kind"], e["uri"]): e["direction"] for e in router_caps["headerExtensions"]}
    assert directions[("video", ortc.URI_RID)] == "recvonly"
    assert directions[("audio", ortc.URI_TRANSPORT_CC)] == "recvonly"
    assert directions[("video", ortc.URI_TRANSPORT_CC)] == "sendrecv"


def test_router_capabilities_keep_given_payload_types_and_skip_them() -> None:
    caps = ortc.router_rtp_capabilities(
        [
            {"mimeType": "video/VP8", "clockRate": 90000},
            {"mimeType": "audio/opus", "clockRate": 48000, "channels": 2, "preferredPayloadType": 96},
            {"mimeType": "video/H264", "clockRate": 90000, "parameters": {"profile-level-id": "4d0032"}},
        ]
    )
    assert [c["preferredPayloadType"] for c in caps["codecs"]] == [97, 98, 96, 99, 100]
    h264 = caps["codecs"][3]
    assert h264["parameters"] == {"level-asymmetry-allowed": 1, "packetization-mode": 1, "profile-level-id": "4d0032"}


def test_router_capabilities_do_not_mutate_input_or_share_state() -> None:
    given = copy.deepcopy(MEDIA_CODECS)
    caps = ortc.router_rtp_capabilities(given)
    assert given == MEDIA_CODECS
    caps["codecs"][0]["rtcpFeedback"].clear()
    caps["headerExtensions"].clear()
    assert ortc.router_rtp_capabilities(MEDIA_CODECS)["codecs"][0]["rtcpFeedback"]
    assert len(ortc.SUPPORTED_RTP_CAPABILITIES["headerExtensions"]) == 11


@pytest.mark.parametrize(
    ("codec", "message"),
    [
        ({"mimeType": "audio/PCMU", "clockRate": 8000}, "media codec not supported [mimeType:audio/PCMU]"),
        ({"mimeType": "audio/opus", "clockRate": 48000}, "media codec not supported [mimeType:audio/opus]"),
        (
            {"mimeType": "video/H264", "clockRate": 90000, "parameters": {"profile-level-id": "640032"}},
            "media codec not supported [mimeType:video/H264]",
        ),
        (
            {"mimeType": "video/H264", "clockRate": 90000, "parameters": {"packetization-mode": 0}},
            "media codec not supported [mimeType:video/H264]",
        ),
    ],
)
def test_router_capabilities_refuse_unsupported_codecs(codec: dict[str, Any], message: str) -> None:
    with pytest.raises(UnsupportedError) as info:
        ortc.router_rtp_capabilities([codec])
    assert str(info.value) == message


def test_router_capabilities_refuse_malformed_and_duplicate_codecs() -> None:
    with pytest.raises(InvalidRtpParameters) as info:
        ortc.router_rtp_capabilities([{"mimeType": "video/VP8"}])
    assert str(info.value) == "missing mediaCodecs[0].clockRate"
    with pytest.raises(InvalidRtpParameters) as info:
        ortc.router_rtp_capabilities([{"mimeType": "video/VP8", "clockRate": 90000, "preferredPayloadType": 100}] * 2)
    assert str(info.value) == "duplicated preferredPayloadType 100"
    with pytest.raises(InvalidRtpParameters) as info:
        ortc.router_rtp_capabilities({"mimeType": "video/VP8"})  # type: ignore[arg-type]
    assert str(info.value) == "mediaCodecs is not an array"


def test_validate_chrome_producer_parameters_normalises_a_copy() -> None:
    given = copy.deepcopy(CHROME_VP8)
    checked = ortc.validate_rtp_parameters(given)
    assert given == CHROME_VP8
    assert checked["codecs"][1]["parameters"] == {"apt": 96}
    assert checked["encodings"] == CHROME_VP8["encodings"]
    assert checked["rtcp"] == {"cname": "Xd2ydCXv1iVuHSJ5", "reducedSize": True}
    checked["codecs"][0]["rtcpFeedback"].clear()
    assert CHROME_VP8["codecs"][0]["rtcpFeedback"] == FEEDBACK


def test_validate_fills_defaults() -> None:
    bare = {"codecs": [{"mimeType": "audio/opus", "payloadType": 100, "clockRate": 48000, "channels": None}]}
    checked = ortc.validate_rtp_parameters(bare)
    assert checked == {
        "codecs": [
            {
                "mimeType": "audio/opus",
                "payloadType": 100,
                "clockRate": 48000,
                "channels": 1,
                "parameters": {},
                "rtcpFeedback": [],
            }
        ],
        "headerExtensions": [],
        "encodings": [],
        "rtcp": {"reducedSize": True},
    }
    caps = ortc.validate_rtp_capabilities(
        {"codecs": [{"kind": "audio", "mimeType": "video/VP8", "clockRate": 90000, "channels": 2}]}
    )
    assert caps["codecs"][0]["kind"] == "video"  # the mimeType decides
    assert "channels" not in caps["codecs"][0]
    assert caps["headerExtensions"] == []


def _broken(path: list[Any], value: Any) -> dict[str, Any]:
    params = copy.deepcopy(CHROME_VP8)
    target = params
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return params


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (["codecs"], KeyError, "missing params.codecs"),
        (["codecs"], {}, "params.codecs is not an array"),
        (["codecs", 0], "VP8", "codecs[0] is not an object"),
        (["codecs", 0, "mimeType"], KeyError, "missing codecs[0].mimeType"),
        (["codecs", 0, "mimeType"], "VP8", "invalid codecs[0].mimeType: 'VP8' (expected audio/... or video/...)"),
        (
            ["codecs", 0, "clockRate"],
            "90000",
            "invalid codecs[0].clockRate: '90000' (expected an integer in 1..4294967295)",
        ),
        (["codecs", 0, "payloadType"], 128, "invalid codecs[0].payloadType: 128 (expected an integer in 0..127)"),
        (["codecs", 1, "payloadType"], 96, "duplicate codecs payloadType 96"),
        (["codecs", 1, "parameters", "apt"], "96", "invalid codecs[1].parameters.apt: '96' (expected an integer)"),
        (["codecs", 0, "parameters"], [1], "codecs[0].parameters is not an object"),
        (
            ["codecs", 0, "parameters", "x"],
            True,
            "invalid codecs[0].parameters.x: True (expected a string or number)",
        ),
        (["codecs", 0, "rtcpFeedback", 1, "type"], KeyError, "missing codecs[0].rtcpFeedback[1].type"),
        (["headerExtensions", 0, "uri"], KeyError, "missing headerExtensions[0].uri"),
        (["headerExtensions", 0, "id"], 0, "invalid headerExtensions[0].id: 0 (expected an integer in 1..255)"),
        (["headerExtensions", 0, "encrypt"], "no", "invalid headerExtensions[0].encrypt: 'no' (expected a boolean)"),
        (["encodings", 0, "ssrc"], -1, "invalid encodings[0].ssrc: -1 (expected an integer in 0..4294967295)"),
        (["encodings", 0, "rid"], 1, "invalid encodings[0].rid: 1 (expected a string)"),
        (["encodings", 0, "rtx"], {}, "missing encodings[0].rtx.ssrc"),
        (["encodings", 0, "rtx"], 5, "encodings[0].rtx is not an object"),
        (["encodings"], [{}] * 17, "too many params.encodings: 17 (at most 16)"),
        (["rtcp"], "x", "rtcp is not an object"),
        (["rtcp", "cname"], 7, "invalid rtcp.cname: 7 (expected a string)"),
        (["rtcp", "reducedSize"], 1, "invalid rtcp.reducedSize: 1 (expected a boolean)"),
        (["mid"], 0, "invalid params.mid: 0 (expected a string)"),
    ],
)
def test_validate_rtp_parameters_names_the_field(path: list[Any], value: Any, message: str) -> None:
    params = _broken(path, value)
    before = copy.deepcopy(params)
    with pytest.raises(InvalidRtpParameters) as info:
        ortc.validate_rtp_parameters(params)
    assert str(info.value) == message
    assert params == before


@pytest.mark.parametrize(
    ("caps", "message"),
    [
        ([], "caps is not an object"),
        ({"codecs": [{"mimeType": "audio/opus"}]}, "missing codecs[0].clockRate"),
        (
            {"headerExtensions": [{"uri": "x", "preferredId": 1}]},
            "invalid headerExtensions[0].kind: None (expected 'audio' or 'video')",
        ),
        (
            {"headerExtensions": [{"kind": "audio", "uri": "x", "preferredId": 1, "direction": "up"}]},
            "invalid headerExtensions[0].direction: 'up'",
        ),
        ({"headerExtensions": [{"kind": "audio", "uri": "x"}]}, "missing headerExtensions[0].preferredId"),
    ],
)
def test_validate_rtp_capabilities_names_the_field(caps: Any, message: str) -> None:
    with pytest.raises(InvalidRtpParameters) as info:
        ortc.validate_rtp_capabilities(caps)
    assert str(info.value) == message


def test_producer_mapping(router_caps: dict[str, Any]) -> None:
    given = copy.deepcopy(CHROME_VP8)
    mapping = ortc.producer_rtp_mapping(given, router_caps, new_ssrc=ssrcs(500_000_000))
    assert given == CHROME_VP8
    assert mapping == {
        "codecs": [{"payloadType": 96, "mappedPayloadType": 97}, {"payloadType": 97, "mappedPayloadType": 98}],
        "encodings": [{"ssrc": 3297011520, "mappedSsrc": 500_000_000}],
    }
    simulcast = copy.deepcopy(CHROME_VP8)
    simulcast["encodings"] = [{"rid": f"r{i}", "scalabilityMode": "L1T3"} for i in range(3)]
    mapping = ortc.producer_rtp_mapping(simulcast, router_caps, new_ssrc=ssrcs(7))
    assert mapping["encodings"] == [{"rid": f"r{i}", "scalabilityMode": "L1T3", "mappedSsrc": 7 + i} for i in range(3)]
    random_mapping = ortc.producer_rtp_mapping(CHROME_VP8, router_caps)
    assert 100_000_000 <= random_mapping["encodings"][0]["mappedSsrc"] < 1_000_000_000


def _h264(profile_level_id: str, packetization_mode: int = 1) -> dict[str, Any]:
    params = copy.deepcopy(CHROME_VP8)
    params["codecs"][0] = {
        "mimeType": "video/H264",
        "payloadType": 102,
        "clockRate": 90000,
        "parameters": {
            "level-asymmetry-allowed": 1,
            "packetization-mode": packetization_mode,
            "profile-level-id": profile_level_id,
        },
        "rtcpFeedback": FEEDBACK,
    }
    params["codecs"][1]["parameters"] = {"apt": 102}
    return params


def test_producer_mapping_h264_profiles(router_caps: dict[str, Any]) -> None:
    mapping = ortc.producer_rtp_mapping(_h264("42e034"), router_caps, new_ssrc=ssrcs(1))
    assert mapping["codecs"] == [
        {"payloadType": 102, "mappedPayloadType": 99},
        {"payloadType": 97, "mappedPayloadType": 100},
    ]
    with pytest.raises(UnsupportedError) as info:
        ortc.producer_rtp_mapping(_h264("640c1f"), router_caps)
    assert str(info.value) == "unsupported codec [mimeType:video/H264, payloadType:102]"
    with pytest.raises(UnsupportedError):
        ortc.producer_rtp_mapping(_h264("42e01f", packetization_mode=0), router_caps)


def test_producer_mapping_errors(router_caps: dict[str, Any]) -> None:
    vp9 = copy.deepcopy(CHROME_VP8)
    vp9["codecs"][0]["mimeType"] = "video/VP9"
    with pytest.raises(UnsupportedError) as info:
        ortc.producer_rtp_mapping(vp9, router_caps)
    assert str(info.value) == "unsupported codec [mimeType:video/VP9, payloadType:96]"
    orphan = copy.deepcopy(CHROME_VP8)
    orphan["codecs"][1]["parameters"]["apt"] = 95
    with pytest.raises(InvalidRtpParameters) as info:
        ortc.producer_rtp_mapping(orphan, router_caps)
    assert str(info.value) == "missing media codec for RTX payloadType 97 (apt 95)"
    no_rtx = {"codecs": [c for c in router_caps["codecs"] if c["mimeType"] != "video/rtx"], "headerExtensions": []}
    with pytest.raises(UnsupportedError) as info:
        ortc.producer_rtp_mapping(CHROME_VP8, no_rtx)
    assert str(info.value) == "no RTX codec for capability codec PT 97"


def _consumable(router_caps: dict[str, Any], producer: dict[str, Any], kind: str) -> dict[str, Any]:
    mapping = ortc.producer_rtp_mapping(producer, router_caps, new_ssrc=ssrcs(400_000_000))
    return ortc.consumable_rtp_parameters(kind, producer, router_caps, mapping)


def test_consumable_parameters(router_caps: dict[str, Any]) -> None:
    given = copy.deepcopy(CHROME_VP8)
    consumable = _consumable(router_caps, given, "video")
    assert given == CHROME_VP8
    assert [(c["mimeType"], c["payloadType"], c["parameters"]) for c in consumable["codecs"]] == [
        ("video/VP8", 97, {}),
        ("video/rtx", 98, {"apt": 97}),
    ]
    assert [(e["uri"], e["id"]) for e in consumable["headerExtensions"]] == [
        (ortc.URI_MID, 1),
        (ortc.URI_ABS_SEND_TIME, 4),
        (ortc.URI_TRANSPORT_CC, 5),
        (ortc.URI_VIDEO_ORIENTATION, 11),
        (ortc.URI_TOFFSET, 12),
    ]
    assert consumable["encodings"] == [{"ssrc": 400_000_000, "dtx": False, "active": True, "maxBitrate": 900000}]
    assert consumable["rtcp"] == {"cname": "Xd2ydCXv1iVuHSJ5", "reducedSize": True}
    audio = _consumable(router_caps, CHROME_OPUS, "audio")
    assert [e["uri"] for e in audio["headerExtensions"]] == [ortc.URI_MID, ortc.URI_ABS_SEND_TIME, ortc.URI_AUDIO_LEVEL]
    assert audio["codecs"][0]["parameters"] == {"minptime": 10, "useinbandfec": 1}


def test_consumable_h264_gets_the_answered_level(router_caps: dict[str, Any]) -> None:
    consumable = _consumable(router_caps, _h264("42e034"), "video")
    assert consumable["codecs"][0]["parameters"]["profile-level-id"] == "42e034"
    no_asymmetry = _h264("42e034")
    del no_asymmetry["codecs"][0]["parameters"]["level-asymmetry-allowed"]
    consumable = _consumable(router_caps, no_asymmetry, "video")
    assert consumable["codecs"][0]["parameters"]["profile-level-id"] == "42e01f"  # the lower level


def test_consumer_parameters_for_a_receiver_without_h264(router_caps: dict[str, Any]) -> None:
    consumable = _consumable(router_caps, CHROME_VP8, "video")
    receiver = without_h264(router_caps)
    before = copy.deepcopy((consumable, receiver))
    consumer = ortc.consumer_rtp_parameters(consumable, receiver, new_ssrc=ssrcs(600_000_000))
    assert (consumable, receiver) == before
    assert [(c["mimeType"], c["payloadType"]) for c in consumer["codecs"]] == [("video/VP8", 97), ("video/rtx", 98)]
    assert consumer["codecs"][0]["rtcpFeedback"] == [  # transport-cc is negotiated, so REMB goes
        {"type": "nack", "parameter": ""},
        {"type": "nack", "parameter": "pli"},
        {"type": "ccm", "parameter": "fir"},
        {"type": "transport-cc", "parameter": ""},
    ]
    assert consumer["headerExtensions"] == consumable["headerExtensions"]
    assert consumer["encodings"] == [{"ssrc": 600_000_000, "rtx": {"ssrc": 600_000_001}, "maxBitrate": 900000}]
    assert consumer["rtcp"] == consumable["rtcp"]
    assert ortc.can_consume(consumable, receiver)

    h264_consumable = _consumable(router_caps, _h264("42e01f"), "video")
    assert not ortc.can_consume(h264_consumable, receiver)
    with pytest.raises(UnsupportedError) as info:
        ortc.consumer_rtp_parameters(h264_consumable, receiver)
    assert str(info.value) == "no compatible media codecs"


def test_consumer_parameters_variants(router_caps: dict[str, Any]) -> None:
    simulcast = copy.deepcopy(CHROME_VP8)
    simulcast["encodings"] = [
        {"rid": f"r{i}", "scalabilityMode": "L1T3", "maxBitrate": 100_000 * (i + 1)} for i in range(3)
    ]
    consumable = _consumable(router_caps, simulcast, "video")
    consumer = ortc.consumer_rtp_parameters(consumable, router_caps, new_ssrc=ssrcs(10))
    assert consumer["encodings"] == [
        {"ssrc": 10, "rtx": {"ssrc": 11}, "scalabilityMode": "L3T3", "maxBitrate": 300_000}
    ]
    piped = ortc.consumer_rtp_parameters(consumable, router_caps, pipe=True, new_ssrc=ssrcs(10))
    assert [(e["ssrc"], e["rtx"]["ssrc"], e["scalabilityMode"]) for e in piped["encodings"]] == [
        (10 + i, 1010 + i, "L1T3") for i in range(3)
    ]
    no_rtx = ortc.consumer_rtp_parameters(consumable, router_caps, enable_rtx=False, new_ssrc=ssrcs(10))
    assert [c["mimeType"] for c in no_rtx["codecs"]] == ["video/VP8"]
    assert {"type": "nack", "parameter": ""} not in no_rtx["codecs"][0]["rtcpFeedback"]
    assert "rtx" not in no_rtx["encodings"][0]
    # A receiver with only abs-send-time keeps REMB and drops transport-cc; with neither, both go.
    remb_only = copy.deepcopy(router_caps)
    remb_only["headerExtensions"] = [e for e in remb_only["headerExtensions"] if e["uri"] != ortc.URI_TRANSPORT_CC]
    types = [fb["type"] for fb in ortc.consumer_rtp_parameters(consumable, remb_only)["codecs"][0]["rtcpFeedback"]]
    assert "goog-remb" in types and "transport-cc" not in types
    bare = {"codecs": router_caps["codecs"], "headerExtensions": []}
    consumer = ortc.consumer_rtp_parameters(consumable, bare)
    assert consumer["headerExtensions"] == []
    assert [fb["type"] for fb in consumer["codecs"][0]["rtcpFeedback"]] == ["nack", "nack", "ccm"]


def test_h264_profile_level_id() -> None:
    assert h264_profile.parse_profile_level_id("42e01f") == (h264_profile.Profile.CONSTRAINED_BASELINE, 31)
    assert h264_profile.parse_profile_level_id("4d001f") == (h264_profile.Profile.MAIN, 31)
    assert h264_profile.parse_profile_level_id("42f00b") == (h264_profile.Profile.CONSTRAINED_BASELINE, 0)
    assert h264_profile.parse_profile_level_id("640c34") == (h264_profile.Profile.CONSTRAINED_HIGH, 52)
    assert h264_profile.parse_profile_level_id("zz0000") is None
    assert h264_profile.parse_profile_level_id("42e0ff") is None
    assert h264_profile.is_same_profile({}, {"profile-level-id": "42e034"})
    assert not h264_profile.is_same_profile({"profile-level-id": "4d001f"}, {"profile-level-id": "42e01f"})
    assert h264_profile.answer_profile_level_id({}, {}) is None
    assert (
        h264_profile.answer_profile_level_id({"profile-level-id": "42e00b"}, {"profile-level-id": "42f00b"}) == "42f00b"
    )
    with pytest.raises(ValueError, match="H264 profile mismatch"):
        h264_profile.answer_profile_level_id({"profile-level-id": "4d001f"}, {})


ROOT = Path(__file__).resolve().parents[2]
DEVICE_SCRIPT = Path(__file__).resolve().parent / "node" / "device.mjs"


def run_device(node: str, payload: dict[str, Any]) -> dict[str, Any]:
    assert (ROOT / "node_modules" / "mediasoup-client").is_dir(), "run npm ci (done by .ci/install)"
    done = subprocess.run(
        [node, str(DEVICE_SCRIPT)], input=json.dumps(payload).encode(), capture_output=True, cwd=ROOT, timeout=60
    )
    lines = done.stdout.decode().strip().splitlines()
    assert lines, done.stderr.decode()
    outcome = json.loads(lines[-1])
    assert outcome["ok"] is True, outcome.get("error")
    return outcome


def test_mediasoup_client_device_loads_our_capabilities_and_consumes_our_answers(
    node: str, router_caps: dict[str, Any]
) -> None:
    loaded = run_device(node, {"routerRtpCapabilities": router_caps})
    assert loaded["loaded"] is True
    assert loaded["canProduce"] == {"audio": True, "video": True}
    device_caps = loaded["rtpCapabilities"]
    mime_types = {c["mimeType"] for c in device_caps["codecs"]}
    assert {"audio/opus", "video/VP8", "video/rtx"} <= mime_types
    # The device's receive capabilities are what a real client sends us with "join"; answer with them.
    consumers = []
    for kind, producer in (("video", CHROME_VP8), ("audio", CHROME_OPUS)):
        consumable = _consumable(router_caps, producer, kind)
        assert ortc.can_consume(consumable, device_caps)
        consumers.append({"kind": kind, "rtpParameters": ortc.consumer_rtp_parameters(consumable, device_caps)})
    consumed = run_device(node, {"routerRtpCapabilities": router_caps, "consumers": consumers})["consumed"]
    assert [c["kind"] for c in consumed] == ["video", "audio"]
    assert consumed[0]["rtpParameters"]["codecs"][0]["mimeType"] == "video/VP8"
    assert consumed[0]["rtpParameters"]["encodings"][0]["ssrc"] == consumers[0]["rtpParameters"]["encodings"][0]["ssrc"]
