"""The ceiling of our HTTP stack: one QuartTrio route, no auth, no database, served like the real server.

``GET /bare`` answers a small JSON object. The hypercorn configuration and the listening socket come from
``altegon_rt.server.Server._hypercorn_config`` itself (graceful timeout, no Server header, no access log,
keep-alive 5 s, our own socket with TCP_NODELAY), and the app is wrapped and served by
``hypercorn.trio.run.worker_serve`` in one trio process, exactly as ``Server._serve_http`` does. Whatever
separates the real routes from this one is therefore our code, not the stack.

Run as ``python bench/bare_app.py``; it prints ``bare listening on http://127.0.0.1:PORT`` on stdout and
stops cleanly on SIGTERM or SIGINT.
"""

from __future__ import annotations

import logging
import signal
import sys
from functools import partial
from typing import Any

import trio
from hypercorn.trio.run import worker_serve
from hypercorn.utils import wrap_app
from quart_trio import QuartTrio

from altegon_rt.config import Config, ServerSection
from altegon_rt.server import Server


def create_bare_app() -> QuartTrio:
    app = QuartTrio("altegon_bare")

    @app.get("/bare")
    async def bare() -> dict[str, Any]:
        return {"ok": True, "service": "bare"}

    return app


async def _wait_for_signal(stopping: trio.Event) -> None:
    with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        async for _ in signals:
            stopping.set()
            return


async def serve() -> None:
    config = Config(server=ServerSection(host="127.0.0.1", http_port=0))
    hc, sockets = Server(config)._hypercorn_config()
    app = wrap_app(create_bare_app(), hc.wsgi_max_body_size, "asgi")
    stopping = trio.Event()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_wait_for_signal, stopping)
        await nursery.start(partial(worker_serve, app, hc, sockets=sockets, shutdown_trigger=stopping.wait))
        host, port = sockets.insecure_sockets[0].getsockname()[:2]
        print(f"bare listening on http://{host}:{port}", flush=True)
        await stopping.wait()
    # worker_serve returns once the listeners are closed and in-flight requests are done.


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    trio.run(serve)
    return 0


if __name__ == "__main__":
    sys.exit(main())
