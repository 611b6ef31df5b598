"""Meeting summaries and speech tokens: what talks to AI services, and the embedded default that does not.

- ``notes.py``: the documented Meeting Notes shape, its validation, and the transcript line type.
- ``extractive.py``: the embedded summariser (no network, no model): deterministic term-frequency scoring.
- ``openai.py``: an OpenAI-compatible chat-completions client (plain OpenAI or Azure OpenAI URL shape).
- ``provider.py``: the :class:`SummaryProvider` interface and the choice of provider from configuration.
- ``speech.py``: short-lived Azure Speech tokens for browsers.
"""
