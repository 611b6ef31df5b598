"""Garbage in every application event of the Meet and ART sockets, and random event names: an error ack or a
success, never a dropped connection, a hang, a traceback in the server log, or anything reaching the
participants of other meetings and rooms."""

from __future__ import annotations

from typing import Any

import pytest
import socketio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from altegon_rt.realtime.art import RULES
from altegon_rt.testing.process import ServerProcess

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=15,
)
MEET_EVENTS = ["room.join.new", "room.join", "chat.send-message", "transcript.send"]
meet_payloads = st.one_of(
    json_values,
    st.fixed_dictionaries({"meetingID": json_values, "deviceID": json_values, "isHost": json_values}),
    st.fixed_dictionaries({"message": json_values, "username": json_values, "timestamp": json_values}),
)
art_payloads = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {"type": st.sampled_from(sorted(RULES)), "msg": json_values, "id": json_values, "userId": json_values}
    ),
)


class Observer:
    """A participant of another meeting and another ART room: the fuzzing must never reach it."""

    def __init__(self, url: str) -> None:
        self.seen: list[Any] = []
        self.meet = socketio.Client(reconnection=False)
        self.art = socketio.Client(reconnection=False)
        for client in (self.meet, self.art):
            client.on("*", lambda event, *args: self.seen.append((event, args)))
        self.meet.connect(url, transports=["websocket"], wait_timeout=5)
        self.art.connect(url, socketio_path="/erizocontroller/socket.io/", transports=["websocket"], wait_timeout=5)
        assert self.art.call("joinRoom", {"roomId": "quiet-room", "username": "o"}, timeout=10)["success"]
        self.seen.clear()

    def close(self) -> None:
        self.meet.disconnect()
        self.art.disconnect()


@pytest.fixture(scope="module")
def observer(server: ServerProcess) -> Any:
    watcher = Observer(server.url)
    yield watcher
    watcher.close()


@pytest.fixture(scope="module")
def meet_client(server: ServerProcess) -> Any:
    client = socketio.Client(reconnection=False)
    client.connect(server.url, transports=["websocket"], wait_timeout=5)
    yield client
    client.disconnect()


@pytest.fixture(scope="module")
def art_client(server: ServerProcess) -> Any:
    client = socketio.Client(reconnection=False)
    client.connect(server.url, socketio_path="/erizocontroller/socket.io/", transports=["websocket"], wait_timeout=5)
    assert client.call("joinRoom", {"roomId": "fuzz-room", "username": "f"}, timeout=10)["success"]
    yield client
    client.disconnect()


def _answer_is_well_formed(answer: Any) -> None:
    assert isinstance(answer, dict) and isinstance(answer.get("success"), bool), answer
    if not answer["success"]:
        assert set(answer["error"]) == {"code", "message"}
        assert answer["error"]["code"] != "internal_error", answer


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(event=st.sampled_from(MEET_EVENTS), payload=meet_payloads)
def test_meet_events(observer: Any, meet_client: Any, event: str, payload: Any) -> None:
    _answer_is_well_formed(meet_client.call(event, payload, timeout=10))
    assert meet_client.connected


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payload=art_payloads)
def test_art_events(art_client: Any, payload: Any) -> None:
    _answer_is_well_formed(art_client.call("sendData", payload, timeout=10))
    assert art_client.connected


event_names = st.one_of(st.text(max_size=30), st.sampled_from(["joinRoom", "sendData", *MEET_EVENTS]))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=event_names, payload=json_values)
def test_random_event_names(meet_client: Any, art_client: Any, name: str, payload: Any) -> None:
    if name in {"connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"}:
        return  # the client library refuses to send these (reserved)
    for client in (meet_client, art_client):
        _answer_is_well_formed(client.call(name, payload, timeout=10))
        assert client.connected


def test_nothing_reached_others(server: ServerProcess, observer: Any, meet_client: Any, art_client: Any) -> None:
    # Runs last in this module: the observer joined before any fuzzing (module fixture order).
    assert observer.seen == []
    assert "Traceback" not in server.log_text()
