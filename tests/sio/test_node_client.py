"""Unmodified socket.io-client (npm, under Node) against our server: every scenario of conformance.mjs."""

from __future__ import annotations

import json
from typing import Any

import pytest
import trio

from tests.sio.conftest import NODE_SCRIPT, ROOT


async def run_scenario(node: str, url: str, scenario: str) -> dict[str, Any]:
    with trio.fail_after(30):
        done = await trio.run_process([node, str(NODE_SCRIPT), url, scenario], capture_stdout=True,
                                      capture_stderr=True, check=False, cwd=ROOT)  # fmt: skip
    lines = done.stdout.decode().strip().splitlines()
    assert lines, done.stderr.decode()
    outcome = json.loads(lines[-1])
    assert outcome["ok"], outcome["error"]
    return outcome["result"]


async def test_polling_upgrade_events_acks_and_binary(echo_url: str, node: str) -> None:
    result = await run_scenario(node, echo_url, "basic")
    assert result["upgraded"] is True
    assert result["transport"] == "websocket"
    assert result["echo"] == ["hello", {"n": 1}, [1, 2, 3]]
    assert result["bin"] == {"file": [1, 2, 3, 255], "second": "xyz"}
    assert result["asked"] == [42, "ok"]  # the server's call to the client, acked back
    assert result["back"] == ["again", [9, 8]]
    assert result["unknown"][0]["error"]["code"] == "unknown_event"


@pytest.mark.parametrize(("scenario", "transport"), [("websocketOnly", "websocket"), ("pollingOnly", "polling")])
async def test_single_transport(echo_url: str, node: str, scenario: str, transport: str) -> None:
    result = await run_scenario(node, echo_url, scenario)
    assert result["transport"] == transport
    if scenario == "pollingOnly":
        assert result["many"] == list(range(20))
        assert result["bin"] == [0, 1, 2]


async def test_namespaces_and_connect_errors(echo_url: str, node: str) -> None:
    result = await run_scenario(node, echo_url, "namespacesAndRefusal")
    assert result["who"]["namespace"] == "/admin"
    assert result["badErr"] == "Invalid namespace"
    assert result["refused"] == {"message": "refused by the test application", "data": {"reason": "asked"}}


async def test_rooms_broadcast_skips_the_sender(echo_url: str, node: str) -> None:
    result = await run_scenario(node, echo_url, "rooms")
    assert result["sizes"] == [1, 2, 3, 4, 5]
    assert result["sent"] == 4
    assert result["got"] == [["to all", 7]] * 4
    assert result["senderGot"] is False


async def test_server_side_disconnects(echo_url: str, node: str) -> None:
    result = await run_scenario(node, echo_url, "serverDisconnect")
    assert result == {"reason": "io server disconnect", "closedReason": "io server disconnect"}
