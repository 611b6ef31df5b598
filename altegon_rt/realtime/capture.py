"""Capturing an SFU room without decoding: taps on its producers → per-peer WebM byte streams → sinks.

:class:`RoomCapture` looks at its room every :data:`POLL_S` and attaches a :class:`~altegon_rt.sfu.tap.Tap`
to each producer it has not seen. Frames go through one :class:`~altegon_rt.media.frame_mux.FrameMuxer` per
peer (its camera or screen video — the first video producer it has — and its first audio producer); the bytes
go, through a bounded channel, to that peer's :class:`Sink` in a task of the capture's own, so the UDP task
never waits on a disk or a worker. Two selections:

- ``per_peer`` (recordings): every peer that publishes gets its own stream and sink.
- ``presenter`` (live streams, the webinar case): one stream that carries the first peer to publish video (or
  audio, when nobody has video for :data:`~altegon_rt.media.frame_mux.VIDEO_WAIT_MS`), its video and audio.
  No mix without decoding: the other peers are not heard. When the presenter stops, the next peer with the
  same video codec takes over the same stream (from its next key frame); with no such peer the stream waits.

Media time: every track's first frame is placed at its arrival time since the capture started, and later
frames by their RTP timestamps from there, so the tracks of a peer stay within network jitter of each other.
Pausing drops frames and takes the paused time out of the timeline; after a resume, video waits for a key
frame (the taps ask for one).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import trio

from altegon_rt.media.frame_mux import AUDIO, VIDEO, FrameMuxer
from altegon_rt.realtime.sfu_rooms import SfuRooms
from altegon_rt.rtc.depacketize import Codec, Frame
from altegon_rt.sfu.producer import Producer
from altegon_rt.sfu.tap import Tap, codecs_by_payload_type

log = logging.getLogger(__name__)

POLL_S = 0.25
CHANNEL_CHUNKS = 4096  # per peer stream: ~4096 frames of backlog before the stream is cut
CLOCK_RATES = {VIDEO: 90_000, AUDIO: 48_000}


class Sink(Protocol):
    async def write(self, data: bytes) -> None: ...

    async def close(self) -> None: ...


@dataclass(slots=True)
class TrackClock:
    """RTP timestamps of one track → milliseconds on the capture's timeline."""

    rate: int
    base_ms: float | None = None
    first_ts: int = 0
    last_ts: int = 0
    unwrapped: int = 0

    def ms(self, timestamp: int, arrival_ms: float) -> int:
        if self.base_ms is None:
            self.base_ms, self.first_ts, self.last_ts = arrival_ms, timestamp, timestamp
        step = (timestamp - self.last_ts) & 0xFFFFFFFF
        self.unwrapped += step - (1 << 32) if step >= 1 << 31 else step
        self.last_ts = timestamp
        return int(self.base_ms + self.unwrapped * 1000 / self.rate)


@dataclass(eq=False)
class PeerStream:
    """One output stream: a muxer, the taps feeding it, and the channel to its sink."""

    key: str
    peer_ids: list[str]
    muxer: FrameMuxer
    send: trio.MemorySendChannel[bytes]
    receive: trio.MemoryReceiveChannel[bytes]
    taps: dict[str, Tap] = field(default_factory=dict)  # kind → tap
    clocks: dict[str, TrackClock] = field(default_factory=dict)
    wait_key: bool = False
    bytes_out: int = 0
    broken: str = ""

    def push(self, data: bytes) -> None:
        if not data or self.broken:
            return
        try:
            self.send.send_nowait(data)
            self.bytes_out += len(data)
        except trio.WouldBlock:
            self.broken = "the sink fell behind"
            log.warning("capture stream %s: the sink fell behind; the stream is cut", self.key)
        except (trio.ClosedResourceError, trio.BrokenResourceError):
            pass


def codec_of(producer: Producer) -> Codec | None:
    """The producer's (first) codec, if we can depacketize it."""
    return next(iter(codecs_by_payload_type(producer).values()), None)


def _first(producers: list[Producer], kind: str) -> Producer | None:
    return next((p for p in producers if p.kind == kind and not p.closed), None)


