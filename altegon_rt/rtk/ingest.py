"""RealtimeKit independent livestreams: made by ``POST /livestreams``, fed by an RTMP encoder, played as HLS.

A livestream gets a random ``stream_key`` and the ``ingest_server`` URL ``rtmp://<host>:<port>/live`` (the
host: ``rtk.rtmp_host``, else ``sfu.announced_ip``, else ``server.host``); an encoder publishes the key there
(:mod:`altegon_rt.rtmp.server` calls :meth:`IndependentLivestreams.authorize`). The key is found by its first
:data:`KEY_PREFIX` characters and compared whole in constant time; an unknown key, or one being published
already, is ``NetStream.Publish.BadName``.

Each publish is a livestream session and an HLS stream whose id is the livestream's, so ``playback_url``
(``/hls/<livestream id>/index.m3u8``) stays the same from one publish to the next (between them it plays the
last one to its end, for ``hls.ended_retention_s``). Status: ``IDLE`` → ``LIVE`` (the first media reached the
HLS pipeline) → ``IDLE`` when the encoder unpublishes or disconnects, ``ERRORED`` when the stream could not go
on (refused codec, broken stream, timeout; the session's ``err_message`` says why). Every change is sent to
the app's webhooks as ``livestreaming.statusUpdate``.
"""

from __future__ import annotations

import datetime as dt
import hmac
import logging
import secrets
from dataclasses import dataclass
from typing import Any

import trio

from altegon_rt.api.jsonio import iso
from altegon_rt.media.live import LiveStream, LiveStreams, StreamError
from altegon_rt.rtmp.server import PublishRefused

log = logging.getLogger(__name__)

KEY_PREFIX = 12
BAD_NAME = "NetStream.Publish.BadName"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def ingest_url(host: str, port: int, app: str = "live") -> str:
    host = f"[{host}]" if ":" in host and not host.startswith("[") else host
    return f"rtmp://{host}:{port}/{app}"


@dataclass(eq=False)
class IngestPublish:
    """One publish of a livestream (:class:`altegon_rt.rtmp.server.Publish`)."""

    owner: IndependentLivestreams
    app_id: str
    livestream_id: str
    session_id: str
    stream: LiveStream
    started: dt.datetime | None = None
    closed: bool = False

    async def write(self, data: bytes) -> None:
        if self.started is None:
            self.started = utcnow()
            await self.owner.set_status(self, "LIVE", started_time=self.started)
        try:
            await self.owner.live.append(self.stream, data)
        except StreamError as exc:
            raise PublishRefused("NetStream.Failed", f"{exc.code}: {exc.message}") from None

    def ended(self) -> str | None:
        return None if self.stream.active else (self.stream.end_reason or "the stream ended")

    async def close(self, error: str | None) -> None:
        if self.closed:
            return
        self.closed = True
        if self.stream.active:
            await self.owner.live.end(self.stream, error or "the encoder unpublished")
        stopped = utcnow()
        ingest = (stopped - self.started).total_seconds() if self.started else 0
        await self.owner.set_status(self, "ERRORED" if error else "IDLE", stopped_time=stopped,
                                    ingest_seconds=round(ingest), err_message=error)  # fmt: skip
        self.owner.active.pop(self.livestream_id, None)
        log.info("rtk livestream %s: publish ended (%s)", self.livestream_id, error or "unpublished")


class IndependentLivestreams:
    """See the module docstring. ``ingest_server`` is set once the RTMP listener is bound."""

    def __init__(self, store: Any, webhooks: Any, live: LiveStreams) -> None:
        self.store, self.webhooks, self.live = store, webhooks, live
        self.ingest_server: str | None = None
        self.active: dict[str, IngestPublish] = {}  # by livestream id

    async def start(self, ingest_server: str) -> None:
        self.ingest_server = ingest_server
        stale = await self.store.rtk_livestreams.end_stale_independent()
        if stale:
            log.info("rtk: %d independent livestreams left LIVE by the last run are IDLE again", stale)

    async def create(self, app_id: str, name: str | None) -> dict[str, Any]:
        key = secrets.token_urlsafe(24)
        doc = await self.store.rtk_livestreams.create(app_id, {
            "meeting_id": None, "name": name, "status": "IDLE", "disabled": False, "playback_url": None,
            "ingest_server": self.ingest_server, "stream_key": key, "key_prefix": key[:KEY_PREFIX]})  # fmt: skip
        doc = await self.store.rtk_livestreams.set_fields(app_id, doc["_id"], {
            "playback_url": f"/hls/{doc['_id']}/index.m3u8", "hls_stream_id": doc["_id"]})  # fmt: skip
        return doc  # type: ignore[no-any-return]

    async def authorize(self, app: str, key: str) -> IngestPublish:
        """The publish of the livestream whose stream key this is, or :class:`PublishRefused`."""
        matches = await self.store.rtk_livestreams.by_key_prefix(key[:KEY_PREFIX]) if len(key) > KEY_PREFIX else []
        doc = next((d for d in matches if hmac.compare_digest(str(d.get("stream_key", "")).encode(), key.encode())),
                   None)  # fmt: skip
        if doc is None:
            raise PublishRefused(BAD_NAME, "no livestream has this stream key")
        if doc.get("disabled"):
            raise PublishRefused(BAD_NAME, "this livestream is disabled")
        if doc["_id"] in self.active:
            raise PublishRefused(BAD_NAME, "this livestream is being published already")
        try:
            stream = await self.live.start(doc.get("name") or "RealtimeKit livestream", "video/x-matroska",
                                           "rtmp", None, stream_id=doc["_id"])  # fmt: skip
        except StreamError as exc:
            raise PublishRefused("NetStream.Publish.Failed", f"{exc.code}: {exc.message}") from None
        session = await self.store.rtk_livestream_sessions.create(doc["app_id"], {
            "livestream_id": doc["_id"], "invoked_time": utcnow(), "started_time": None, "stopped_time": None,
            "ingest_seconds": 0, "viewer_seconds": 0, "err_message": None})  # fmt: skip
        publish = IngestPublish(self, doc["app_id"], doc["_id"], session["_id"], stream)
        self.active[doc["_id"]] = publish
        log.info("rtk livestream %s: publishing (session %s)", doc["_id"], session["_id"])
        return publish

    async def set_status(self, publish: IngestPublish, status: str, **session: Any) -> None:
        with trio.CancelScope(shield=True):  # also when the connection's task is being cancelled
            store = self.store
            await store.rtk_livestream_sessions.set_fields(publish.app_id, publish.session_id, session)
            doc = await store.rtk_livestreams.set_fields(publish.app_id, publish.livestream_id, {"status": status})
        if doc is not None:
            from altegon_rt.rtk.livestreams import readable_livestream  # the route module owns the shape

            payload = {"livestream": _json_ready(readable_livestream(doc)), "meeting": None}
            self.webhooks.emit(publish.app_id, "livestreaming.statusUpdate", payload)


def _json_ready(value: dict[str, Any]) -> dict[str, Any]:
    return {k: iso(v if v.tzinfo else v.replace(tzinfo=dt.UTC)) if isinstance(v, dt.datetime) else v
            for k, v in value.items()}  # fmt: skip
