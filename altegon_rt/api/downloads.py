"""File downloads as the API sends them: always an attachment of type application/octet-stream.

Whatever was uploaded, a browser saves it instead of rendering it, so an uploaded page can never run in our
origin; ``nosniff`` stops the browser from guessing otherwise. The SHA-256 of the bytes travels along.
A download whose source breaks halfway (``BrokenStream``) ends with the connection cut, see
:class:`CutBrokenStreams`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from typing import Any

from altegon_rt.api.routing import Reply
from altegon_rt.errors import BrokenStream
from altegon_rt.files.names import attachment_disposition

App = Callable[[MutableMapping[str, Any], Any, Any], Awaitable[None]]


def attachment(name: str, size: int, sha256: str, stream: AsyncIterator[bytes]) -> Reply:
    headers = {
        "Content-Disposition": attachment_disposition(name),
        "Content-Length": str(size),
        "X-Content-SHA256": sha256,
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, no-store",
    }
    return Reply(200, headers=headers, stream=stream, content_type="application/octet-stream")


class CutBrokenStreams:
    """ASGI middleware: an app that stops with :class:`BrokenStream` just returns, and the server closes the
    connection before the body is complete (the client sees a short body, which its Content-Length reveals).

    Without this the exception would reach hypercorn, which logs it as a crash with a traceback; the cause is
    already logged, as one warning, where the stream broke.
    """

    def __init__(self, app: App) -> None:
        self._app = app

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        try:
            await self._app(scope, receive, send)
        except* BrokenStream:
            pass
