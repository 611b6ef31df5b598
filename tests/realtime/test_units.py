"""Pure parts of the realtime layer: presence bookkeeping, the whiteboard's strokes and bounds, payload fields."""

from __future__ import annotations

import pytest

from altegon_rt.realtime import whiteboard
from altegon_rt.realtime.payloads import boolean, object_id, required_text, text
from altegon_rt.realtime.presence import Participant, Presence
from altegon_rt.realtime.whiteboard import StageTooLarge, StrokeTooLarge, Whiteboard
from altegon_rt.sio.server import SocketError


def p(sid: str, device: str = "", host: bool = False) -> Participant:
    return Participant(sid, device or sid, None, host)


def test_presence_first_and_last() -> None:
    presence = Presence()
    assert presence.join("m", p("a", host=True)).first
    joined = presence.join("m", p("b", "dev-b"))
    assert not joined.first and joined.meeting.viewer_devices() == ["dev-b"] and joined.meeting.views == 2
    assert presence.join("m", p("b", "dev-b")).meeting.views == 2  # a rejoin of the same socket is no new view
    with pytest.raises(ValueError, match="already in m"):
        presence.join("other", p("a"))
    left = presence.leave("a")
    assert left is not None and not left.last and left.participant.is_host
    left = presence.leave("b")
    assert left is not None and left.last
    assert presence.get("m") is None and presence.leave("b") is None and len(presence) == 0


def stroke(board: Whiteboard, sid: str, n: int) -> None:
    for kind in ("mousedown", "mousemove", "mouseup"):
        board.draw(sid, {"drawingType": kind, "n": n})


def test_strokes_undo_clear_and_stage() -> None:
    board = Whiteboard()
    stroke(board, "a", 1)
    board.draw("b", {"drawingType": "mousedown", "n": 2})
    board.draw("a", {"drawingType": "mousedown", "n": 3})
    board.draw("b", {"drawingType": "mousemove", "n": 2})  # b's stroke continues, interleaved with a's
    assert board.stroke_count == 3
    assert [e["n"] for e in board.state()["drawing"]] == [1, 1, 1, 2, 2, 3]
    assert board.undo() and [e["n"] for e in board.state()["drawing"]] == [1, 1, 1, 2, 2]
    board.set_stage({"children": ["x"]})
    assert board.state() == {"enabled": False, "stage": {"children": ["x"]}, "drawing": []}
    board.clear()
    assert board.state()["stage"] is None and not board.undo()


def test_board_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(whiteboard, "MAX_EVENTS", 9)
    board = Whiteboard()
    for n in range(5):
        stroke(board, "a", n)
    assert [e["n"] for e in board.state()["drawing"]] == [2, 2, 2, 3, 3, 3, 4, 4, 4]  # the oldest went first
    board.draw("a", {"drawingType": "mousedown", "n": 9})
    with pytest.raises(StrokeTooLarge):
        for _ in range(20):
            board.draw("a", {"drawingType": "mousemove", "n": 9})
    monkeypatch.setattr(whiteboard, "MAX_STAGE_BYTES", 10)
    with pytest.raises(StageTooLarge):
        board.set_stage({"children": ["far too big for ten bytes"]})


def test_payload_fields() -> None:
    assert required_text({"a": "x"}, "a", max_length=3) == "x"
    assert text({"a": 12}, "a", max_length=3) == "12"
    assert text({}, "a", max_length=3, required=False) is None
    assert boolean({"a": "true"}, "a") is True
    assert object_id({"id": "0123456789abcdef01234567"}, "id") == "0123456789abcdef01234567"
    for call, code in [
        (lambda: required_text({}, "a", max_length=3), "field 'a' is required"),
        (lambda: required_text({"a": "long"}, "a", max_length=3), "field 'a' is longer than 3 characters"),
        (lambda: required_text({"a": ["x"]}, "a", max_length=3), "field 'a' must be a string"),
        (lambda: required_text({"a": "a\x00"}, "a", max_length=3), "field 'a' contains control characters"),
        (lambda: object_id({"id": "nope"}, "id"), "field 'id' must be a 24-character hex id"),
        (lambda: boolean({"a": 1}, "a"), "field 'a' must be true or false"),
    ]:
        with pytest.raises(SocketError, match=code):
            call()
