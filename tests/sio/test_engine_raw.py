"""The wire itself, with httpx and trio-websocket: error answers, limits, heartbeat, back-pressure, CORS."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import trio
from trio_websocket import ConnectionClosed, open_websocket_url

from altegon_rt.eio.session import SessionLimits
from altegon_rt.sio.server import SioLimits


def ws_url(url: str, **query: str) -> str:
    params = "&".join(f"{k}={v}" for k, v in {"EIO": "4", "transport": "websocket", **query}.items())
    return url.replace("http://", "ws://") + "/socket.io/?" + params


async def open_polling(client: httpx.AsyncClient) -> str:
    r = await client.get("/socket.io/", params={"EIO": "4", "transport": "polling"})
    assert r.status_code == 200 and r.text.startswith("0"), r.text
    return json.loads(r.text[1:])["sid"]


@pytest.mark.parametrize(
    ("method", "query", "status", "code", "message"),
    [
        ("GET", {"EIO": "4", "transport": "carrier-pigeon"}, 400, 0, "Transport unknown"),
        ("GET", {"EIO": "4", "transport": "polling", "sid": "nope"}, 400, 1, "Session ID unknown"),
        ("POST", {"EIO": "4", "transport": "polling"}, 400, 2, "Bad handshake method"),
        ("GET", {"EIO": "4", "transport": "websocket"}, 400, 3, "Bad request"),
        ("GET", {"EIO": "3", "transport": "polling"}, 400, 5, "Unsupported protocol version"),
        ("GET", {"transport": "polling"}, 400, 5, "Unsupported protocol version"),
    ],
)
async def test_error_answers_match_the_reference_server(echo_url: str, method: str, query: dict[str, str],
                                                        status: int, code: int, message: str) -> None:  # fmt: skip
    async with httpx.AsyncClient(base_url=echo_url) as client:
        r = await client.request(method, "/socket.io/", params=query)
    assert r.status_code == status
    assert r.headers["content-type"] == "application/json"
    assert r.json() == {"code": code, "message": message}


async def test_polling_session_exchange(echo_url: str) -> None:
    async with httpx.AsyncClient(base_url=echo_url) as client:
        sid = await open_polling(client)
        params = {"EIO": "4", "transport": "polling", "sid": sid}
        r = await client.post("/socket.io/", params=params, content='40\x1e421["echo","a",{"b":2}]')
        assert (r.status_code, r.text, r.headers["content-type"]) == (200, "ok", "text/html")
        received: list[str] = []
        with trio.fail_after(5):
            while '431["a",{"b":2}]' not in received:
                r = await client.get("/socket.io/", params=params)
                assert r.headers["content-type"] == "text/plain; charset=UTF-8"
                received += r.text.split("\x1e")
        assert received[0].startswith('40{"sid":')
        r = await client.post("/socket.io/", params=params, content="1")
        assert r.text == "ok"
        r = await client.get("/socket.io/", params=params)
        assert r.status_code == 400 and r.json()["code"] == 1


async def test_post_over_max_payload_is_413_and_ends_the_session(echo_factory: Callable[..., Any]) -> None:
    url, _ = await echo_factory(SessionLimits(max_payload=2000))
    async with httpx.AsyncClient(base_url=url) as client:
        sid = await open_polling(client)
        params = {"EIO": "4", "transport": "polling", "sid": sid}
        r = await client.post("/socket.io/", params=params, content="4" + "x" * 3000)
        assert r.status_code == 413
        r = await client.get("/socket.io/", params=params)
        assert r.status_code == 400


async def test_overlapping_polls_end_the_session(echo_url: str) -> None:
    async with httpx.AsyncClient(base_url=echo_url) as client:
        sid = await open_polling(client)
        params = {"EIO": "4", "transport": "polling", "sid": sid}
        statuses: list[int] = []

        async def poll() -> None:
            statuses.append((await client.get("/socket.io/", params=params)).status_code)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(poll)
            await trio.sleep(0.2)
            nursery.start_soon(poll)
        assert sorted(statuses) == [200, 400]


async def test_heartbeat_pings_and_closes_silent_sessions(echo_factory: Callable[..., Any]) -> None:
    url, server = await echo_factory(SessionLimits(ping_interval_s=0.3, ping_timeout_s=0.3))
    async with open_websocket_url(ws_url(url)) as ws:
        assert (await ws.get_message()).startswith("0")
        with trio.fail_after(2):
            assert await ws.get_message() == "2"
        await ws.send_message("3")
        with trio.fail_after(2):
            assert await ws.get_message() == "2"  # the next ping: the pong kept it alive
        assert len(server.engine) == 1
        # Now stay silent: the session must close within interval + timeout.
        with trio.fail_after(3):
            with pytest.raises(ConnectionClosed):
                while True:
                    await ws.get_message()
    assert len(server.engine) == 0


async def test_a_client_that_stops_reading_is_disconnected(echo_factory: Callable[..., Any]) -> None:
    url, server = await echo_factory(SessionLimits(max_buffered_bytes=256 * 1024))
    async with open_websocket_url(ws_url(url)) as slow, open_websocket_url(ws_url(url)) as fast:
        for ws in (slow, fast):
            await ws.get_message()
            await ws.send_message("40")
            assert (await ws.get_message()).startswith("40")
        await slow.send_message('421["join","r"]')
        assert await slow.get_message() == "431[1]"
        # `slow` no longer reads. Flood the room from `fast` until the server gives up on `slow`.
        payload = "x" * 50_000
        with trio.fail_after(20):
            for i in range(2000):
                await fast.send_message(f'42["broadcast","r","{payload}"]')
                if i % 20 == 0:
                    await trio.sleep(0.01)
                if len(server.engine) == 1:
                    break
        assert len(server.engine) == 1  # only `fast` is left


async def test_events_beyond_the_rate_limit_get_an_error_ack(echo_factory: Callable[..., Any]) -> None:
    url, _ = await echo_factory(None, SioLimits(events_per_second=1, event_burst=5))
    async with open_websocket_url(ws_url(url)) as ws:
        await ws.get_message()
        await ws.send_message("40")
        await ws.get_message()
        for i in range(10):
            await ws.send_message(f'42{i}["echo",{i}]')
        answers = [await ws.get_message() for _ in range(10)]
    ok = [a for a in answers if "rate_limited" not in a]
    refused = [a for a in answers if "rate_limited" in a]
    assert len(ok) == 5 and len(refused) == 5, answers


async def test_websocket_frame_over_max_payload_closes_with_1009(echo_factory: Callable[..., Any]) -> None:
    url, server = await echo_factory(SessionLimits(max_payload=10_000))
    async with open_websocket_url(ws_url(url)) as ws:
        await ws.get_message()
        await ws.send_message(b"x" * 20_000)
        with trio.fail_after(5), pytest.raises(ConnectionClosed) as closed:
            while True:
                await ws.get_message()
    assert closed.value.reason.code == 1009
    assert closed.value.reason.reason == "message larger than maxPayload"
    assert len(server.engine) == 0


async def test_an_invalid_socketio_packet_closes_the_connection(echo_url: str) -> None:
    async with open_websocket_url(ws_url(echo_url)) as ws:
        await ws.get_message()
        await ws.send_message('42{"not":"an array"}')
        with trio.fail_after(5):
            assert await ws.get_message() == "1"  # the close packet, then the websocket closes


async def test_no_namespace_connect_in_time_closes(echo_factory: Callable[..., Any]) -> None:
    url, server = await echo_factory(None, SioLimits(connect_timeout_s=0.3))
    async with open_websocket_url(ws_url(url)) as ws:
        await ws.get_message()
        with trio.fail_after(3):
            assert await ws.get_message() == "1"
    assert len(server.engine) == 0


async def test_cors_headers_for_browsers(echo_url: str) -> None:
    async with httpx.AsyncClient(base_url=echo_url) as client:
        preflight = {"Origin": "https://app.example", "Access-Control-Request-Headers": "content-type"}
        r = await client.options("/socket.io/", params={"EIO": "4", "transport": "polling"}, headers=preflight)
        assert r.status_code == 204
        assert r.headers["access-control-allow-origin"] == "https://app.example"
        assert r.headers["access-control-allow-credentials"] == "true"
        assert "POST" in r.headers["access-control-allow-methods"]
        r = await client.get("/socket.io/", params={"EIO": "4", "transport": "polling"},
                             headers={"Origin": "https://app.example"})  # fmt: skip
        assert r.headers["access-control-allow-origin"] == "https://app.example"


async def test_large_and_small_frames_keep_their_order(echo_factory: Callable[..., Any]) -> None:
    """A frame bigger than the socket buffer is only partly written at once (fast_send's slow path);
    the frames after it must still arrive after it, whole."""
    from altegon_rt.sio import fast_send

    assert fast_send.installed()
    url, _ = await echo_factory(SessionLimits(max_payload=4_000_000, max_buffered_bytes=16_000_000))
    big = "b" * 3_000_000
    async with open_websocket_url(ws_url(url), max_message_size=8_000_000) as ws:
        await ws.get_message()
        await ws.send_message("40")
        await ws.get_message()
        await ws.send_message(f'42["emit-back","{big}"]')
        for i in range(3):
            await ws.send_message(f'42["emit-back",{i}]')
        await trio.sleep(0.3)  # let the server queue everything before we read
        with trio.fail_after(10):
            received = [await ws.get_message() for _ in range(4)]
    assert received == [f'42["echo","{big}"]', '42["echo",0]', '42["echo",1]', '42["echo",2]']
