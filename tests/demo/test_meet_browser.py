"""Three people meet on ``/demo/meet`` in headless Chromium, through our SFU, with real media.

``node/meet.mjs`` drives Debian's ``/usr/bin/chromium`` with playwright-core (fake camera, microphone and
screen); every check reads the pages' own ``RTCPeerConnection.getStats()``. Server and browser run in a
private network namespace holding only loopback where one can be made (root), else on the host's loopback.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.demo.browser import ROOT, in_chromium

DRIVER = ROOT / "tests" / "demo" / "node" / "meet.mjs"
LATE_JOINER_FIRST_FRAME_MS = 1000  # issue 7: a late joiner decodes its first camera frame within 1 s of resume
# Chrome encodes a static screen share in "zero-hertz" mode and answers a key frame request at its next
# refresh (up to about a second later), whatever the SFU does; measured 600-850 ms here.
LATE_JOINER_SCREEN_MS = 1500


@pytest.mark.slow
def test_three_people_meet_in_chromium(node: str, tmp_path: Path) -> None:
    result = in_chromium(node, tmp_path / "data", DRIVER, [], timeout=90)
    print(json.dumps(result))  # every measurement, shown when an assertion below fails
    ada = result["adaId"]

    # Two people: each decodes the other's video and gets the other's audio packets.
    assert result["adaRole"] == "host" and result["tileNames"] == ["Bob (you)", "Ada"]
    assert "host" in result["adaBadges"]
    inbound = {row["kind"]: row for row in result["bobInbound"]}
    assert inbound["video"]["framesDecoded"] > 0 and inbound["video"]["codec"] == "video/VP8"
    assert inbound["audio"]["packetsReceived"] > 0 and inbound["audio"]["codec"] == "audio/opus"

    # pauseConsumer: nothing arrives while paused; after resume the next frame decodes at once (PLI).
    assert {p["kind"] for p in result["pausedConsumers"]} == {"audio", "video"}
    for paused in result["pausedConsumers"]:
        assert paused["after"]["packetsReceived"] == paused["before"]["packetsReceived"], paused
        assert paused["after"]["framesDecoded"] == paused["before"]["framesDecoded"], paused
    assert result["resumeFirstFrameMs"] < LATE_JOINER_FIRST_FRAME_MS

    # Mute (pauseProducer): the others get producerPaused / producerResumed, and no audio meanwhile.
    assert len(result["producerPaused"]) == 2 and {e["peerId"] for e in result["producerPaused"]} == {ada}
    assert {e["producerId"] for e in result["producerResumed"]} == {e["producerId"] for e in result["producerPaused"]}
    assert {"mic off", "camera off"} <= set(result["mutedBadges"])
    before, after = result["mutedAudio"]
    assert after["packetsReceived"] == before["packetsReceived"]

    # Chat, as text (never markup), also in a late joiner's history.
    assert result["chatMarkup"] == 0 and "hello from <b>Ada</b>" in result["cydChat"]

    # Screen sharing: a new consumer and tile for the others; a second sharer is refused.
    assert result["screen"]["type"] == "screen" and result["screen"]["framesDecoded"] > 0
    assert [e["peerId"] for e in result["screenShared"]] == [ada]
    assert "one at a time" in result["secondScreen"]["text"]

    # The late joiner: every producer consumed, each video's first frame soon after its resume.
    late = result["lateJoiner"]
    assert sorted((r["peer"], r["type"]) for r in late) == [
        ("ada", "camera"), ("ada", "microphone"), ("ada", "screen"), ("bob", "camera"), ("bob", "microphone")
    ]  # fmt: skip
    for row in late:
        if row["type"] == "camera":
            assert row["firstFrameMs"] < LATE_JOINER_FIRST_FRAME_MS, row
        elif row["type"] == "screen":
            assert row["firstFrameMs"] < LATE_JOINER_SCREEN_MS, row
    print("late joiner, first frame after resume (ms):",
          {f"{r['peer']} {r['type']}": round(r["firstFrameMs"]) for r in late if r["kind"] == "video"})  # fmt: skip
    print(f"resumed consumer's first frame: {result['resumeFirstFrameMs']:.0f} ms; whole run {result['totalMs']} ms")
