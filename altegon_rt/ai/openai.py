"""An OpenAI-compatible chat-completions client for meeting notes and chat summaries.

Two URL shapes, chosen by configuration: plain OpenAI, ``{base}/v1/chat/completions`` with
``Authorization: Bearer <key>`` and ``model`` in the body; or Azure OpenAI (``ai.azure_deployment`` set),
``{base}/openai/deployments/{deployment}/chat/completions?api-version=...`` with header ``api-key``. The
request asks for a JSON object (``response_format``); the answer is parsed and validated against the
documented shape, and anything else is a 502. Building the request and reading the answer are pure
functions; only :meth:`OpenAIProvider._complete` does I/O.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from altegon_rt.ai import upstream
from altegon_rt.ai.notes import Line, NotesShapeError, mmss, validate_notes
from altegon_rt.config import AiSection
from altegon_rt.errors import BadGateway

MAX_TRANSCRIPT_CHARS = 400_000  # about 100k tokens; the oldest part is kept when a transcript is longer

NOTES_PROMPT = """You analyse a meeting transcript and answer with ONLY a JSON object, no other text.
Each transcript line is "[MM:SS] Speaker: text", MM:SS counted from the start of the meeting.
Required fields, with exactly these names:
title (string): brief meeting title;
summary (string): one paragraph summarising the key outcomes;
highlights (array of 3-6 strings): the most important points;
chapters (array of {"timestamp": "MM:SS", "title": string, "bullets": [string]}): use the transcript's times;
decisions (array of strings): decisions made, with who agreed;
actions (array of {"action": string, "assignee": string, "due_date": string});
qna (array of {"question": string, "answer": string});
participants (array of {"name": string, "role": string}): infer roles from context when possible;
topics (array of strings); keywords (array of strings);
ambiguities (array of strings): items that need clarification.
Use empty arrays, "Unassigned" or "Not specified" when the transcript does not say.
Do NOT invent anything: use only information from the transcript."""

CHAT_PROMPT = """Summarise the conversation clearly, concisely and professionally. Identify the participants,
their intentions and the main topics; leave out filler words, typos and small talk; mention ambiguities
rather than guessing. Answer with ONLY a JSON object {"summary": "<one short paragraph>"}."""


def format_transcript(lines: Sequence[Line]) -> str:
    """``[MM:SS] Speaker: text`` lines, cut at :data:`MAX_TRANSCRIPT_CHARS`."""
    out, size = [], 0
    for line in lines:
        text = f"[{mmss(line.offset_s)}] {line.speaker}: {' '.join(line.text.split())}"
        size += len(text) + 1
        if size > MAX_TRANSCRIPT_CHARS:
            break
        out.append(text)
    return "\n".join(out)


def request_for(config: AiSection, system: str, user: str) -> tuple[str, dict[str, str], dict[str, Any]]:
    """(url, headers, body) of one chat completion in the configured shape."""
    base = config.openai_base_url.rstrip("/")
    body: dict[str, Any] = {
        "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}],
        "response_format": {"type": "json_object"},
        "temperature": 0,
    }
    if config.azure_deployment:
        url = (f"{base}/openai/deployments/{quote(config.azure_deployment, safe='')}/chat/completions"
               f"?api-version={quote(config.azure_api_version, safe='')}")  # fmt: skip
        return url, {"api-key": config.openai_api_key}, body
    body["model"] = config.openai_model
    url = f"{base}/chat/completions" if base.endswith("/v1") else f"{base}/v1/chat/completions"
    headers = {"Authorization": f"Bearer {config.openai_api_key}"} if config.openai_api_key else {}
    return url, headers, body


def answer_object(raw: bytes) -> dict[str, Any]:
    """The JSON object in the first choice's message content, or BadGateway saying what was wrong."""
    try:
        content = json.loads(raw)["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError):
        raise BadGateway("the AI service's answer is not a chat completion") from None
    if not isinstance(content, str):
        raise BadGateway("the AI service's answer has no text content")
    text = content.strip()
    if text.startswith("```"):  # a fenced block despite the instructions: take what is inside
        text = text.strip("`").removeprefix("json").strip()
    try:
        found = json.loads(text)
    except ValueError:
        raise BadGateway("the AI service did not answer valid JSON") from None
    if not isinstance(found, dict):
        raise BadGateway("the AI service did not answer a JSON object")
    return found


class OpenAIProvider:
    """Summaries from an OpenAI-compatible service."""

    name = "openai"

    def __init__(self, config: AiSection) -> None:
        self._config = config

    async def _complete(self, system: str, user: str) -> dict[str, Any]:
        url, headers, body = request_for(self._config, system, user)
        raw = await upstream.post(url, what="the AI service", headers=headers, json=body,
                                  timeout_s=self._config.timeout_s)  # fmt: skip
        return answer_object(raw)

    async def meeting_notes(self, lines: Sequence[Line]) -> dict[str, Any]:
        found = await self._complete(NOTES_PROMPT, format_transcript(lines))
        try:
            return validate_notes(found)
        except NotesShapeError as exc:
            raise BadGateway(f"the AI service's notes do not have the documented shape: {exc}") from None

    async def chat_summary(self, lines: Sequence[Line]) -> str:
        found = await self._complete(CHAT_PROMPT, format_transcript(lines))
        summary = found.get("summary")
        if not isinstance(summary, str) or not summary.strip():
            raise BadGateway("the AI service's chat summary has no 'summary' text")
        return summary.strip()
