"""The echo application (altegon_rt/testing/sio_app.py) served in-process on a loopback port for each test."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import trio

from altegon_rt.eio.session import SessionLimits
from altegon_rt.sio.server import SioLimits, SocketServer
from altegon_rt.testing.sio_app import build_echo_server, listening_socket, serve_echo

ROOT = Path(__file__).resolve().parents[2]
NODE_SCRIPT = Path(__file__).parent / "node" / "conformance.mjs"


async def start_echo(nursery: trio.Nursery, server: SocketServer) -> str:
    return await nursery.start(serve_echo, listening_socket(), server)


@pytest.fixture
async def echo_url(nursery: trio.Nursery) -> str:
    return await start_echo(nursery, build_echo_server())


@pytest.fixture
def echo_factory(nursery: trio.Nursery) -> Callable[..., object]:
    async def make(session: SessionLimits | None = None, limits: SioLimits | None = None) -> tuple[str, SocketServer]:
        server = build_echo_server(session, limits)
        return await start_echo(nursery, server), server

    return make
