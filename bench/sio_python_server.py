"""The bench application of altegon_rt/testing/sio_app.py (join, broadcast, echo) on python-socketio's
AsyncServer under uvicorn (uvloop, httptools, websockets), for bench/sio.py. Usage: sio_python_server.py PORT
"""

from __future__ import annotations

import sys
from typing import Any

import socketio
import uvicorn

sio = socketio.AsyncServer(async_mode="asgi", cors_allowed_origins="*", max_http_buffer_size=1_000_000)
app = socketio.ASGIApp(sio)


@sio.on("join")
async def join(sid: str, room: str) -> int:
    await sio.enter_room(sid, room)
    return len(list(sio.manager.get_participants("/", room)))


@sio.on("broadcast")
async def broadcast(sid: str, room: str, *args: Any) -> int:
    await sio.emit("broadcast", tuple(args), to=room, skip_sid=sid)
    return 1


@sio.on("echo")
async def echo(sid: str, *args: Any) -> tuple[Any, ...]:
    return args


if __name__ == "__main__":
    print("listening", flush=True)
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", backlog=8192)
