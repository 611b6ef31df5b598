"""Polls of an active RealtimeKit session: a question, its options, and one vote per participant.

A poll is created through the REST API (``POST .../active-session/poll``) or by a participant whose preset has
``polls.can_create`` (the ``poll:create`` socket event); it lives as long as its session. Participants with
``polls.can_vote`` vote once (``poll:vote``). :meth:`Poll.readable` is the spec's ``Poll`` object:
``anonymous`` leaves out who voted for what, for everyone (counts stay, and ``voted`` still lists who has
voted); ``hide_votes`` hides counts and voters from a participant until it has voted itself (the REST API
always sees the counts).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from altegon_rt.rtk.jsonschema import boolean, obj, string

MAX_POLLS_PER_SESSION = 100
MAX_OPTIONS = 20

POLL_FIELDS = {
    "question": string("The question", max_length=1000, min_length=1),
    "options": {"type": "array", "items": string(max_length=256, min_length=1), "minItems": 1,
                "maxItems": MAX_OPTIONS},
    "anonymous": boolean("Hide who voted what", default=False),
    "hide_votes": boolean("Hide the counts from participants until they vote", default=False),
}  # fmt: skip
POLL_REQUEST = obj(POLL_FIELDS, ("question", "options"))
VOTE = obj({"id": string(max_length=256), "name": string(max_length=256)}, ("id", "name"))
POLL = obj(
    {
        "id": {"type": "string", "format": "uuid", "description": "ID of the poll"},
        "question": string("Question asked by the poll", max_length=1000),
        "options": {
            "type": "array",
            "description": "Answer options",
            "items": obj(
                {
                    "text": string(max_length=256),
                    "count": {"type": "integer", "minimum": 0},
                    "votes": {"type": "array", "items": VOTE},
                },
                ("text", "count", "votes"),
            ),
        },
        "anonymous": {"type": "boolean"},
        "hide_votes": {"type": "boolean"},
        "created_by": string(max_length=256),
        "voted": {"type": "array", "items": string(max_length=256)},
    },
    ("id", "question", "options"),
)


class VoteRefused(Exception):
    """An invalid option, or a second vote."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(slots=True)
class Poll:
    question: str
    options: list[str]
    created_by: str
    anonymous: bool = False
    hide_votes: bool = False
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    votes: dict[str, int] = field(default_factory=dict)  # voter id → option index, in voting order
    names: dict[str, str] = field(default_factory=dict)  # voter id → display name

    @classmethod
    def from_request(cls, body: dict[str, Any], created_by: str) -> Poll:
        """From a checked :data:`POLL_REQUEST` body."""
        return cls(body["question"], list(body["options"]), created_by, bool(body.get("anonymous")),
                   bool(body.get("hide_votes")))  # fmt: skip

    def vote(self, voter_id: str, name: str, index: Any) -> None:
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(self.options):
            raise VoteRefused("invalid_field", f"field 'index' must be an option's index, 0 to {len(self.options) - 1}")
        if voter_id in self.votes:
            raise VoteRefused("already_voted", "you have voted in this poll already")
        self.votes[voter_id] = index
        self.names[voter_id] = name

    def readable(self, viewer: str | None = None) -> dict[str, Any]:
        """The spec's Poll as ``viewer`` (a participant id) may see it; ``None``: everything (the REST API)."""
        counts_hidden = self.hide_votes and viewer is not None and viewer not in self.votes
        voters_hidden = counts_hidden or self.anonymous
        options = []
        for index, text in enumerate(self.options):
            voters = [v for v, i in self.votes.items() if i == index]
            options.append({
                "text": text,
                "count": 0 if counts_hidden else len(voters),
                "votes": [] if voters_hidden else [{"id": v, "name": self.names[v]} for v in voters],
            })  # fmt: skip
        return {
            "id": self.id,
            "question": self.question,
            "options": options,
            "anonymous": self.anonymous,
            "hide_votes": self.hide_votes,
            "created_by": self.created_by,
            "voted": [] if counts_hidden else list(self.votes),
        }
