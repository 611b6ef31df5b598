"""The error model: every 4xx/5xx is JSON with code and message; request ids; size limits."""

from __future__ import annotations

import socket

import httpx

from altegon_rt.testing.process import ServerProcess
from tests.conftest import User, assert_error


async def test_unknown_route_is_json_404(client: httpx.AsyncClient) -> None:
    r = await client.get("/no/such/route")
    assert_error(r, 404, "not_found")
    assert len(r.headers["x-request-id"]) == 16


async def test_wrong_method_is_json_405_with_allow(client: httpx.AsyncClient) -> None:
    r = await client.get("/auth/login")
    assert_error(r, 405, "method_not_allowed")
    assert "POST" in r.headers["allow"]


async def test_malformed_json_is_400(client: httpx.AsyncClient) -> None:
    for raw in (b"{", b"[1,2", b"\xff\xfe", b"", b"{'single': 'quotes'}", b"NaN", b'{"a": Infinity}'):
        r = await client.post("/auth/login", content=raw, headers={"content-type": "application/json"})
        assert_error(r, 400)
    r = await client.post("/auth/login", json=[1, 2, 3])
    assert_error(r, 400, "invalid_body")
    r = await client.post("/auth/login", content=b"[" * 100_000 + b"]" * 100_000)
    assert_error(r, 400)


async def test_body_over_limit_is_413(client: httpx.AsyncClient, alice: User) -> None:
    big = b'{"name": "' + b"x" * (2 * 1024 * 1024) + b'", "type": "meeting"}'
    r = await client.post("/room/create", content=big, headers=alice.headers)
    assert_error(r, 413, "payload_too_large")

    async def chunks() -> object:
        for _ in range(40):
            yield b"x" * 65536

    r = await client.post("/room/create", content=chunks(), headers=alice.headers)  # chunked, no length
    assert_error(r, 413, "payload_too_large")


async def test_request_id_on_success_too(client: httpx.AsyncClient) -> None:
    first = await client.get("/healthz")
    second = await client.get("/healthz")
    assert first.headers["x-request-id"] != second.headers["x-request-id"]
    assert first.headers["x-content-type-options"] == "nosniff"


async def test_health_and_ready(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    assert (await client.get("/readyz")).json() == {"status": "ready", "storage": "embedded"}


async def test_early_answer_with_unread_body_does_not_stall(client: httpx.AsyncClient) -> None:
    """A 401 decided before the body is read must still reach a client that is busy uploading."""

    async def chunks() -> object:
        for _ in range(12):
            yield b"y" * 65536

    r = await client.post("/room/create", content=chunks())
    assert_error(r, 401, "missing_credentials")
    assert (await client.get("/healthz")).status_code == 200


def test_keep_alive_is_kept_for_requests_without_body(server: ServerProcess) -> None:
    host, port = server.url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        replies = []
        for _ in range(3):  # three requests on one connection
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            reply = b""
            while not reply.endswith(b"}"):
                reply += sock.recv(4096)
            replies.append(reply.lower())
    assert all(r.startswith(b"http/1.1 200") and b"connection: close" not in r for r in replies)
