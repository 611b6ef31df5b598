"""Who is in which meeting right now: pure bookkeeping, no I/O, for the Meet and ART sockets.

A :class:`Presence` maps each live meeting (or v1 room) to its participants by socket id. Joining the
first participant opens the meeting's presence (the caller starts a reporting session then); the last one
leaving closes it (the caller ends the session). Everything the sockets broadcast about presence
(``viewerList``, counts) is computed here from real membership, never taken from a client.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Participant:
    sid: str
    device_id: str
    user_id: str | None  # None for an anonymous viewer
    is_host: bool
    username: str = ""


@dataclass(slots=True)
class Meeting:
    key: str
    participants: dict[str, Participant] = field(default_factory=dict)  # by socket id, in join order
    session_id: str | None = None  # the reporting session, once recorded
    views: int = 0  # joins ever seen (the ART package's view_count)
    # Participants who joined while the first join was still recording the session; counted once it exists.
    pending_participants: set[str] = field(default_factory=set)

    def viewer_devices(self) -> list[str]:
        """Device ids of the viewers (everyone but hosts), in join order, without repeats."""
        return list(dict.fromkeys(p.device_id for p in self.participants.values() if not p.is_host))

    @property
    def hosts(self) -> list[Participant]:
        return [p for p in self.participants.values() if p.is_host]


@dataclass(frozen=True, slots=True)
class Joined:
    meeting: Meeting
    first: bool  # the meeting had nobody before: a session starts


@dataclass(frozen=True, slots=True)
class Left:
    meeting: Meeting
    participant: Participant
    last: bool  # nobody is left: the session ends


class Presence:
    """Meetings by key (``meeting:<id>`` or ``room:<id>``), and which meeting each socket is in."""

    __slots__ = ("_meeting_of", "_meetings")

    def __init__(self) -> None:
        self._meetings: dict[str, Meeting] = {}
        self._meeting_of: dict[str, str] = {}

    def join(self, key: str, participant: Participant) -> Joined:
        """Add (or, for a socket already in it, replace) a participant; a socket is in one meeting at a time."""
        previous = self._meeting_of.get(participant.sid)
        if previous is not None and previous != key:
            raise ValueError(f"socket {participant.sid} is already in {previous}")
        meeting = self._meetings.get(key)
        first = meeting is None
        if meeting is None:
            meeting = self._meetings[key] = Meeting(key)
        if participant.sid not in meeting.participants:
            meeting.views += 1
        meeting.participants[participant.sid] = participant
        self._meeting_of[participant.sid] = key
        return Joined(meeting, first)

    def leave(self, sid: str) -> Left | None:
        key = self._meeting_of.pop(sid, None)
        if key is None:
            return None
        meeting = self._meetings[key]
        participant = meeting.participants.pop(sid)
        last = not meeting.participants
        if last:
            del self._meetings[key]
        return Left(meeting, participant, last)

    def meeting_of(self, sid: str) -> Meeting | None:
        key = self._meeting_of.get(sid)
        return self._meetings.get(key) if key is not None else None

    def participant(self, sid: str) -> Participant | None:
        meeting = self.meeting_of(sid)
        return meeting.participants.get(sid) if meeting is not None else None

    def get(self, key: str) -> Meeting | None:
        return self._meetings.get(key)

    def __len__(self) -> int:
        return len(self._meetings)


class Bans:
    """Who a host removed from which meeting, shared by the Meet and ART sockets (keys: ``user:<id>`` for
    signed-in participants, ``addr:<address>`` for anonymous ones). A meeting's bans end with the meeting."""

    __slots__ = ("_banned", "_listeners")

    def __init__(self) -> None:
        self._banned: dict[str, set[str]] = {}
        self._listeners: list[Callable[[str, str], None]] = []

    def on_ban(self, listener: Callable[[str, str], None]) -> None:
        """Call ``listener(meeting, key)`` on every ban (a socket removes the banned from its own rooms)."""
        self._listeners.append(listener)

    def ban(self, meeting: str, key: str) -> None:
        self._banned.setdefault(meeting, set()).add(key)
        for listener in self._listeners:
            listener(meeting, key)

    def is_banned(self, meeting: str, key: str) -> bool:
        return key in self._banned.get(meeting, ())

    def end(self, meeting: str) -> None:
        self._banned.pop(meeting, None)
