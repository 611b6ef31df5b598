"""A small Socket.IO application on our server for conformance tests and ``bench/sio.py``.

Events on ``/`` (and ``/admin``): ``echo`` acks its arguments back; ``emit-back`` emits them back as
``echo``; ``join`` joins a room and acks the room's size; ``broadcast`` sends ``broadcast`` with its
arguments to a room (all but the sender unless ``include_self``); ``ask`` calls the client's ``question``
and acks its answer; ``bye`` disconnects the namespace; ``close`` closes the whole connection. A CONNECT with
``{"refuse": true}`` in its auth is refused. Run it alone with ``python -m altegon_rt.testing.sio_app --port N``.
"""

from __future__ import annotations

import argparse
import logging
import socket
from typing import Any

import trio
from hypercorn.config import Config as HyperConfig
from hypercorn.config import Sockets
from hypercorn.trio.run import worker_serve
from hypercorn.utils import wrap_app

from altegon_rt.eio.session import SessionLimits
from altegon_rt.sio import fast_send
from altegon_rt.sio.asgi import SocketMounts
from altegon_rt.sio.server import ConnectRefused, SioLimits, SocketServer
from altegon_rt.sio.socket import Socket


def build_echo_server(session: SessionLimits | None = None, limits: SioLimits | None = None) -> SocketServer:
    server = SocketServer("echo", session or SessionLimits(), limits)
    for namespace in ("/", "/admin"):
        _register(server, namespace)
    return server


def _register(server: SocketServer, namespace: str) -> None:
    on = server.on

    @on("connect", namespace)
    async def connect(sock: Socket, auth: dict[str, Any]) -> None:
        if auth.get("refuse"):
            raise ConnectRefused("refused by the test application", {"reason": "asked"})
        sock.session["auth"] = auth

    @on("echo", namespace)
    async def echo(sock: Socket, *args: Any) -> tuple[Any, ...]:
        return args

    @on("emit-back", namespace)
    async def emit_back(sock: Socket, *args: Any) -> None:
        sock.emit("echo", *args)

    @on("join", namespace)
    async def join(sock: Socket, room: str) -> int:
        sock.join(str(room))
        return len(server.room_members(str(room), namespace))

    @on("broadcast", namespace)
    async def broadcast(sock: Socket, room: str, *args: Any) -> int:
        return server.emit("broadcast", *args, to=str(room), skip_sid=sock.sid, namespace=namespace)

    @on("ask", namespace)
    async def ask(sock: Socket, *args: Any) -> Any:
        answer = await sock.call("question", *args, wait_s=5)
        return tuple(answer)

    @on("bye", namespace)
    async def bye(sock: Socket) -> None:
        sock.disconnect()

    @on("close", namespace)
    async def close(sock: Socket) -> None:
        sock.disconnect(close_connection=True)

    @on("whoami", namespace)
    async def whoami(sock: Socket) -> dict[str, Any]:
        return {"sid": sock.sid, "namespace": sock.namespace, "auth": sock.session.get("auth", {})}


async def _not_found(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] == "http":
        await send({"type": "http.response.start", "status": 404, "headers": []})
        await send({"type": "http.response.body", "body": b""})
    else:
        await send({"type": "websocket.close"})


async def serve_echo(sock: socket.socket, server: SocketServer,
                     *, task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED) -> None:  # fmt: skip
    """Serve ``server`` at ``/socket.io/`` on an already bound listening socket until cancelled."""
    config = HyperConfig()
    config.accesslog = None
    config.errorlog = logging.getLogger("hypercorn.error")
    config.keep_alive_timeout = 30
    host, port = sock.getsockname()[:2]
    fast_send.install()
    app = wrap_app(SocketMounts(_not_found, {"/socket.io/": server}), config.wsgi_max_body_size, "asgi")
    async with trio.open_nursery() as nursery:
        await nursery.start(server.run)
        await nursery.start(
            lambda task_status: worker_serve(app, config, sockets=Sockets([], [sock], []), task_status=task_status)
        )
        task_status.started(f"http://{host}:{port}")


def listening_socket(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(1024)
    sock.setblocking(False)
    return sock


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    sock = listening_socket(port=args.port)

    async def run() -> None:
        async with trio.open_nursery() as nursery:
            # No inbound event limit when run alone (bench/sio.py): the bench's emitter sends as fast as the
            # server delivers, as it does to the other servers, which have no such limit.
            unlimited = SioLimits(events_per_second=1e9, event_burst=1e9)
            url = await nursery.start(serve_echo, sock, build_echo_server(limits=unlimited))
            print(f"listening on {url}", flush=True)

    trio.run(run)


if __name__ == "__main__":
    main()
