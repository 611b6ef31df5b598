"""socket.io-client's browser bundle in headless Chromium, on a page of another origin: CORS, native
XMLHttpRequest long-polling and WebSocket, binary ArrayBuffers."""

from __future__ import annotations

import json

import pytest
import trio

from tests.sio.conftest import ROOT

BROWSER_SCRIPT = ROOT / "tests" / "sio" / "node" / "browser.mjs"


@pytest.mark.slow
async def test_browser_client_on_every_transport(echo_url: str, node: str) -> None:
    with trio.fail_after(90):
        done = await trio.run_process([node, str(BROWSER_SCRIPT), echo_url], capture_stdout=True,
                                      capture_stderr=True, check=False, cwd=ROOT)  # fmt: skip
    lines = done.stdout.decode().strip().splitlines()
    assert lines, done.stderr.decode()
    outcome = json.loads(lines[-1])
    assert outcome["ok"], outcome["error"]
    result = outcome["result"]
    assert result["origin"] != echo_url and result["origin"].startswith("http://127.0.0.1:")  # cross-origin
    expected = {"polling+websocket": "websocket", "polling": "polling", "websocket": "websocket"}
    for transports, transport in expected.items():
        assert result[transports] == {"transport": transport, "text": "héllo", "bytes": [1, 2, 250]}
