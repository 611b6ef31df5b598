"""The Meeting Notes JSON of the Webinar document, and the transcript line the summarisers read.

Shape (field names exactly as documented)::

    title: str, summary: str, highlights: [str], chapters: [{timestamp "MM:SS", title, bullets: [str]}],
    decisions: [str], actions: [{action, assignee, due_date}], qna: [{question, answer}],
    participants: [{name, role}], topics: [str], keywords: [str], ambiguities: [str]

:func:`validate_notes` is pure: it returns a clean copy or raises :class:`NotesShapeError` naming the first
wrong field. It repairs only what the document itself says to fill in (a missing assignee is
``"Unassigned"``, a missing due date, answer or role ``"Not specified"``) and zero-pads ``M:SS`` timestamps;
anything else that is missing or of the wrong type is rejected, never guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

NOT_SPECIFIED = "Not specified"
UNASSIGNED = "Unassigned"
MAX_TEXT = 4000
MAX_ITEMS = 100
_TIMESTAMP = re.compile(r"^(?:(\d{1,2}):)?(\d{1,3}):(\d{2})$")

OBJECT_FIELDS: dict[str, tuple[tuple[str, str | None], ...]] = {
    # (key, default when missing); None: required
    "actions": (("action", None), ("assignee", UNASSIGNED), ("due_date", NOT_SPECIFIED)),
    "qna": (("question", None), ("answer", NOT_SPECIFIED)),
    "participants": (("name", None), ("role", NOT_SPECIFIED)),
}
FIELDS = ("title", "summary", "highlights", "chapters", "decisions", "actions", "qna", "participants", "topics",
          "keywords", "ambiguities")  # fmt: skip


class NotesShapeError(ValueError):
    """The notes do not have the documented shape; the message names the field."""


@dataclass(frozen=True, slots=True)
class Line:
    """One decrypted transcript line: who spoke, what, and when (seconds after the first line)."""

    speaker: str
    text: str
    offset_s: float
    is_host: bool = False


def mmss(seconds: float) -> str:
    """``MM:SS`` (minutes grow past 99 rather than wrapping)."""
    whole = max(0, int(seconds))
    return f"{whole // 60:02d}:{whole % 60:02d}"


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise NotesShapeError(f"{where} must be a string")
    return value.strip()[:MAX_TEXT]


def _texts(value: Any, where: str) -> list[str]:
    if not isinstance(value, list):
        raise NotesShapeError(f"{where} must be an array")
    return [_text(item, f"{where}[{i}]") for i, item in enumerate(value[:MAX_ITEMS])]


def _timestamp(value: Any, where: str) -> str:
    match = _TIMESTAMP.match(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise NotesShapeError(f"{where} must be a MM:SS timestamp")
    hours, minutes, seconds = (int(g or 0) for g in match.groups())
    if seconds > 59:
        raise NotesShapeError(f"{where} must be a MM:SS timestamp")
    return mmss(hours * 3600 + minutes * 60 + seconds)


def _objects(value: Any, where: str, keys: tuple[tuple[str, str | None], ...]) -> list[dict[str, str]]:
    if not isinstance(value, list):
        raise NotesShapeError(f"{where} must be an array")
    out = []
    for i, item in enumerate(value[:MAX_ITEMS]):
        if not isinstance(item, dict):
            raise NotesShapeError(f"{where}[{i}] must be an object")
        entry = {}
        for key, default in keys:
            raw = item.get(key)
            if raw is None or raw == "":
                if default is None:
                    raise NotesShapeError(f"{where}[{i}].{key} is required")
                raw = default
            entry[key] = _text(raw, f"{where}[{i}].{key}")
        out.append(entry)
    return out


def _chapters(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise NotesShapeError("chapters must be an array")
    out = []
    for i, item in enumerate(value[:MAX_ITEMS]):
        if not isinstance(item, dict):
            raise NotesShapeError(f"chapters[{i}] must be an object")
        out.append({
            "timestamp": _timestamp(item.get("timestamp"), f"chapters[{i}].timestamp"),
            "title": _text(item.get("title"), f"chapters[{i}].title"),
            "bullets": _texts(item.get("bullets", []), f"chapters[{i}].bullets"),
        })  # fmt: skip
    return out


def validate_notes(notes: Any) -> dict[str, Any]:
    """A clean copy of ``notes`` in the documented shape, or :class:`NotesShapeError`."""
    if not isinstance(notes, dict):
        raise NotesShapeError("the notes must be a JSON object")
    missing = [name for name in FIELDS if name not in notes]
    if missing:
        raise NotesShapeError(f"field '{missing[0]}' is missing")
    out: dict[str, Any] = {"title": _text(notes["title"], "title"), "summary": _text(notes["summary"], "summary")}
    out["highlights"] = _texts(notes["highlights"], "highlights")
    out["chapters"] = _chapters(notes["chapters"])
    out["decisions"] = _texts(notes["decisions"], "decisions")
    for name, keys in OBJECT_FIELDS.items():
        out[name] = _objects(notes[name], name, keys)
    for name in ("topics", "keywords", "ambiguities"):
        out[name] = _texts(notes[name], name)
    return {name: out[name] for name in FIELDS}
