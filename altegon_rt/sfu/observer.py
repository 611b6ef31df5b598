"""Observer events of the SFU objects (mediasoup's ``observer`` emitters) as a typed trio memory channel.

The data plane is synchronous, so events are sent with ``send_nowait`` into a bounded buffer: an owner that
stops reading loses events (counted in :attr:`Observer.dropped`) rather than stalling media. The channel is
closed when the object closes, so ``async for event in obj.observer.events`` ends by itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import trio

EventName = Literal[
    "close",
    "transportclose",
    "producerclose",
    "pause",
    "resume",
    "producerpause",
    "producerresume",
]

OBSERVER_BUFFER = 32  # lifecycle events only: a handful per object over its whole life


@dataclass(frozen=True, slots=True)
class ObjectEvent:
    """One lifecycle event: ``name`` as in mediasoup, ``reason`` set on the close events."""

    name: EventName
    reason: str | None = None


class Observer:
    """The sending half stays with the object; owners read :attr:`events`."""

    def __init__(self) -> None:
        self._send, self.events = trio.open_memory_channel[ObjectEvent](OBSERVER_BUFFER)
        self.dropped = 0

    def emit(self, name: EventName, reason: str | None = None) -> None:
        try:
            self._send.send_nowait(ObjectEvent(name, reason))
        except (trio.WouldBlock, trio.ClosedResourceError, trio.BrokenResourceError):
            self.dropped += 1

    def close(self) -> None:
        self._send.close()

    def drain(self) -> list[ObjectEvent]:
        """Every buffered event, without awaiting: for sync owners and tests."""
        out: list[ObjectEvent] = []
        while True:
            try:
                out.append(self.events.receive_nowait())
            except (trio.WouldBlock, trio.EndOfChannel, trio.ClosedResourceError):
                return out
