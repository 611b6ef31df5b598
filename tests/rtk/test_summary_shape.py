"""A session summary shaped by the meeting's ``ai_config.summarization`` (pure)."""

from __future__ import annotations

from altegon_rt.rtk.session_files import shape_summary

TEXT = "## Decisions\n- **Ship** the `beta` on Friday\n- Hire two engineers\n\nEveryone agreed."


def test_the_word_limit_cuts_at_a_word_and_keeps_line_breaks() -> None:
    assert shape_summary(TEXT, {"word_limit": 5}) == "## Decisions\n- **Ship** the …"
    assert shape_summary(TEXT, {"word_limit": 500}) == TEXT
    words = len(TEXT.split())
    assert shape_summary(TEXT, {"word_limit": words}) == TEXT  # exactly the limit: nothing cut, no ellipsis


def test_plain_text_drops_markdown_marks() -> None:
    plain = shape_summary(TEXT, {"text_format": "plain_text"})
    assert plain == "Decisions\nShip the beta on Friday\nHire two engineers\n\nEveryone agreed."
    assert shape_summary(TEXT, {"text_format": "markdown"}) == TEXT
