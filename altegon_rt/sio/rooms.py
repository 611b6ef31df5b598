"""Room membership of one namespace: room name → socket ids, and back. Pure, no I/O.

Empty rooms are dropped at once, so memory follows live membership only.
"""

from __future__ import annotations


class Rooms:
    __slots__ = ("_members", "_rooms_of")

    def __init__(self) -> None:
        self._members: dict[str, set[str]] = {}
        self._rooms_of: dict[str, set[str]] = {}

    def join(self, room: str, sid: str) -> None:
        self._members.setdefault(room, set()).add(sid)
        self._rooms_of.setdefault(sid, set()).add(room)

    def leave(self, room: str, sid: str) -> None:
        members = self._members.get(room)
        if members is not None:
            members.discard(sid)
            if not members:
                del self._members[room]
        rooms = self._rooms_of.get(sid)
        if rooms is not None:
            rooms.discard(room)
            if not rooms:
                del self._rooms_of[sid]

    def leave_all(self, sid: str) -> None:
        for room in list(self._rooms_of.get(sid, ())):
            self.leave(room, sid)

    def members(self, room: str) -> frozenset[str]:
        return frozenset(self._members.get(room, ()))

    def rooms_of(self, sid: str) -> frozenset[str]:
        return frozenset(self._rooms_of.get(sid, ()))

    def names(self) -> list[str]:
        return list(self._members)

    def __contains__(self, room: str) -> bool:
        return room in self._members
