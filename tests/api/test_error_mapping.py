"""The app's error mapper in process: an unexpected exception is a JSON 500 with a request id, no traceback."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from altegon_rt.api.app import ROUTE_NAMES, create_app
from altegon_rt.api.services import Limits, Services
from altegon_rt.auth.principal import Authenticator
from altegon_rt.auth.tokens import TokenIssuer
from altegon_rt.config import Config
from altegon_rt.crypto.transcript_cipher import TranscriptCipher
from altegon_rt.errors import StorageUnavailable
from altegon_rt.files.disk import FileDisk
from altegon_rt.store import Store


class FailingStore(Store):
    """A Store whose database calls fail the way a bug would (fault injection for the mapper)."""

    def __init__(self, failure: Exception, tmp: Path) -> None:
        super().__init__(Config().storage, tmp)
        self.failure = failure

    async def call(self, fn: Any, *args: Any) -> Any:
        raise self.failure


def _app(failure: Exception, tmp: Path) -> Any:
    config = Config()
    store = FailingStore(failure, tmp)
    tokens = TokenIssuer("s" * 40, 60)
    services = Services(config, store, tokens, Authenticator(tokens, store.api_keys.by_prefix, store.users.by_id),
                        Limits.from_config(config, ROUTE_NAMES), TranscriptCipher("c" * 40), FileDisk(tmp),
                        dummy_hash="scrypt$1024$8$1$AAAA$AAAA")  # fmt: skip
    return create_app(services)


async def test_unexpected_exception_is_500_with_request_id(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    client = _app(RuntimeError("secret internals"), tmp_path).test_client()
    with caplog.at_level(logging.ERROR):
        r = await client.post("/auth/login", json={"userName": "a@b.co", "password": "password 1"})
    assert r.status_code == 500
    body = await r.get_json()
    assert body["success"] is False and body["error"]["code"] == "internal_error"
    assert body["error"]["requestId"] == r.headers["X-Request-Id"]
    assert "secret internals" not in str(body) and "Traceback" not in str(body)
    assert "secret internals" in caplog.text and r.headers["X-Request-Id"] in caplog.text


async def test_storage_outage_is_503(tmp_path: Path) -> None:
    client = _app(StorageUnavailable("down"), tmp_path).test_client()
    r = await client.post("/auth/login", json={"userName": "a@b.co", "password": "password 1"})
    assert r.status_code == 503 and r.headers["Retry-After"] == "5"
    assert (await r.get_json())["error"]["code"] == "storage_unavailable"
