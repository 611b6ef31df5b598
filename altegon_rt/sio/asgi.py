"""An ASGI front that sends requests under each Socket.IO path to its server, everything else to the app.

Matching is by path prefix without the trailing slash (``/socket.io`` and ``/socket.io/`` both work, as
socket.io-client and python-socketio differ). Longest prefix first, so ``/sfu/socket.io`` is never taken by
``/socket.io``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from altegon_rt.eio.server import Receive, Scope, Send
from altegon_rt.sio.server import SocketServer

Asgi = Any


class SocketMounts:
    def __init__(self, app: Asgi, servers: Mapping[str, SocketServer]) -> None:
        self._app = app
        self._mounts = sorted(((path.rstrip("/"), server) for path, server in servers.items()),
                              key=lambda item: -len(item[0]))  # fmt: skip

    def server_for(self, path: str) -> SocketServer | None:
        for prefix, server in self._mounts:
            if path == prefix or path == prefix + "/":
                return server
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            server = self.server_for(scope.get("path", ""))
            if server is not None:
                await server.engine.asgi(scope, receive, send)
                return
        await self._app(scope, receive, send)
