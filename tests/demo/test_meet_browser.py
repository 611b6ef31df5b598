"""Three people meet on ``/demo/meet`` in headless Chromium, through our SFU, with real media.

``node/meet.mjs`` drives Debian's ``/usr/bin/chromium`` with playwright-core (fake camera, microphone and
screen); every check reads the pages' own ``RTCPeerConnection.getStats()``. Server and browser run in a
private network namespace holding only loopback where one can be made (root), else on the host's loopback.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from altegon_rt.testing.netns import loopback_namespace
from altegon_rt.testing.process import ServerProcess

ROOT = Path(__file__).resolve().parents[2]
DRIVER = ROOT / "tests" / "demo" / "node" / "meet.mjs"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
LATE_JOINER_FIRST_FRAME_MS = 1000  # issue 7: a late joiner decodes its first camera frame within 1 s of resume
# Chrome encodes a static screen share in "zero-hertz" mode and answers a key frame request at its next
# refresh (up to about a second later), whatever the SFU does; measured 600-850 ms here.
LATE_JOINER_SCREEN_MS = 1500


def run_driver(node: str, prefix: tuple[str, ...], url: str) -> dict[str, Any]:
    done = subprocess.run([*prefix, node, str(DRIVER), url], capture_output=True, text=True, timeout=90, cwd=ROOT,
                          check=False)  # fmt: skip
    print(done.stderr)  # the driver's progress and measurements (shown with -s, or when the test fails)
    lines = done.stdout.strip().splitlines()
    assert lines, done.stderr
    outcome = json.loads(lines[-1])
    assert outcome["ok"], f"{outcome['error']}\n{done.stderr}"
    return outcome["result"]


@pytest.mark.slow
def test_three_people_meet_in_chromium(node: str, tmp_path: Path) -> None:
    assert os.access(CHROMIUM, os.X_OK), "Debian's chromium is required (.ci/apt-test.txt)"
    with loopback_namespace() as netns:
        server = ServerProcess(tmp_path / "data", wrapper=netns or ())
        try:
            result = run_driver(node, netns or (), server.url)
        finally:
            status = server.terminate()
        assert status == 0 and "Traceback" not in server.log_text(), server.log_text()
    print(f"network namespace: {'private, loopback only' if netns else 'none (host loopback)'}")
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
