"""Live RealtimeKit sessions: started by a meeting's first join, ended after its keep-alive time once empty.

The SFU policy (:mod:`altegon_rt.rtk.sfu_policy`) tells the :class:`SessionTracker` who joins and leaves a
meeting's room. The first peer in starts a session (``meeting.started``); each join and leave is a session
participant (``meeting.participantJoined`` / ``meeting.participantLeft``) with its join and leave times and
the media counters the SFU objects have (packets received from each of its producers, packets and bytes sent
by each of its consumers). When the last peer leaves, the session ends ``session_keep_alive_time_in_secs``
later (capped by ``rtk.session_keep_alive_cap_s``) unless someone joins again: ``meeting.ended``, then
``meeting.chatSynced`` (with ``persist_chat`` and some chat), ``meeting.transcript`` (when transcript lines
were sent) and, with ``summarize_on_end``, a summary and ``meeting.summary``.

Live state is in memory, authoritative while the session runs; the store is written by one task, in order,
from a bounded queue (a join is never slowed by the database). Sessions left LIVE by a previous run of the
server are marked ENDED at start.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import trio

from altegon_rt.api.jsonio import iso
from altegon_rt.realtime.sfu_rooms import SfuPeer, is_screen
from altegon_rt.rtk.participant_tokens import ParticipantPrincipal
from altegon_rt.rtk.polls import MAX_POLLS_PER_SESSION, Poll
from altegon_rt.rtk.webhooks import WebhookDispatcher
from altegon_rt.sfu.consumer import Consumer
from altegon_rt.sfu.producer import Producer
from altegon_rt.store.base import now as utc_now
from altegon_rt.store.rtk import new_uuid

log = logging.getLogger(__name__)

WRITE_QUEUE = 10_000
MAX_TRACKED_MEDIA = 64  # producers / consumers remembered per peer for its stats
MAX_EVENTS = 200  # peer events kept per session participant


@dataclass(slots=True)
class LivePeer:
    """One socket in a session's room."""

    record_id: str
    principal: ParticipantPrincipal
    peer: SfuPeer
    joined_at: dt.datetime
    address: str
    producers: list[Producer] = field(default_factory=list)
    consumers: list[Consumer] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def sid(self) -> str:
        return self.peer.id

    def event(self, name: str, **extra: Any) -> None:
        if len(self.events) < MAX_EVENTS:
            self.events.append({"type": name, "timestamp": utc_now(), **extra})

    def media(self) -> dict[str, Any]:
        """What the SFU counted for this peer: its producers' reception, its consumers' sending."""
        producers = [{"producer_id": p.id, "kind": p.kind, "source": "screenshare" if is_screen(p.app_data) else p.kind,
                      "packets_received": p.reception.received,
                      "jitter_ms": round(p.reception.jitter * 1000 / p.reception.clock_rate, 3)}
                     for p in self.producers]  # fmt: skip
        consumers = [{"consumer_id": c.id, "producer_id": c.producer_id, "kind": c.kind,
                      "packets_sent": c.packets_sent, "bytes_sent": c.octets_sent}
                     for c in self.consumers]  # fmt: skip
        return {"producers": producers, "consumers": consumers}


@dataclass(slots=True)
class LiveSession:
    id: str
    app_id: str
    meeting_id: str
    meeting: dict[str, Any]  # the meeting document as of the last join
    started_at: dt.datetime
    peers: dict[str, LivePeer] = field(default_factory=dict)
    max_concurrent: int = 0
    finished_minutes: float = 0.0  # participant-minutes of the peers that left
    end_at: float | None = None  # trio time; set while the session is empty
    polls: dict[str, Poll] = field(default_factory=dict)
    chat_lines: int = 0
    transcript_lines: int = 0

    def minutes(self, now: dt.datetime) -> float:
        live = sum((now - p.joined_at).total_seconds() for p in self.peers.values()) / 60
        return round(self.finished_minutes + live, 3)

    def readable(self, now: dt.datetime) -> dict[str, Any]:
        """The spec's Session object while it is LIVE."""
        return {
            "id": self.id, "associated_id": self.meeting_id, "created_at": self.started_at,
            "started_at": self.started_at, "updated_at": now, "live_participants": len(self.peers),
            "max_concurrent_participants": self.max_concurrent, "meeting_display_name": self.meeting.get("title") or "",
            "minutes_consumed": self.minutes(now), "organization_id": self.app_id, "status": "LIVE",
            "type": "meeting", "breakout_rooms": [],
            "meta": {"polls": [p.readable() for p in self.polls.values()]},
        }  # fmt: skip


