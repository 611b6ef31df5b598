"""One room's whiteboard as the server keeps it: the last stage snapshot plus the strokes drawn since. Pure.

The ART package draws with ``sendDrawingData`` events (``drawingType`` ``mousedown`` starts a stroke; the
moves and ``mouseup`` that follow from the same socket belong to it), undoes the most recent stroke with
``Un-do``, wipes everything with ``clear-whiteBoard`` and replaces the canvas with ``white-board-stage``.
Keeping this on the server answers a late joiner's ``whiteBoardStateRequest`` even when whoever drew has
left. Size is bounded (events and bytes); past the bound the oldest strokes are dropped, never the newest.
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass, field
from typing import Any

MAX_EVENTS = 50_000
MAX_BYTES = 8_000_000
MAX_STAGE_BYTES = 4_000_000


class StageTooLarge(ValueError):
    pass


class StrokeTooLarge(ValueError):
    pass


@dataclass(slots=True)
class Stroke:
    owner: str  # the socket id that drew it
    events: list[Any] = field(default_factory=list)
    size: int = 0


class Whiteboard:
    __slots__ = ("_bytes", "_events", "_open", "_strokes", "enabled", "owner", "stage")

    def __init__(self) -> None:
        self.enabled = False
        self.owner: str | None = None  # who turned it on
        self.stage: Any = None  # the last white-board-stage snapshot
        self._strokes: deque[Stroke] = deque()
        self._open: dict[str, Stroke] = {}  # each socket's stroke in progress
        self._events = 0
        self._bytes = 0

    def toggle(self, flag: bool, by: str) -> None:
        self.enabled = flag
        self.owner = by if flag else self.owner

    def draw(self, socket_id: str, event: Any) -> None:
        """Add one drawing event; a ``mousedown`` (or a first event from this socket) starts a new stroke."""
        size = len(json.dumps(event, separators=(",", ":")))
        kind = event.get("drawingType") if isinstance(event, dict) else None
        stroke = self._open.get(socket_id)
        if (
            stroke is not None
            and kind != "mousedown"
            and (len(stroke.events) >= MAX_EVENTS or stroke.size + size > MAX_BYTES)
        ):
            raise StrokeTooLarge("this stroke is too long: start a new one")
        if stroke is None or kind == "mousedown":
            stroke = Stroke(socket_id)
            self._strokes.append(stroke)
            self._open[socket_id] = stroke
        stroke.events.append(event)
        stroke.size += size
        self._events += 1
        self._bytes += size
        if kind == "mouseup":
            self._open.pop(socket_id, None)
        self._trim()

    def undo(self) -> bool:
        """Remove the most recent stroke; ``False`` when there is none."""
        if not self._strokes:
            return False
        stroke = self._strokes.pop()
        self._forget(stroke)
        return True

    def clear(self) -> None:
        self.stage = None
        self._strokes.clear()
        self._open.clear()
        self._events = self._bytes = 0

    def set_stage(self, stage: Any) -> None:
        """Replace the canvas: the snapshot already contains every stroke drawn so far."""
        if len(json.dumps(stage, separators=(",", ":"))) > MAX_STAGE_BYTES:
            raise StageTooLarge(f"the stage is larger than {MAX_STAGE_BYTES} bytes")
        self.clear()
        self.stage = stage

    def state(self) -> dict[str, Any]:
        """What a late joiner needs to draw the board as it is."""
        strokes = [event for stroke in self._strokes for event in stroke.events]
        return {"enabled": self.enabled, "stage": self.stage, "drawing": strokes}

    @property
    def stroke_count(self) -> int:
        return len(self._strokes)

    def _trim(self) -> None:
        while (self._events > MAX_EVENTS or self._bytes > MAX_BYTES) and len(self._strokes) > 1:
            self._forget(self._strokes.popleft())

    def _forget(self, stroke: Stroke) -> None:
        self._events -= len(stroke.events)
        self._bytes -= stroke.size
        if self._open.get(stroke.owner) is stroke:
            del self._open[stroke.owner]
