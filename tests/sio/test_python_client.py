"""Unmodified python-socketio (its sync client, in a thread) against our server."""

from __future__ import annotations

import threading
from typing import Any

import socketio
import trio


def _session(url: str, transports: list[str]) -> dict[str, Any]:
    client = socketio.Client(reconnection=False)
    seen: dict[str, Any] = {"echo": threading.Event()}

    @client.on("question")
    def question(a: int, b: int) -> tuple[int, str]:
        return a * b, "from python"

    @client.on("echo")
    def echo(*args: Any) -> None:
        seen["echo_args"] = args
        seen["echo"].set()

    client.connect(url, transports=transports, wait_timeout=5)
    try:
        result = {
            "transport": client.transport(),
            "echo": client.call("echo", ({"k": [1, "two"]}, b"\x00\xff"), timeout=5),
            "ask": client.call("ask", (6, 7), timeout=5),
            "join": client.call("join", "r", timeout=5),
        }
        client.emit("emit-back", ("hi", b"bin"))
        seen["echo"].wait(5)
        result["emit_back"] = seen.get("echo_args")
        return result
    finally:
        client.disconnect()


async def test_polling_then_websocket(echo_url: str) -> None:
    result = await trio.to_thread.run_sync(_session, echo_url, ["polling", "websocket"])
    assert result["transport"] == "websocket"
    assert result["echo"] == ({"k": [1, "two"]}, b"\x00\xff")
    assert result["ask"] == (42, "from python")
    assert result["join"] == 1
    assert result["emit_back"] == ("hi", b"bin")


async def test_polling_only(echo_url: str) -> None:
    result = await trio.to_thread.run_sync(_session, echo_url, ["polling"])
    assert result["transport"] == "polling"
    assert result["echo"] == ({"k": [1, "two"]}, b"\x00\xff")
    assert result["emit_back"] == ("hi", b"bin")


async def test_websocket_only(echo_url: str) -> None:
    result = await trio.to_thread.run_sync(_session, echo_url, ["websocket"])
    assert result["transport"] == "websocket"
    assert result["ask"] == (42, "from python")


def _refused(url: str) -> str:
    client = socketio.Client(reconnection=False)
    errors: list[Any] = []
    client.on("connect_error", lambda data: errors.append(data))
    try:
        client.connect(url, auth={"refuse": True}, wait_timeout=5)
    except socketio.exceptions.ConnectionError as exc:
        return f"{exc} / {errors}"
    client.disconnect()
    return "connected"


async def test_connect_error_reaches_the_client(echo_url: str) -> None:
    outcome = await trio.to_thread.run_sync(_refused, echo_url)
    assert "refused by the test application" in outcome


async def test_server_side_api(echo_factory: Any) -> None:
    """enter_room / rooms / emit to a room / call with ack / disconnect, driven from the server object."""
    url, server = await echo_factory()
    client = socketio.Client(reconnection=False)
    got: list[Any] = []
    client.on("news", lambda *args: got.append(args))
    client.on("question", lambda a: a.upper())
    await trio.to_thread.run_sync(lambda: client.connect(url, transports=["websocket"], wait_timeout=5))
    try:
        sid = client.get_sid()
        assert server.enter_room(sid, "lobby")
        assert server.rooms() == ["lobby"]
        assert server.emit("news", "x", 1, to="lobby") == 1
        assert await server.call(sid, "question", "loud") == ["LOUD"]
        with trio.fail_after(5):
            while not got:
                await trio.sleep(0.01)
        assert got == [("x", 1)]
        server.leave_room(sid, "lobby")
        assert server.rooms() == []
        assert server.disconnect(sid)
        with trio.fail_after(5):
            while client.connected:
                await trio.sleep(0.01)
        assert server.socket(sid) is None
    finally:
        await trio.to_thread.run_sync(client.disconnect)
