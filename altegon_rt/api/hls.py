"""HLS playback: ``GET /hls/{streamId}/index.m3u8`` and the init sections, parts and segments it lists.

- The playlist supports LL-HLS blocking reload: with ``_HLS_msn`` (and ``_HLS_part``) the answer waits until
  the playlist holds that segment (or part), for at most ``hls.reload_timeout_s``; a request more than two
  segments ahead of the live edge is a 400 (rfc8216bis §6.2.5.2). A request for the part named by
  ``EXT-X-PRELOAD-HINT`` waits for it the same way.
- Content types: ``application/vnd.apple.mpegurl`` for the playlist, ``video/mp4`` for fMP4 init
  sections, parts and segments.
- Cache: the live playlist ``no-cache`` (a blocking reload's answer, whose URL names what it waited for,
  may be kept for a few parts); media files never change once listed: ``immutable`` for a year.
- CORS: any origin may play (``Access-Control-Allow-Origin: *``); the stream id is the capability, as in the
  document's flow where the viewer link carries it.
"""

from __future__ import annotations

import re

import trio

from altegon_rt.api.routing import PUBLIC, Call, Reply, endpoint
from altegon_rt.api.schema import Field
from altegon_rt.errors import BadRequest, NotFound, ServiceUnavailable
from altegon_rt.media.live import LiveStream, LiveStreams
from altegon_rt.media.playlist import Reload

TAG = "hls"
_FILE = re.compile(r"^(init\d{1,6}\.mp4|\d{1,12}(\.\d{1,4})?\.m4s)$")
CORS = {"Access-Control-Allow-Origin": "*", "Access-Control-Expose-Headers": "Content-Length"}
IMMUTABLE = "public, max-age=31536000, immutable"
STREAM_ID = Field("streamId", "string", max_length=64, description="the streamId of startStream")


def _streams(call: Call) -> LiveStreams:
    live = call.services.live
    if live is None:
        raise ServiceUnavailable("live streaming is not running", code="hls_unavailable")
    return live


def _stream(call: Call) -> LiveStream:
    stream = _streams(call).get(call.path["streamId"])
    if stream is None:
        raise NotFound(f"stream {call.path['streamId']} does not exist", code="stream_not_found")
    return stream


def _query_int(call: Call, name: str) -> int | None:
    raw = call.query.get(name)
    if raw is None or raw == "":
        return None
    if not raw.isdigit() or len(raw) > 12:
        raise BadRequest(f"query '{name}' must be a non-negative integer", code="invalid_field")
    return int(raw)


@endpoint(
    "GET", "/hls/{streamId}/index.m3u8", tag=TAG, auth=PUBLIC, params=[STREAM_ID],
    query=[Field("_HLS_msn", "string", required=False, max_length=12),
           Field("_HLS_part", "string", required=False, max_length=12),
           Field("_HLS_skip", "string", required=False, max_length=8)],
    summary="The live stream's HLS media playlist (LL-HLS; blocking reload with _HLS_msn/_HLS_part)",
    responses={200: "The playlist", 400: "_HLS_msn too far ahead, or malformed", 404: "No such stream"},
)  # fmt: skip
async def hls_playlist(call: Call) -> Reply:
    stream = _stream(call)
    msn, part = _query_int(call, "_HLS_msn"), _query_int(call, "_HLS_part")
    if part is not None and msn is None:
        raise BadRequest("_HLS_part needs _HLS_msn", code="invalid_field")
    cache = "no-cache"
    if msn is not None:
        timeout = call.services.config.hls.reload_timeout_s
        with trio.move_on_after(timeout):
            while (status := stream.playlist.reload_status(msn, part)) is Reload.WAIT:
                await stream.changed.wait()
        if stream.playlist.reload_status(msn, part) is Reload.TOO_FAR:
            raise BadRequest(f"_HLS_msn {msn} is more than two segments ahead of the live edge",
                             code="hls_msn_too_far")  # fmt: skip
        if status is Reload.READY:
            cache = f"public, max-age={max(1, round(6 * call.services.config.hls.part_duration_s))}"
    headers = {**CORS, "Cache-Control": cache}
    return Reply(200, raw=stream.playlist.render().encode(), content_type="application/vnd.apple.mpegurl",
                 headers=headers)  # fmt: skip


@endpoint(
    "GET", "/hls/{streamId}/{name}", tag=TAG, auth=PUBLIC,
    params=[STREAM_ID, Field("name", "string", max_length=40, description="init<n>.mp4, <msn>.m4s, <msn>.<part>.m4s")],
    summary="An init section, segment or LL-HLS part of a live stream (fMP4)",
    responses={200: "The file", 400: "Not a media file name", 404: "No such stream or file"},
)  # fmt: skip
async def hls_media(call: Call) -> Reply:
    stream = _stream(call)
    name = call.path["name"]
    if not _FILE.match(name):
        raise BadRequest("not a media file name of this stream", code="invalid_field")
    if name not in stream.files and name == stream.playlist.preload_hint:
        with trio.move_on_after(call.services.config.hls.reload_timeout_s):
            while name not in stream.files and not stream.finished.is_set():
                await stream.changed.wait()
    if name not in stream.files:
        raise NotFound(f"{name} is not (or no longer) part of stream {stream.id}", code="media_not_found")
    try:
        data = await trio.Path(stream.directory / name).read_bytes()
    except FileNotFoundError:
        raise NotFound(f"{name} is no longer part of stream {stream.id}", code="media_not_found") from None
    return Reply(200, raw=data, content_type="video/mp4", headers={**CORS, "Cache-Control": IMMUTABLE})


ROUTES = (hls_playlist, hls_media)
