"""The body-limit middleware against a tiny ASGI app: messages in, messages out."""

from __future__ import annotations

from typing import Any

import trio

from altegon_rt.api.body_limit import BODY_STREAM, BodyLimit

Message = dict[str, Any]


class Exchange:
    """Feeds request messages; after the body, receive() blocks like a server until the test ends."""

    def __init__(self, chunks: list[bytes], headers: list[tuple[bytes, bytes]], version: str = "1.1") -> None:
        self.scope = {"type": "http", "http_version": version, "headers": headers, "method": "POST", "path": "/"}
        self.pending = [
            {"type": "http.request", "body": c, "more_body": i < len(chunks) - 1} for i, c in enumerate(chunks)
        ]
        self.sent: list[Message] = []
        self.receives = 0

    async def receive(self) -> Message:
        self.receives += 1
        if self.pending:
            await trio.lowlevel.checkpoint()
            return self.pending.pop(0)
        await trio.sleep_forever()
        raise AssertionError

    async def send(self, message: Message) -> None:
        self.sent.append(message)

    @property
    def status(self) -> int:
        return next(m["status"] for m in self.sent if m["type"] == "http.response.start")

    @property
    def headers(self) -> dict[bytes, bytes]:
        start = next(m for m in self.sent if m["type"] == "http.response.start")
        return dict(start["headers"])


def reading_app(seen: list[bytes]) -> Any:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            seen.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    return app


async def early_app(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 401, "headers": []})
    await send({"type": "http.response.body", "body": b"no"})


async def run(limit: BodyLimit, exchange: Exchange) -> None:
    with trio.fail_after(5):
        await limit(exchange.scope, exchange.receive, exchange.send)


async def test_small_body_passes_through_and_keeps_the_connection() -> None:
    seen: list[bytes] = []
    ex = Exchange([b"ab", b"cd"], [(b"transfer-encoding", b"chunked")])
    await run(BodyLimit(reading_app(seen), 10, 100), ex)
    assert ex.status == 200 and seen == [b"ab", b"cd"] and b"connection" not in ex.headers


async def test_declared_oversize_is_drained_then_413_close() -> None:
    ex = Exchange([b"x" * 8, b"x" * 8], [(b"content-length", b"16")])
    await run(BodyLimit(reading_app([]), 10, 100), ex)
    assert ex.status == 413 and ex.headers[b"connection"] == b"close"
    assert not ex.pending  # the whole body was read before answering


async def test_chunked_oversize_replaces_the_apps_answer() -> None:
    seen: list[bytes] = []
    ex = Exchange([b"x" * 6, b"x" * 6, b"x" * 6], [(b"transfer-encoding", b"chunked")])
    await run(BodyLimit(reading_app(seen), 10, 100), ex)
    assert ex.status == 413 and sum(map(len, seen)) <= 10 and not ex.pending


async def test_drain_stops_at_the_cap() -> None:
    ex = Exchange([b"x" * 50] * 10, [(b"content-length", b"500")])
    await run(BodyLimit(reading_app([]), 10, 120), ex)
    assert ex.status == 413 and len(ex.pending) > 0  # stopped reading past the cap


async def test_early_answer_drains_and_closes_on_http1_only() -> None:
    ex = Exchange([b"a", b"b"], [(b"transfer-encoding", b"chunked")])
    await run(BodyLimit(early_app, 10, 100), ex)
    assert ex.status == 401 and ex.headers[b"connection"] == b"close" and not ex.pending
    h2 = Exchange([b"a", b"b"], [], version="2")
    await run(BodyLimit(early_app, 10, 100), h2)
    assert h2.status == 401 and b"connection" not in h2.headers


async def test_bodiless_get_is_not_closed_and_does_not_spin() -> None:
    ex = Exchange([b""], [])
    ex.scope["method"] = "GET"
    await run(BodyLimit(early_app, 10, 100), ex)
    assert b"connection" not in ex.headers and ex.receives == 0


async def test_receive_after_the_cut_waits_like_the_server() -> None:
    """Quart keeps calling receive() until a disconnect; past the end of a cut body that must wait, not spin."""
    extra_answers = 0

    async def quart_like(scope: Any, receive: Any, send: Any) -> None:
        nonlocal extra_answers
        while (await receive()).get("more_body"):
            pass
        with trio.move_on_after(0.2):
            for _ in range(1000):
                await receive()
                extra_answers += 1
        await send({"type": "http.response.start", "status": 200, "headers": []})

    ex = Exchange([b"x" * 6, b"x" * 6, b"x" * 6], [(b"transfer-encoding", b"chunked")])
    await run(BodyLimit(quart_like, 10, 100), ex)
    assert ex.status == 413 and extra_answers == 0


async def test_streamed_route_pulls_the_body_on_demand() -> None:
    pulled: list[bytes] = []

    async def handler(scope: Any, receive: Any, send: Any) -> None:
        assert (await receive()) == {"type": "http.request", "body": b"", "more_body": False}
        async for chunk in scope[BODY_STREAM]:
            pulled.append(chunk)
        await send({"type": "http.response.start", "status": 200, "headers": []})

    ex = Exchange([b"ab", b"cd", b"ef"], [(b"transfer-encoding", b"chunked")])
    ex.scope["path"] = "/up"
    await run(BodyLimit(handler, 1, 100, overrides=(("POST", "/up", 10),)), ex)
    assert ex.status == 200 and pulled == [b"ab", b"cd", b"ef"]
    over = Exchange([b"x" * 6, b"x" * 6], [(b"transfer-encoding", b"chunked")])
    over.scope["path"] = "/up"
    await run(BodyLimit(handler, 1, 100, overrides=(("POST", "/up", 10),)), over)
    assert over.status == 413