class RoomCapture:
    """See the module docstring. ``run`` in a nursery; ``stop`` ends it (the streams are finished first).

    Args:
        rooms: the SFU's registry; the room may not exist yet (nobody joined): the capture waits for it.
        room_id: the room to capture.
        open_sink: makes the sink of a new stream (``key``: the peer id, or ``"presenter"``).
        per_peer: a stream per peer (recording) or the presenter's only (live stream).
        on_media: called once, when the first bytes of media are written (the capture really started).
    """

    def __init__(self, rooms: SfuRooms, room_id: str, open_sink: Callable[[str], Awaitable[Sink]], *,
                 per_peer: bool, on_media: Callable[[], None] | None = None) -> None:  # fmt: skip
        self.rooms, self.room_id, self.per_peer = rooms, room_id, per_peer
        self._open_sink, self._on_media = open_sink, on_media
        self.streams: dict[str, PeerStream] = {}
        self.paused = False
        self.started = False
        self._origin: float | None = None
        self._paused_at = 0.0
        self._paused_total = 0.0
        self._stopping = trio.Event()
        self._seen: set[str] = set()
        self._nursery: trio.Nursery | None = None

    # -- control ----------------------------------------------------------------------------------------------
    def stop(self) -> None:
        self._stopping.set()

    def pause(self) -> None:
        if not self.paused:
            self.paused, self._paused_at = True, trio.current_time()

    def resume(self) -> None:
        if self.paused:
            self.paused = False
            self._paused_total += trio.current_time() - self._paused_at
            for stream in self.streams.values():
                stream.wait_key = VIDEO in stream.taps
                if VIDEO in stream.taps:
                    stream.taps[VIDEO].producer.request_key_frame()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    @property
    def bytes_written(self) -> int:
        return sum(s.bytes_out for s in self.streams.values())

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            task_status.started()
            try:
                while not self._stopping.is_set():
                    self.poll()
                    with trio.move_on_after(POLL_S):
                        await self._stopping.wait()
            finally:
                self._finish()

    def _finish(self) -> None:
        for stream in self.streams.values():
            for tap in list(stream.taps.values()):
                tap.close()
            stream.push(stream.muxer.finish())
            stream.send.close()

    # -- which producers feed which stream ---------------------------------------------------------------------
    def poll(self) -> None:
        """Tap the producers that appeared since the last look."""
        room = self.rooms.rooms.get(self.room_id)
        if room is None:
            return
        for peer in list(room.peers.values()):
            producers = [p for p in peer.producers.values() if not p.closed]
            if not producers or all(p.id in self._seen for p in producers):
                continue
            stream = self._stream_for(peer.id, producers)
            if stream is None:
                continue
            for kind in (VIDEO, AUDIO):
                producer = _first(producers, kind)
                if producer is not None and kind not in stream.taps and self._fits(stream, kind, producer):
                    self._seen.add(producer.id)
                    stream.taps[kind] = Tap.attach(producer, self._on_frame(stream), self._tap_closed(stream))
                    stream.clocks[kind] = TrackClock(CLOCK_RATES[kind])
                    if peer.id not in stream.peer_ids:
                        stream.peer_ids.append(peer.id)

    @staticmethod
    def _fits(stream: PeerStream, kind: str, producer: Producer) -> bool:
        if kind == AUDIO:
            return stream.muxer.accepts(AUDIO)
        return stream.muxer.video_codec is not None and codec_of(producer) is stream.muxer.video_codec

    def _stream_for(self, peer_id: str, producers: list[Producer]) -> PeerStream | None:
        key = peer_id if self.per_peer else "presenter"
        stream = self.streams.get(key)
        if stream is not None:
            if self.per_peer or not stream.taps:
                return stream  # a peer's new producer, or a new presenter
            return None
        video = _first(producers, VIDEO)
        codec = codec_of(video) if video is not None else None
        if video is not None and codec is None:
            return None  # a codec we cannot depacketize
        muxer = FrameMuxer(video=codec, audio=True)
        send, receive = trio.open_memory_channel[bytes](CHANNEL_CHUNKS)
        stream = self.streams[key] = PeerStream(key, [], muxer, send, receive)
        assert self._nursery is not None
        self._nursery.start_soon(self._write, stream)
        return stream

    def _tap_closed(self, stream: PeerStream) -> Callable[[Tap], None]:
        def closed(tap: Tap) -> None:
            if stream.taps.get(tap.kind) is tap:
                del stream.taps[tap.kind]
                stream.clocks.pop(tap.kind, None)
                if self.per_peer and not self._stopping.is_set():
                    stream.push(stream.muxer.end(tap.kind))

        return closed

    # -- the data plane ---------------------------------------------------------------------------------------
    def _on_frame(self, stream: PeerStream) -> Callable[[Frame, str, float], None]:
        def on_frame(frame: Frame, kind: str, arrival: float) -> None:
            if self.paused or self._stopping.is_set():
                return
            if kind == VIDEO and stream.wait_key:
                if not frame.keyframe:
                    return
                stream.wait_key = False
            if self._origin is None:
                self._origin = arrival
            clock = stream.clocks.get(kind)
            if clock is None:
                return
            arrival_ms = (arrival - self._origin - self._paused_total) * 1000
            data = stream.muxer.add(kind, clock.ms(frame.timestamp, arrival_ms), frame)
            if data and not self.started and stream.muxer.frames_written:
                self.started = True
                if self._on_media is not None:
                    self._on_media()
            stream.push(data)

        return on_frame

    async def _write(self, stream: PeerStream) -> None:
        sink: Any = None
        try:
            async with stream.receive:
                async for data in stream.receive:
                    if sink is None:
                        sink = await self._open_sink(stream.key)
                    batch = [data]
                    while len(batch) < 256:
                        try:
                            batch.append(stream.receive.receive_nowait())
                        except (trio.WouldBlock, trio.EndOfChannel):
                            break
                    await sink.write(b"".join(batch))
        except Exception as exc:
            stream.broken = stream.broken or f"writing failed: {exc}"
            log.warning("capture stream %s: %s", stream.key, stream.broken)
        finally:
            if sink is not None:
                with trio.CancelScope(shield=True):
                    await sink.close()
