"""A fake OpenAI-compatible and Azure token service on 127.0.0.1, in a thread, for tests.

``FakeUpstream.mode`` chooses the next answers: ``ok`` (the configured ``answer``), ``slow`` (sleeps
``slow_s`` first), ``500``, ``invalid`` (content that is not JSON) or ``shape`` (JSON without the documented
fields). Every request is recorded (path, headers, body).
"""

from __future__ import annotations

import contextlib
import json
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.api.loopback_http import start_http, stop_http


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class FakeUpstream:
    mode: str = "ok"
    answer: Any = None  # a JSON object for chat completions, or a str for a token endpoint
    slow_s: float = 3.0
    requests: list[Seen] = field(default_factory=list)
    url: str = ""
    _server: ThreadingHTTPServer | None = None

    def start(self) -> FakeUpstream:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                fake.requests.append(Seen(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                status, payload, kind = fake.reply()
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                with contextlib.suppress(OSError):  # the client gave up (the timeout tests)
                    self.wfile.write(payload)

        self._server, base = start_http(Handler)
        self.url = base
        return self

    def stop(self) -> None:
        stop_http(self._server)

    def reply(self) -> tuple[int, bytes, str]:
        if self.mode == "slow":
            time.sleep(self.slow_s)
        if self.mode == "500":
            return 500, b'{"error": "boom"}', "application/json"
        if isinstance(self.answer, str):  # a token endpoint answers text
            return 200, self.answer.encode(), "text/plain"
        content = {"invalid": "this is not JSON {", "shape": json.dumps({"title": "only a title"})}.get(
            self.mode, json.dumps(self.answer)
        )
        envelope = {"id": "chatcmpl-1", "object": "chat.completion",
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": content}}]}  # fmt: skip
        return 200, json.dumps(envelope).encode(), "application/json"
