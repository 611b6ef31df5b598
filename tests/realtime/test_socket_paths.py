"""The product's five Socket.IO paths on the real server process: handshake, CONNECT authentication, shutdown."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import socketio
import trio

from altegon_rt.realtime.sockets import SOCKET_PATHS
from altegon_rt.testing.process import TEST_SECRET, ServerProcess
from tests.conftest import make_user


@pytest.mark.parametrize("path", [p.path for p in SOCKET_PATHS])
async def test_every_path_opens_an_engineio_session(client: httpx.AsyncClient, path: str) -> None:
    r = await client.get(path, params={"EIO": "4", "transport": "polling"})
    assert r.status_code == 200
    handshake = json.loads(r.text[1:])
    assert handshake["upgrades"] == ["websocket"] and handshake["pingInterval"] == 25000
    media = path in ("/stream/socket.io/", "/recording/socket.io/")
    assert handshake["maxPayload"] == (16_000_000 if media else 1_000_000)


def _connect(url: str, path: str, auth: dict[str, Any] | None) -> dict[str, Any]:
    client = socketio.Client(reconnection=False)
    errors: list[Any] = []
    client.on("connect_error", lambda data: errors.append(data))
    try:
        client.connect(url, socketio_path=path, auth=auth, transports=["websocket"], wait_timeout=5)
    except socketio.exceptions.ConnectionError:
        return {"connected": False, "error": errors[0] if errors else None}
    try:
        return {"connected": True, "unknown": client.call("not-built-yet", timeout=5)}
    finally:
        client.disconnect()


async def test_connect_with_our_jwt(server: ServerProcess, client: httpx.AsyncClient) -> None:
    user = await make_user(client)
    result = await trio.to_thread.run_sync(_connect, server.url, "/socket.io/", {"token": user.token})
    assert result["connected"]
    # No handler is registered for this event on this path: the ack says so instead of hanging.
    assert result["unknown"]["success"] is False and result["unknown"]["error"]["code"] == "unknown_event"


async def test_token_in_the_query_string(server: ServerProcess, client: httpx.AsyncClient) -> None:
    user = await make_user(client)
    result = await trio.to_thread.run_sync(_connect, f"{server.url}?token={user.token}", "/recording/socket.io/", None)
    assert result["connected"]


@pytest.mark.parametrize("path", ["/socket.io/", "/sfu/socket.io/", "/recording/socket.io/"])
async def test_bad_and_expired_tokens_get_connect_error(server: ServerProcess, client: httpx.AsyncClient,
                                                        path: str) -> None:  # fmt: skip
    user = await make_user(client)
    past = int(time.time()) - 7200
    expired = jwt.encode({"sub": user.id, "role": "user", "iat": past, "exp": past + 60, "iss": "altegon-rt"},
                         TEST_SECRET, "HS256")  # fmt: skip
    bad = await trio.to_thread.run_sync(_connect, server.url, path, {"token": "not-a-jwt"})
    assert bad == {"connected": False, "error": {"message": "token is invalid", "data": {"code": "invalid_token"}}}
    old = await trio.to_thread.run_sync(_connect, server.url, path, {"token": expired})
    assert not old["connected"] and old["error"]["data"] == {"code": "token_expired"}


async def test_anonymous_viewers_only_where_allowed(server: ServerProcess) -> None:
    meet = await trio.to_thread.run_sync(_connect, server.url, "/socket.io/", None)
    assert meet["connected"]
    recording = await trio.to_thread.run_sync(_connect, server.url, "/recording/socket.io/", None)
    assert recording["connected"] is False
    assert recording["error"]["data"] == {"code": "missing_credentials"}


def test_sigterm_closes_open_sockets_quickly(fresh_data_dir: Path) -> None:
    proc = ServerProcess(fresh_data_dir, env={"ALTEGON_SERVER_SHUTDOWN_GRACE_S": "20"})
    clients = []
    try:
        for transports in (["websocket"], ["polling"]):
            c = socketio.Client(reconnection=False)
            c.connect(proc.url, transports=transports, wait_timeout=5)
            clients.append(c)
        started = time.monotonic()
        assert proc.terminate() == 0
        assert time.monotonic() - started < 8, "open sockets must not hold the stop for the grace period"
        deadline = time.monotonic() + 5
        while any(c.connected for c in clients) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(c.connected for c in clients)
    finally:
        for c in clients:
            c.disconnect()
        proc.kill()
