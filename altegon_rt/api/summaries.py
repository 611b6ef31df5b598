"""Meeting summaries: ``POST /transcription/generate-summary/:meetingId`` and ``GET /meeting/:meetingId/summary``.

Generation decrypts the transcript in a worker thread, hands the lines to the configured
:class:`~altegon_rt.ai.provider.SummaryProvider` (embedded by default), and stores the Meeting Notes JSON and
its summary paragraph encrypted under the meeting's salt, one summary per meeting (regenerating replaces
it); then the meeting's ``summaryGenerated`` is set. When the provider fails, nothing is stored. Only the
host and admins generate and read. See docs/decisions.md.
"""

from __future__ import annotations

import json
from typing import Any

import trio

from altegon_rt.ai.notes import Line
from altegon_rt.api.routing import Call, Reply, endpoint
from altegon_rt.api.schema import Field
from altegon_rt.crypto.transcript_cipher import DecryptError, TranscriptCipher
from altegon_rt.errors import Conflict, NotFound

MEETING_ID = Field("meetingId", "objectid", description="The meeting's id")
GENERATED = "Summary Generated Successfully."
NOTES_EXAMPLE = {
    "title": "Release planning", "summary": "The team moved the release to Friday.",
    "highlights": ["Release moves to Friday."],
    "chapters": [{"timestamp": "00:00", "title": "Release", "bullets": ["Testing is behind."]}],
    "decisions": ["Release on Friday (Ada)."],
    "actions": [{"action": "Write the test report", "assignee": "Bob", "due_date": "Not specified"}],
    "qna": [{"question": "Is testing done?", "answer": "By Thursday (Bob)."}],
    "participants": [{"name": "Ada", "role": "Host"}], "topics": ["Release"], "keywords": ["release"],
    "ambiguities": [],
}  # fmt: skip


async def _hosted_meeting(call: Call, meeting_id: str) -> dict[str, Any]:
    call.target = {"type": "meeting", "id": meeting_id}
    meeting = await call.services.store.meetings.get(meeting_id)
    if meeting is None:
        raise NotFound("meeting not found")
    call.require_self_or_admin(meeting["hostId"], "summaries")
    return meeting


def _open_lines(cipher: TranscriptCipher, stored: list[dict[str, Any]], host_id: str) -> list[Line]:
    """Decrypted lines with their offsets from the first line; lines that do not decrypt are left out."""
    lines: list[Line] = []
    first = stored[0]["createdAt"] if stored else None
    for doc in stored:
        text = doc.get("message", "")
        if doc.get("isEncrypted"):
            try:
                text = cipher.decrypt(text)
            except DecryptError:
                continue
        if not isinstance(text, str) or not text.strip():
            continue
        offset = (doc["createdAt"] - first).total_seconds() if first is not None else 0.0
        lines.append(Line(str(doc.get("userName", "")) or "Unknown", text, offset, doc.get("userId") == host_id))
    return lines


def _seal(cipher: TranscriptCipher, meeting_id: str, summary: str, notes: dict[str, Any]) -> tuple[str, str]:
    salt = cipher.salt_for(meeting_id)
    return cipher.encrypt(summary, salt), cipher.encrypt(json.dumps(notes, ensure_ascii=False), salt)


@endpoint(
    "POST", "/transcription/generate-summary/{meetingId}", tag="summaries", params=(MEETING_ID,),
    audit="summary.generate",
    summary="Summarise a meeting's transcript into Meeting Notes, stored encrypted (host or admin)",
    responses={200: "Generated", 400: "Invalid id", 401: "Not signed in", 403: "Not your meeting",
               404: "No such meeting", 409: "The meeting has no transcript yet", 429: "Too many generations",
               502: "The AI service failed or answered something unusable", 504: "The AI service timed out"},
    example={"msg": GENERATED},
)  # fmt: skip
async def generate_summary(call: Call) -> Reply:
    s = call.services
    meeting_id = call.path["meetingId"]
    meeting = await _hosted_meeting(call, meeting_id)
    s.limits.check(s.limits.summaries_account, call.user.user_id, "summary generations")
    stored = await s.store.transcripts.for_meeting(meeting_id)
    lines = await trio.to_thread.run_sync(_open_lines, s.cipher, stored, meeting["hostId"], limiter=s.crypto_limiter)
    if not lines:
        raise Conflict("the meeting has no transcript to summarise", code="transcript_empty")
    notes = await s.summarizer.meeting_notes(lines)
    call.target["provider"] = s.summarizer.name
    summary, sealed_notes = await trio.to_thread.run_sync(
        _seal, s.cipher, meeting_id, notes["summary"], notes, limiter=s.crypto_limiter
    )
    await s.store.summaries.put(meeting_id=meeting_id, summary=summary, notes=sealed_notes,
                                provider=s.summarizer.name, user_id=call.user.user_id)  # fmt: skip
    await s.store.meetings.update(meeting, {"summaryGenerated": True}, None)
    return Reply(200, {"msg": GENERATED})


def _open_summary(cipher: TranscriptCipher, doc: dict[str, Any]) -> dict[str, Any]:
    opened = cipher.decrypt_object(doc, ("summary", "notes")) if doc.get("isEncrypted") else doc
    try:
        notes = json.loads(opened.get("notes", ""))
    except (TypeError, ValueError):
        notes = None  # not readable under this secret: the summary text below is then the stored value
    return {"summary": opened.get("summary", ""), "notes": notes if isinstance(notes, dict) else None}


@endpoint(
    "GET", "/meeting/{meetingId}/summary", tag="summaries", params=(MEETING_ID,), audit="summary.view",
    summary="A meeting's generated summary paragraph and Meeting Notes JSON (host or admin)",
    responses={200: "The summary", 400: "Invalid id", 401: "Not signed in", 403: "Not your meeting",
               404: "No such meeting, or no summary generated yet"},
    example={"summary": NOTES_EXAMPLE["summary"], "notes": NOTES_EXAMPLE},
)  # fmt: skip
async def get_summary(call: Call) -> Reply:
    s = call.services
    meeting_id = call.path["meetingId"]
    await _hosted_meeting(call, meeting_id)
    doc = await s.store.summaries.get(meeting_id)
    if doc is None:
        raise NotFound("no summary has been generated for this meeting", code="summary_not_found")
    return Reply(200, await trio.to_thread.run_sync(_open_summary, s.cipher, doc, limiter=s.crypto_limiter))


ROUTES = (generate_summary, get_summary)
