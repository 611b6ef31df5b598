"""Pure parts of the AI layer: notes validation and repair, request shapes, answer parsing, build by config."""

from __future__ import annotations

import json
from typing import Any

import pytest

from altegon_rt.ai.notes import Line, NotesShapeError, validate_notes
from altegon_rt.ai.openai import OpenAIProvider, answer_object, format_transcript, request_for
from altegon_rt.ai.provider import ExtractiveProvider, build_provider
from altegon_rt.config import AiSection
from altegon_rt.errors import BadGateway

NOTES: dict[str, Any] = {
    "title": "T", "summary": "S", "highlights": ["h"],
    "chapters": [{"timestamp": "3:05", "title": "C", "bullets": ["b"]}, {"timestamp": "1:02:03", "title": "D"}],
    "decisions": [], "actions": [{"action": "Do it"}], "qna": [{"question": "Why?"}],
    "participants": [{"name": "Ada"}], "topics": [], "keywords": [], "ambiguities": [],
}  # fmt: skip


def test_validation_repairs_only_documented_defaults() -> None:
    clean = validate_notes(NOTES)
    assert [c["timestamp"] for c in clean["chapters"]] == ["03:05", "62:03"]
    assert clean["chapters"][1]["bullets"] == []
    assert clean["actions"] == [{"action": "Do it", "assignee": "Unassigned", "due_date": "Not specified"}]
    assert clean["qna"] == [{"question": "Why?", "answer": "Not specified"}]
    assert clean["participants"] == [{"name": "Ada", "role": "Not specified"}]


@pytest.mark.parametrize(
    ("change", "message"),
    [({"title": None}, "title must be a string"), ({"highlights": "x"}, "highlights must be an array"),
     ({"chapters": [{"timestamp": "soon", "title": "x"}]}, "chapters[0].timestamp"),
     ({"chapters": [{"timestamp": "00:61", "title": "x"}]}, "chapters[0].timestamp"),
     ({"actions": [{"assignee": "Ada"}]}, "actions[0].action is required"),
     ({"keywords": [1]}, "keywords[0] must be a string")],
)  # fmt: skip
def test_validation_rejects_wrong_shapes(change: dict[str, Any], message: str) -> None:
    with pytest.raises(NotesShapeError, match=message.replace("[", r"\[").replace("]", r"\]")):
        validate_notes({**NOTES, **change})
    with pytest.raises(NotesShapeError, match="field 'ambiguities' is missing"):
        validate_notes({k: v for k, v in NOTES.items() if k != "ambiguities"})
    with pytest.raises(NotesShapeError):
        validate_notes([])


def test_plain_openai_request_shape() -> None:
    config = AiSection(openai_base_url="https://api.example.com/", openai_api_key="k", openai_model="m")
    url, headers, body = request_for(config, "sys", "user")
    assert url == "https://api.example.com/v1/chat/completions" and headers == {"Authorization": "Bearer k"}
    assert body["model"] == "m" and body["response_format"] == {"type": "json_object"}
    assert body["messages"] == [{"role": "system", "content": "sys"}, {"role": "user", "content": "user"}]
    url, _, _ = request_for(AiSection(openai_base_url="http://127.0.0.1:9/v1"), "s", "u")
    assert url == "http://127.0.0.1:9/v1/chat/completions"


def test_azure_request_shape() -> None:
    config = AiSection(openai_base_url="https://x.openai.azure.com", openai_api_key="k", azure_deployment="gpt4o",
                       azure_api_version="2024-06-01")  # fmt: skip
    url, headers, body = request_for(config, "sys", "user")
    assert url == "https://x.openai.azure.com/openai/deployments/gpt4o/chat/completions?api-version=2024-06-01"
    assert headers == {"api-key": "k"} and "model" not in body


def envelope(content: Any) -> bytes:
    return json.dumps({"choices": [{"message": {"content": content}}]}).encode()


def test_answer_parsing() -> None:
    assert answer_object(envelope('{"a": 1}')) == {"a": 1}
    assert answer_object(envelope('```json\n{"a": 1}\n```')) == {"a": 1}
    for bad in (b"not json", b"{}", envelope(None), envelope("[1]"), envelope("{nope")):
        with pytest.raises(BadGateway):
            answer_object(bad)


def test_transcript_format_and_provider_choice() -> None:
    text = format_transcript([Line("Ada", "Hello\n  there", 0), Line("Bob", "Hi", 75.9)])
    assert text == "[00:00] Ada: Hello there\n[01:15] Bob: Hi"
    assert isinstance(build_provider(AiSection()), ExtractiveProvider)
    assert isinstance(build_provider(AiSection(openai_base_url="https://api.example.com")), OpenAIProvider)


async def test_embedded_provider_runs_in_a_worker_thread() -> None:
    provider = ExtractiveProvider()
    lines = [Line("Ada", "We decided to ship the release on Friday.", 0, True)]
    notes = await provider.meeting_notes(lines)
    assert notes["decisions"] == ["We decided to ship the release on Friday. (Ada)"]
    assert (await provider.chat_summary(lines)).startswith("Ada discussed")
