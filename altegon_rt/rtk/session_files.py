"""A session's chat, transcript and summary: stored, summarised, downloadable by signed URLs, and announced.

Transcript lines come from participants (``transcript:send`` on the SFU socket, e.g. from the browser's speech
recognition with a speech token of ``GET /api/get-speech-token``) and are kept encrypted in the platform's
transcripts store under the session id; a summary is made from them by the configured provider
(:mod:`altegon_rt.ai.provider`) and kept encrypted in the summaries store, like the REST summaries. The spec
answers each of the three as a download URL with an expiry: here ``/rtk/downloads/<token>``, a relative URL
signed like the recording ``sas-url`` links (:class:`altegon_rt.files.signing.UrlSigner`), valid for
``storage_quota.sas_ttl_s``. Chat and transcript download as CSV, the summary as JSON ``{summary, notes}``.

At a session's end (:meth:`SessionFiles.on_ended`): ``meeting.chatSynced`` when chat was kept,
``meeting.transcript`` when there is a transcript, and with the meeting's ``summarize_on_end`` a summary is
generated and ``meeting.summary`` sent.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import logging
import re
import time
from dataclasses import dataclass
from typing import Any

import trio

from altegon_rt.ai.notes import Line
from altegon_rt.ai.provider import SummaryProvider
from altegon_rt.api.jsonio import iso
from altegon_rt.api.summaries import _open_lines, _open_summary, _seal
from altegon_rt.crypto.transcript_cipher import DecryptError, TranscriptCipher, seal_line
from altegon_rt.errors import Conflict, NotFound
from altegon_rt.files.signing import BadSignature, UrlSigner
from altegon_rt.rtk.sessions import LivePeer, LiveSession
from altegon_rt.rtk.webhooks import WebhookDispatcher

log = logging.getLogger(__name__)

KINDS = ("chat", "transcript", "summary")
TOKEN_PREFIX = "rtk"  # noqa: S105 - a label in signed paths, not a secret
MAX_TRANSCRIPT_LINE = 5000


@dataclass(frozen=True, slots=True)
class FileGrant:
    kind: str
    app_id: str
    session_id: str


@dataclass
class SessionFiles:
    store: Any
    cipher: TranscriptCipher
    crypto_limiter: trio.CapacityLimiter
    summarizer: SummaryProvider
    signer: UrlSigner
    webhooks: WebhookDispatcher
    ttl_s: int

    # -- download URLs ----------------------------------------------------------------------------------------
    def link(self, kind: str, app_id: str, session_id: str) -> tuple[str, dt.datetime]:
        """A signed download URL of one of a session's files, and when it expires."""
        expires = int(time.time()) + self.ttl_s
        token = self.signer.sign(":".join((TOKEN_PREFIX, kind, app_id, session_id)), expires)
        return f"/rtk/downloads/{token}", dt.datetime.fromtimestamp(expires, dt.UTC)

    def grant(self, token: str) -> FileGrant:
        """The file a download token names; BadSignature when it is forged, expired or not one of ours."""
        parts = self.signer.verify(token).path.split(":")
        if len(parts) != 4 or parts[0] != TOKEN_PREFIX or parts[1] not in KINDS:
            raise BadSignature("not a session file")
        return FileGrant(parts[1], parts[2], parts[3])

    # -- transcripts and summaries ----------------------------------------------------------------------------
    async def add_line(self, session: LiveSession, live: LivePeer, text: str) -> None:
        """Store one transcript line of ``live`` (encrypted under the session's salt)."""
        try:
            sealed, by_client = await trio.to_thread.run_sync(
                seal_line, self.cipher, session.id, text, MAX_TRANSCRIPT_LINE, limiter=self.crypto_limiter
            )
        except ValueError:
            raise Conflict(f"a transcript line is at most {MAX_TRANSCRIPT_LINE} characters") from None
        await self.store.transcripts.add(meeting_id=session.id, user_id=live.principal.participant_id,
                                         user_name=live.peer.name, ciphertext=sealed, by_client=by_client)  # fmt: skip
        session.transcript_lines += 1

    async def lines(self, session_id: str) -> tuple[list[dict[str, Any]], list[Line]]:
        stored = await self.store.transcripts.for_meeting(session_id)
        lines = await trio.to_thread.run_sync(_open_lines, self.cipher, stored, "", limiter=self.crypto_limiter)
        return stored, lines

    async def summarize(self, session_id: str, ai_config: dict[str, Any] | None = None) -> None:
        """Generate (or regenerate) the session's summary, shaped by the meeting's ``ai_config.summarization``;
        Conflict when it has no transcript."""
        _, lines = await self.lines(session_id)
        if not lines:
            raise Conflict("the session has no transcript to summarise", code="transcript_empty")
        notes = await self.summarizer.meeting_notes(lines)
        notes = {**notes, "summary": shape_summary(notes["summary"], (ai_config or {}).get("summarization") or {})}
        summary, sealed = await trio.to_thread.run_sync(
            _seal, self.cipher, session_id, notes["summary"], notes, limiter=self.crypto_limiter
        )
        await self.store.summaries.put(meeting_id=session_id, summary=summary, notes=sealed,
                                       provider=self.summarizer.name, user_id="rtk")  # fmt: skip

    async def summary(self, session_id: str) -> dict[str, Any]:
        doc = await self.store.summaries.get(session_id)
        if doc is None:
            raise NotFound("no summary has been generated for this session", code="summary_not_found")
        return await trio.to_thread.run_sync(_open_summary, self.cipher, doc, limiter=self.crypto_limiter)  # type: ignore[no-any-return]

    # -- the files --------------------------------------------------------------------------------------------
    async def render(self, grant: FileGrant) -> tuple[bytes, str, str]:
        """``(body, content type, file name)`` of a granted file."""
        name = f"{grant.kind}-{grant.session_id}"
        if grant.kind == "chat":
            rows = [[d["_id"], d["participant_id"], d["peer_id"], d["display_name"], d["message"], iso(d["created_at"])]
                    for d in await self.store.rtk_chat.for_session(grant.session_id)]  # fmt: skip
            header = ["id", "participant_id", "peer_id", "display_name", "message", "created_at"]
            return _csv(header, rows), "text/csv; charset=utf-8", name + ".csv"
        if grant.kind == "transcript":
            stored, _ = await self.lines(grant.session_id)
            texts = await trio.to_thread.run_sync(self._open_each, stored, limiter=self.crypto_limiter)
            rows = [[iso(d["createdAt"]), d["userId"], d["userName"], t] for d, t in zip(stored, texts, strict=True)]
            return _csv(["timestamp", "participant_id", "display_name", "text"], rows), "text/csv; charset=utf-8", \
                name + ".csv"  # fmt: skip
        body = json.dumps(await self.summary(grant.session_id), ensure_ascii=False).encode()
        return body, "application/json", name + ".json"

    def _open_each(self, stored: list[dict[str, Any]]) -> list[str]:
        out = []
        for doc in stored:
            try:
                out.append(self.cipher.decrypt(doc["message"]) if doc.get("isEncrypted") else doc["message"])
            except DecryptError:  # a line sealed by a client under its own key stays as it was sent
                out.append(doc["message"])
        return out

    # -- the end of a session ---------------------------------------------------------------------------------
    async def on_ended(self, session: LiveSession) -> None:
        meeting = {"id": session.meeting_id, "session_id": session.id, "title": session.meeting.get("title"),
                   "status": "ENDED", "started_at": iso(session.started_at)}  # fmt: skip
        if session.chat_lines:
            url, expiry = self.link("chat", session.app_id, session.id)
            self.webhooks.emit(session.app_id, "meeting.chatSynced", {"meeting": meeting, "chat_download_url": url,
                               "chat_download_url_expiry": iso(expiry)})  # fmt: skip
        if not session.transcript_lines:
            return
        url, expiry = self.link("transcript", session.app_id, session.id)
        self.webhooks.emit(session.app_id, "meeting.transcript", {"meeting": meeting, "transcript_download_url": url,
                           "transcript_download_url_expiry": iso(expiry)})  # fmt: skip
        if session.meeting.get("summarize_on_end"):
            await self.summarize(session.id, session.meeting.get("ai_config"))
            url, expiry = self.link("summary", session.app_id, session.id)
            self.webhooks.emit(session.app_id, "meeting.summary", {"meeting": meeting, "summary_download_url": url,
                               "summary_download_url_expiry": iso(expiry)})  # fmt: skip


_WORD = re.compile(r"\S+")
_MARKDOWN = re.compile(r"(^\s{0,3}#{1,6}\s+|^\s*[-*+]\s+|\*\*|__|`)", re.MULTILINE)


def shape_summary(text: str, summarization: dict[str, Any]) -> str:
    """A summary as the meeting's ``ai_config.summarization`` asks: at most ``word_limit`` words (cut at a word,
    line breaks kept), and with ``text_format`` ``plain_text`` without Markdown marks. ``summary_type`` is
    passed to no provider yet: the embedded one writes one kind of summary."""
    limit = summarization.get("word_limit")
    if isinstance(limit, int) and limit > 0:
        for count, match in enumerate(_WORD.finditer(text), start=1):
            if count == limit:
                if _WORD.search(text, match.end()):
                    text = text[: match.end()] + " …"
                break
    if summarization.get("text_format") == "plain_text":
        text = _MARKDOWN.sub("", text)
    return text


def _csv(header: list[str], rows: list[list[Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode()
