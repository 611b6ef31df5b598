"""The embedded extractive summariser: documented shape, determinism, cue phrases, MM:SS chapters."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from altegon_rt.ai.extractive import chat_summary, meeting_notes, words
from altegon_rt.ai.notes import FIELDS, Line, validate_notes

MEETING = [
    Line("Ada", "Welcome everyone. Today we review the release plan for the mobile app.", 0, True),
    Line("Bob", "The release plan looks good but testing is behind. Maybe we need another week?", 40),
    Line("Ada", "We decided to move the release to next Friday. Bob, is the testing finished by Thursday?", 400),
    Line("Bob", "Yes, testing is finished by Thursday. I will write the test report by next Monday.", 430),
    Line("Cy", "I am not sure the mobile app store review is fast enough.", 800),
    Line("Ada", "Cy will check the store review times by end of the week.", 3725),
]


def test_documented_shape_and_content() -> None:
    notes = meeting_notes(MEETING)
    assert list(notes) == list(FIELDS) and validate_notes(notes) == notes
    assert notes["participants"] == [{"name": "Ada", "role": "Host"}, {"name": "Bob", "role": "Participant"},
                                     {"name": "Cy", "role": "Participant"}]  # fmt: skip
    assert notes["keywords"][0] == "release" and "release" in notes["title"].lower()
    assert 3 <= len(notes["highlights"]) <= 6
    assert notes["decisions"] == ["We decided to move the release to next Friday. (Ada)"]
    actions = {a["action"]: a for a in notes["actions"]}
    report = "I will write the test report by next Monday."
    assert actions[report] == {"action": report, "assignee": "Bob", "due_date": "next Monday"}
    assert actions["Cy will check the store review times by end of the week."]["assignee"] == "Cy"
    question = next(q for q in notes["qna"] if q["question"].startswith("Bob, is the testing"))
    assert question["answer"].startswith("Yes, testing is finished by Thursday.") and question["answer"].endswith(
        "(Bob)"
    )
    assert any("not sure" in a for a in notes["ambiguities"]) and any("Maybe" in a for a in notes["ambiguities"])
    assert "Ada, Bob and Cy discussed" in notes["summary"]


def test_chapters_are_mm_ss_from_the_first_line() -> None:
    chapters = meeting_notes(MEETING)["chapters"]
    stamps = [c["timestamp"] for c in chapters]
    assert stamps[0] == "00:00" and all(re.fullmatch(r"\d{2,}:[0-5]\d", s) for s in stamps)
    assert "62:05" in stamps  # 3725 s: minutes keep counting past the hour
    assert stamps == sorted(stamps, key=lambda s: int(s.split(":")[0]) * 60 + int(s.split(":")[1]))
    assert all(c["title"] and c["bullets"] for c in chapters)


def test_deterministic() -> None:
    assert meeting_notes(MEETING) == meeting_notes(list(MEETING))
    assert chat_summary(MEETING) == chat_summary(MEETING) and chat_summary(MEETING).startswith("Ada, Bob and Cy")


def test_small_and_empty_inputs() -> None:
    one = meeting_notes([Line("Ada", "Yes.", 0)])
    assert validate_notes(one) == one and one["chapters"] == [{"timestamp": "00:00", "title": "Discussion",
                                                               "bullets": ["Yes."]}]  # fmt: skip
    assert one["title"] == "Meeting" and one["highlights"] == ["Yes."]
    empty = meeting_notes([])
    assert validate_notes(empty) == empty and empty["chapters"] == [] and empty["summary"] == ""
    assert chat_summary([]) == ""


def test_words_drop_stopwords_and_short_words() -> None:
    assert words("We will ship the Release, OK? It's done by QA.") == ["ship", "release"]


lines_strategy = st.lists(
    st.builds(Line, st.sampled_from(["Ada", "Bob", "Ünï"]), st.text(max_size=200),
              st.floats(min_value=0, max_value=10_000, allow_nan=False), st.booleans()),
    max_size=30,
).map(lambda ls: sorted(ls, key=lambda line: line.offset_s))  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(lines=lines_strategy)
def test_any_transcript_gives_the_documented_shape(lines: list[Line]) -> None:
    notes = meeting_notes(lines)
    assert validate_notes(notes) == notes and meeting_notes(list(lines)) == notes
