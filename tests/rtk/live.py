"""Synchronous helpers for the RealtimeKit session tests: an account's REST calls, participants on the SFU socket."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from typing import Any

import httpx

from altegon_rt.rtc.rtp import RtpPacket
from tests.realtime.test_meet import Peer
from tests.realtime.test_sfu_socket import UdpPeer
from tests.rtk.conftest import PRESET_CONFIG
from tests.sfu.test_router import CHROME_VP8, media

SFU = "/sfu/socket.io/"
OPUS_SSRC = 111222333
OPUS: dict[str, Any] = {
    "mid": "1",
    "codecs": [{"mimeType": "audio/opus", "payloadType": 111, "clockRate": 48000, "channels": 2,
                "parameters": {"minptime": 10, "useinbandfec": 1}, "rtcpFeedback": []}],
    "headerExtensions": [],
    "encodings": [{"ssrc": OPUS_SSRC}],
    "rtcp": {"cname": "opus-test", "reducedSize": True},
}  # fmt: skip


class Rtk:
    """One account with an API token and an app, called over REST."""

    def __init__(self, url: str, admin_headers: dict[str, str]) -> None:
        self.url = url
        self.http = httpx.Client(base_url=url, timeout=30)
        account_id = secrets.token_hex(16)
        r = self.http.post("/admin/api-tokens", json={"name": "t", "account_id": account_id}, headers=admin_headers)
        assert r.status_code == 201, r.text
        self.headers = {"Authorization": f"Bearer {r.json()['data']['token']}"}
        self.base = f"/accounts/{account_id}/realtime/kit"
        self.app_id = self.ok("POST", "/apps", {"name": "app"}, expect=201)["app"]["id"]

    def close(self) -> None:
        self.http.close()

    def call(self, method: str, path: str, body: Any = None, **params: Any) -> httpx.Response:
        prefix = self.base if path == "/apps" else f"{self.base}/{self.app_id}"
        return self.http.request(method, prefix + path, json=body, params=params or None, headers=self.headers)

    def ok(self, method: str, path: str, body: Any = None, *, expect: int = 200, **params: Any) -> Any:
        r = self.call(method, path, body, **params)
        assert r.status_code == expect, (method, path, r.status_code, r.text)
        return r.json()["data"]

    def meeting(self, **fields: Any) -> dict[str, Any]:
        return self.ok("POST", "/meetings", {"title": "Standup", **fields}, expect=201)  # type: ignore[no-any-return]

    def preset(self, name: str, config: dict[str, Any] | None = None, **permissions: Any) -> None:
        body = {"name": name, "config": {**PRESET_CONFIG, **(config or {})}, "ui": {}, "permissions": permissions}
        self.ok("POST", "/presets", body, expect=201)

    def participant(self, meeting_id: str, preset: str, name: str) -> dict[str, Any]:
        body = {"name": name, "preset_name": preset, "custom_participant_id": f"{name}-{secrets.token_hex(3)}"}
        return self.ok("POST", f"/meetings/{meeting_id}/participants", body, expect=201)  # type: ignore[no-any-return]


class Member(Peer):
    """A participant's socket on the SFU path, with helpers to join its meeting and produce."""

    def __init__(self, url: str, participant: dict[str, Any]) -> None:
        super().__init__(url, participant["token"], path=SFU)
        self.participant = participant
        self.udp: UdpPeer | None = None

    def join(self, meeting_id: str) -> Any:
        return self.call("join", {"room_id": f"rtk-{meeting_id}", "name": "ignored"})

    def produce(self, kind: str, app_data: dict[str, Any] | None = None) -> Any:
        """A send transport connected over real UDP (once), then ``produce``; the ack."""
        if self.udp is None:
            send = self.call("createWebRtcTransport")
            self.udp = UdpPeer(send)
            self.send_id = send["id"]
            self.call("connectTransport", {"transportId": send["id"], "dtlsParameters": self.udp.peer.dtls_parameters})
            self.udp.connect()
        body = {"kind": kind, "rtpParameters": CHROME_VP8 if kind == "video" else OPUS,
                "producerTransportId": self.send_id, "appData": app_data or {}}  # fmt: skip
        return self.call("produce", body)

    def send_video(self, packets: int) -> None:
        assert self.udp is not None
        for seq in range(1, packets + 1):
            self.udp.send([self.udp.peer.protect_rtp(media(seq))])
        self.udp.pump(0.05)

    def send_audio(self, packets: int) -> None:
        assert self.udp is not None
        for seq in range(1, packets + 1):
            rtp = RtpPacket(111, seq, seq * 960, OPUS_SSRC, payload=b"\xf8" + bytes(40))
            self.udp.send([self.udp.peer.protect_rtp(bytes(rtp))])

    def close(self) -> None:
        super().close()
        if self.udp is not None:
            self.udp.close()
            self.udp = None

    def __enter__(self) -> Member:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def error_code(ack: Any) -> str:
    assert isinstance(ack, dict) and ack.get("success") is False, ack
    return ack["error"]["code"]  # type: ignore[no-any-return]


def wait_until(predicate: Callable[[], Any], timeout_s: float = 10, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")
