"""The one interface summaries are made through, its embedded implementation, and the choice by config.

A :class:`SummaryProvider` turns decrypted transcript lines into the Meeting Notes JSON (validated, in the
documented shape) and a chat paragraph. Providers raise :class:`~altegon_rt.errors.BadGateway` or
:class:`~altegon_rt.errors.GatewayTimeout` when an upstream service fails; the caller stores nothing then.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import trio

from altegon_rt.ai import extractive
from altegon_rt.ai.notes import Line
from altegon_rt.ai.openai import OpenAIProvider
from altegon_rt.config import AiSection


class SummaryProvider(Protocol):
    name: str

    async def meeting_notes(self, lines: Sequence[Line]) -> dict[str, Any]:
        """The Meeting Notes JSON of a transcript (oldest line first), in the documented shape."""
        ...

    async def chat_summary(self, lines: Sequence[Line]) -> str:
        """One paragraph summarising a conversation."""
        ...


class ExtractiveProvider:
    """The embedded default: :mod:`altegon_rt.ai.extractive` in a worker thread, one at a time.

    It is CPU work (about 1.5 s for a 20,000-line transcript), so concurrent generations queue here rather
    than taking every core from the request handlers.
    """

    name = "embedded"

    def __init__(self) -> None:
        self._limiter = trio.CapacityLimiter(1)

    async def meeting_notes(self, lines: Sequence[Line]) -> dict[str, Any]:
        return await trio.to_thread.run_sync(extractive.meeting_notes, list(lines), limiter=self._limiter)

    async def chat_summary(self, lines: Sequence[Line]) -> str:
        return await trio.to_thread.run_sync(extractive.chat_summary, list(lines), limiter=self._limiter)


def build_provider(config: AiSection) -> SummaryProvider:
    """The OpenAI-compatible client when a base URL is configured, else the embedded summariser."""
    if config.openai_base_url:
        return OpenAIProvider(config)
    return ExtractiveProvider()