def _participant(principal: ParticipantPrincipal, sid: str) -> dict[str, Any]:
    return {"id": principal.participant_id, "peer_id": sid, "custom_participant_id": principal.custom_participant_id,
            "display_name": principal.name, "preset_name": principal.preset_name}  # fmt: skip


class SessionTracker:
    """Live sessions by meeting; see the module docstring.

    Args:
        store: the Store (``rtk_sessions``, ``rtk_session_peers``, ``rtk_chat``).
        webhooks: where events go.
        keep_alive_cap_s: the longest a session outlives its last peer, whatever the meeting says.
        on_ended: called (in the tracker's nursery) with each ended session, for the end-of-session work.
    """

    def __init__(
        self,
        store: Any,
        webhooks: WebhookDispatcher,
        keep_alive_cap_s: float,
        on_ended: Callable[[LiveSession], Awaitable[None]] | None = None,
    ) -> None:
        self._store = store
        self._webhooks = webhooks
        self._cap = keep_alive_cap_s
        self._on_ended = on_ended
        self.by_meeting: dict[str, LiveSession] = {}
        self.by_sid: dict[str, tuple[LiveSession, LivePeer]] = {}
        self._writes, self._pending_writes = trio.open_memory_channel[tuple[Callable[..., Awaitable[Any]], tuple]](
            WRITE_QUEUE
        )
        self._wake = trio.Event()
        self.dropped_writes = 0
        # Called (in the tracker's nursery) with each session that starts and its account: the meeting's
        # record_on_start / live_stream_on_start (set by the server once media capture exists).
        self.on_started: Callable[[LiveSession, str], Awaitable[None]] | None = None
        self._nursery: trio.Nursery | None = None

    # -- joins and leaves -------------------------------------------------------------------------------------
    def join(self, principal: ParticipantPrincipal, meeting: dict[str, Any], peer: SfuPeer, address: str) -> LivePeer:
        stamp = utc_now()
        session = self.by_meeting.get(principal.meeting_id)
        if session is None:
            session = LiveSession(new_uuid(), principal.app_id, principal.meeting_id, meeting, stamp)
            self.by_meeting[session.meeting_id] = session
            self._write(self._store.rtk_sessions.start, {
                "_id": session.id, "app_id": session.app_id, "account_id": principal.account_id,
                "associated_id": session.meeting_id, "meeting_display_name": meeting.get("title") or "",
                "organization_id": session.app_id, "type": "meeting", "status": "LIVE", "started_at": stamp,
                "ended_at": None, "live_participants": 0, "max_concurrent_participants": 0, "minutes_consumed": 0,
            })  # fmt: skip
            self._emit(session, "meeting.started", {"meeting": self._meeting(session)})
            if self.on_started is not None and self._nursery is not None:
                self._nursery.start_soon(self._begin, session, principal.account_id)
        session.meeting, session.end_at = meeting, None
        live = LivePeer(new_uuid(), principal, peer, stamp, address)
        live.event("joined")
        session.peers[peer.id] = live
        session.max_concurrent = max(session.max_concurrent, len(session.peers))
        self.by_sid[peer.id] = (session, live)
        self._write(self._store.rtk_session_peers.add, {
            "_id": live.record_id, "app_id": session.app_id, "session_id": session.id,
            "meeting_id": session.meeting_id, "peer_id": peer.id, "participant_id": principal.participant_id,
            "custom_participant_id": principal.custom_participant_id, "display_name": peer.name,
            "preset_name": principal.preset_name, "joined_at": stamp, "left_at": None, "ip_address": address,
        })  # fmt: skip
        payload = {**_participant(principal, peer.id), "display_name": peer.name, "joined_at": iso(stamp)}
        self._emit(session, "meeting.participantJoined", {"meeting": self._meeting(session), "participant": payload})
        return live

    def leave(self, sid: str, now: float) -> None:
        found = self.by_sid.pop(sid, None)
        if found is None:
            return
        session, live = found
        session.peers.pop(sid, None)
        stamp = utc_now()
        live.event("left")
        seconds = (stamp - live.joined_at).total_seconds()
        session.finished_minutes += seconds / 60
        self._write(self._store.rtk_session_peers.left_session, live.record_id, {
            "left_at": stamp, "duration": round(seconds / 60, 3), "media": live.media(), "events": live.events,
        })  # fmt: skip
        payload = {**_participant(live.principal, sid), "display_name": live.peer.name, "left_at": iso(stamp)}
        self._emit(session, "meeting.participantLeft", {"meeting": self._meeting(session), "participant": payload})
        if not session.peers:
            keep = float(session.meeting.get("session_keep_alive_time_in_secs") or 60)
            session.end_at = now + min(keep, self._cap)
            self._wake.set()

    def tracked(self, sid: str) -> tuple[LiveSession, LivePeer] | None:
        return self.by_sid.get(sid)

    def chat(self, sid: str, entry: dict[str, Any]) -> None:
        found = self.by_sid.get(sid)
        if found is None:
            return
        session, live = found
        if not session.meeting.get("persist_chat"):
            return
        session.chat_lines += 1
        self._write(self._store.rtk_chat.add, {
            "app_id": session.app_id, "session_id": session.id, "meeting_id": session.meeting_id,
            "participant_id": live.principal.participant_id, "peer_id": sid, "display_name": entry["name"],
            "message": entry["message"], "created_at": utc_now(),
        })  # fmt: skip

    def add_poll(self, session: LiveSession, poll: Poll) -> bool:
        if len(session.polls) >= MAX_POLLS_PER_SESSION:
            return False
        session.polls[poll.id] = poll
        return True

    # -- ending -----------------------------------------------------------------------------------------------
    def due(self, now: float) -> list[LiveSession]:
        """Sessions whose keep-alive time is over, taken out of the live ones."""
        ended = [s for s in self.by_meeting.values() if s.end_at is not None and s.end_at <= now and not s.peers]
        for session in ended:
            del self.by_meeting[session.meeting_id]
        return ended

    def next_deadline(self) -> float:
        deadlines = [s.end_at for s in self.by_meeting.values() if s.end_at is not None]
        return min(deadlines, default=float("inf"))

    def _end(self, session: LiveSession) -> None:
        stamp = utc_now()
        self._write(self._store.rtk_sessions.set_fields, session.app_id, session.id, {
            "status": "ENDED", "ended_at": stamp, "live_participants": 0,
            "max_concurrent_participants": session.max_concurrent, "minutes_consumed": session.minutes(stamp),
            "chat_lines": session.chat_lines, "transcript_lines": session.transcript_lines,
            "polls": [p.readable() for p in session.polls.values()],
        })  # fmt: skip
        meeting = {**self._meeting(session), "status": "ENDED", "ended_at": iso(stamp)}
        self._emit(session, "meeting.ended", {"meeting": meeting, "reason": "ALL_PARTICIPANTS_LEFT"})

    # -- the task ---------------------------------------------------------------------------------------------
    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        ended = await self._store.rtk_sessions.end_orphans()
        if ended:
            await self._store.rtk_session_peers.close_orphans()
            log.info("rtk sessions: %d session(s) of a previous run marked ENDED", ended)
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            nursery.start_soon(self._writer)
            task_status.started()
            while True:
                with trio.move_on_at(self.next_deadline()):
                    await self._wake.wait()
                self._wake = trio.Event()
                for session in self.due(trio.current_time()):
                    self._end(session)
                    if self._on_ended is not None:
                        nursery.start_soon(self._finish, session)

    async def _begin(self, session: LiveSession, account_id: str) -> None:
        assert self.on_started is not None
        try:
            await self.on_started(session, account_id)
        except Exception:
            log.exception("rtk session %s: the start-of-session work failed", session.id)

    async def _finish(self, session: LiveSession) -> None:
        assert self._on_ended is not None
        try:
            await self.flushed()  # the session's chat and peers are in the store
            await self._on_ended(session)
        except Exception:
            log.exception("rtk session %s: the end-of-session work failed", session.id)

    async def _writer(self) -> None:
        async for function, args in self._pending_writes:
            try:
                await function(*args)
            except Exception:
                log.exception("rtk sessions: a write failed (%s)", getattr(function, "__qualname__", function))

    async def flushed(self) -> None:
        """Wait until every write queued so far is done (for the routes that read what was just written)."""
        done = trio.Event()

        async def mark() -> None:
            done.set()

        self._write(mark)
        with trio.move_on_after(5):
            await done.wait()

    def _write(self, function: Callable[..., Awaitable[Any]], *args: Any) -> None:
        try:
            self._writes.send_nowait((function, args))
        except trio.WouldBlock:
            self.dropped_writes += 1
            log.warning("rtk sessions: write queue full (%d): dropped a write", WRITE_QUEUE)

    def _emit(self, session: LiveSession, event: str, payload: dict[str, Any]) -> None:
        self._webhooks.emit(session.app_id, event, payload)

    def _meeting(self, session: LiveSession) -> dict[str, Any]:
        return {"id": session.meeting_id, "session_id": session.id, "title": session.meeting.get("title"),
                "status": "LIVE", "started_at": iso(session.started_at)}  # fmt: skip
