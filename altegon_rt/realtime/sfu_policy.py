"""The hooks another subsystem uses to shape the SFU socket: who joins which room, who may produce, consume, chat.

:class:`~altegon_rt.realtime.sfu.SfuSocket` consults one :class:`SfuPolicy`. This base class changes nothing
(every join, produce, consume and message is decided by the SFU's own rules alone); RealtimeKit's subclass
(``altegon_rt/rtk/sfu_policy.py``) maps meetings onto rooms and enforces preset permissions. Checks refuse by
raising :class:`~altegon_rt.sio.server.SocketError` and run after the SFU's own checks; observers
(``joined``, ``left``, ``produced``, ``consumed``, ``message``) must not raise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from altegon_rt.realtime.sfu_rooms import RoomMode, SfuPeer, SfuRoom
from altegon_rt.sfu.consumer import Consumer
from altegon_rt.sfu.producer import Producer
from altegon_rt.sio.socket import Socket


@dataclass(frozen=True, slots=True)
class Admission:
    """What a policy decided about a ``join``."""

    name: str | None = None  # the peer's name, over the one the client sent
    open_as: RoomMode | None = None  # make the room on this first join, without a createRoom


class SfuPolicy:
    """The default policy: admits everything, observes nothing."""

    async def admit(self, sock: Socket, room_id: str) -> Admission:
        """Called on ``join`` before the room is looked up; raise SocketError to refuse."""
        return Admission()

    def check_produce(self, sock: Socket, room: SfuRoom, peer: SfuPeer, kind: str, app_data: dict[str, Any]) -> None:
        """Called on ``produce``; raise SocketError to refuse."""

    def check_consume(self, sock: Socket, room: SfuRoom, peer: SfuPeer, producer_id: str) -> None:
        """Called on ``consume``; raise SocketError to refuse."""

    def check_message(self, sock: Socket, room: SfuRoom, peer: SfuPeer) -> None:
        """Called on ``sendMessage``; raise SocketError to refuse."""

    def joined(self, sock: Socket, room: SfuRoom, peer: SfuPeer) -> None:
        """A peer is in the room."""

    def left(self, room: SfuRoom, peer: SfuPeer) -> None:
        """A peer left (exitRoom, disconnect, kick); its producers and consumers are still there to read."""

    def produced(self, room: SfuRoom, peer: SfuPeer, producer: Producer) -> None:
        """A peer's new producer."""

    def consumed(self, room: SfuRoom, peer: SfuPeer, consumer: Consumer) -> None:
        """A peer's new consumer."""

    def message(self, room: SfuRoom, peer: SfuPeer, entry: dict[str, Any]) -> None:
        """A chat message was sent to the room (``entry`` is the ``newMessage`` payload)."""
