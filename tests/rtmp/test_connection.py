"""The server connection wired to a minimal publisher: handshake, connect, publish and its answers, media,
protocol control, refusals and garbage."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from altegon_rt.rtmp import amf0
from altegon_rt.rtmp.chunks import Message
from altegon_rt.rtmp.connection import (
    HANDSHAKE_SIZE,
    ConnectRequest,
    Media,
    Metadata,
    PublishRequest,
    ServerConnection,
    State,
    Unpublished,
)
from altegon_rt.rtmp.errors import LocalProtocolError, RemoteProtocolError
from tests.rtmp.client import C1, Publisher, c0c1, commands, connected_pair


def test_handshake_echoes_c1_and_sends_a_plain_s1() -> None:
    server = ServerConnection(random_bytes=b"r" * (HANDSHAKE_SIZE - 8))
    server.receive_data(c0c1()[:100])
    assert server.data_to_send() == b"" and server.state is State.HANDSHAKE
    server.receive_data(c0c1()[100:])
    out = server.data_to_send()
    assert out[0] == 3 and out[1:9] == bytes(8) and out[9 : 1 + HANDSHAKE_SIZE] == b"r" * (HANDSHAKE_SIZE - 8)
    assert out[1 + HANDSHAKE_SIZE :] == C1  # S2: C1 echoed (its time, our read time 0)
    server.receive_data(out[1 : 1 + HANDSHAKE_SIZE])  # C2
    assert server.state is State.CONNECT


def test_connect_and_publish_answers() -> None:
    server, client = ServerConnection(), Publisher()
    server.receive_data(c0c1())
    server.receive_data(server.data_to_send()[1 : 1 + HANDSHAKE_SIZE] + client.connect())
    assert server.next_event() == ConnectRequest("live", "rtmp://h/live")
    server.accept_connect()
    answers = client.answers(server.data_to_send())
    window, bandwidth, chunk = struct.pack(">I", 2_500_000), struct.pack(">IB", 2_500_000, 2), struct.pack(">I", 4096)
    assert [(m.type_id, m.payload) for m in answers[:3]] == [(5, window), (6, bandwidth), (1, chunk)]
    result = commands(answers)[0]
    assert result[:2] == ["_result", 1.0] and result[3]["code"] == "NetConnection.Connect.Success"

    server.receive_data(client.publish_sequence("abc"))
    assert server.next_event() == PublishRequest(1, "abc", "live")
    assert [c[:3] for c in commands(client.answers(server.data_to_send()))] == [
        ["_result", 2.0, None], ["_result", 3.0, None], ["_result", 4.0, None]]  # fmt: skip
    server.accept_publish()
    answers = client.answers(server.data_to_send())
    assert answers[0].type_id == 4 and answers[0].payload == struct.pack(">HI", 0, 1)  # Stream Begin 1
    status = commands(answers)[0]
    assert status[0] == "onStatus" and status[3]["code"] == "NetStream.Publish.Start"
    assert server.state is State.PUBLISHING


def test_media_metadata_aggregates_and_unpublish() -> None:
    server, client, _ = connected_pair()
    server.accept_publish()
    meta = amf0.encode("@setDataFrame", "onMetaData", amf0.EcmaArray(videocodecid=7.0, audiocodecid=10.0))
    tag = b"\x17\x01\x00\x00\x00" + b"\x00\x00\x00\x01\x65"
    aggregate = b"".join(
        bytes([9]) + len(tag).to_bytes(3, "big") + ts.to_bytes(3, "big") + b"\x00" + bytes(3) + tag
        + struct.pack(">I", 11 + len(tag)) for ts in (500, 533)
    )  # fmt: skip
    audio = b"\xaf\x01x"
    server.receive_data(
        client.writer.write(Message(18, 1, 0, meta, 4))
        + client.media("video", 40, tag) + client.media("audio", 41, audio)
        + client.writer.write(Message(22, 1, 100, aggregate, 6)) + client.media("video", 0, tag, stream_id=2)
        + client.command("FCUnpublish", 6.0, None, "key") + client.command("deleteStream", 7.0, None, 1.0)
    )  # fmt: skip
    events = []
    while (event := server.next_event()) is not None:
        events.append(event)
    assert events == [
        Metadata({"videocodecid": 7.0, "audiocodecid": 10.0}), Media("video", 40, tag), Media("audio", 41, audio),
        Media("video", 100, tag), Media("video", 133, tag), Unpublished(1)]  # fmt: skip
    assert server.ignored == 1  # the media of a stream not published
    assert commands(client.answers(server.data_to_send()))[-1][3]["code"] == "NetStream.Unpublish.Success"


def test_refusals() -> None:
    server, client, _ = connected_pair()
    server.reject_publish("NetStream.Publish.BadName", "no livestream has this stream key")
    status = commands(client.answers(server.data_to_send()))[0]
    assert status[3] == {"level": "error", "code": "NetStream.Publish.BadName",
                         "description": "no livestream has this stream key"}  # fmt: skip
    assert server.state is State.CLOSED
    with pytest.raises(LocalProtocolError):
        server.accept_publish()

    server, client = ServerConnection(), Publisher()
    server.receive_data(c0c1() + C1 + client.connect("other"))
    server.data_to_send()
    server.reject_connect("no application 'other' here")
    result = commands(client.answers(server.data_to_send()))[0]
    assert result[0] == "_error" and result[3]["code"] == "NetConnection.Connect.Rejected"


def test_ping_acknowledgements_and_unknown_commands() -> None:
    server, client, _ = connected_pair()
    server.accept_publish()
    client.answers(server.data_to_send())
    server.receive_data(client.writer.write(Message(5, 0, 0, struct.pack(">I", 1000), 2)))
    server.receive_data(client.writer.write(Message(4, 0, 0, struct.pack(">HI", 6, 1234), 2)) + b"".join(
        client.media("audio", t, b"\xaf\x01" + bytes(200)) for t in range(6)))  # fmt: skip
    server.receive_data(client.command("play", 8.0, None, "x"))
    answers = client.answers(server.data_to_send())
    assert (4, struct.pack(">HI", 7, 1234)) in [(m.type_id, m.payload) for m in answers]  # Ping Response
    assert any(m.type_id == 3 for m in answers)  # Acknowledgement of the window
    assert commands(answers)[-1][:2] == ["_error", 8.0]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x06" + bytes(1536), "RTMP version 6 is not 3 (RTMPE and others: not taken)"),
        (b"GET / HTTP/1.1\r\n", "RTMP version 71 is not 3 (RTMPE and others: not taken)"),
        (
            c0c1() + C1 + Publisher().command("publish", 1.0, None, "k"),
            "the first command must be connect, not 'publish'",
        ),
        (c0c1() + C1 + Publisher().command(5.0), "a command without a name and a transaction id"),
    ],
)
def test_garbage_is_a_remote_error(data: bytes, message: str) -> None:
    with pytest.raises(RemoteProtocolError) as caught:
        ServerConnection().receive_data(data)
    assert str(caught.value) == message


@settings(max_examples=200)
@given(st.binary(max_size=400), st.booleans())
def test_fuzz_after_the_handshake_and_connect(data: bytes, published: bool) -> None:
    server, _, _ = connected_pair()
    if published:
        server.accept_publish()
    try:
        server.receive_data(data)
    except RemoteProtocolError:
        return
    while server.next_event() is not None:
        pass
    assert isinstance(server.data_to_send(), bytes)


def test_what_follows_a_request_waits_for_the_decision() -> None:
    """An encoder that sends connect, publish and media at once: each request is decided before the next is read."""
    server, client = ServerConnection(), Publisher()
    server.receive_data(c0c1())
    server.data_to_send()
    tag = b"\x17\x01\x00\x00\x00\x00\x00\x00\x01\x65"
    server.receive_data(C1 + client.connect() + client.publish_sequence("k") + client.media("video", 0, tag))
    assert server.next_event() == ConnectRequest("live", "rtmp://h/live") and server.next_event() is None
    server.accept_connect()
    assert server.next_event() == PublishRequest(1, "k", "live") and server.next_event() is None
    server.accept_publish()
    assert server.next_event() == Media("video", 0, tag)
    assert [c[0] for c in commands(client.answers(server.data_to_send()))] == ["_result"] * 4 + ["onStatus"]
