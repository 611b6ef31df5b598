"""One bounded POST to an upstream service, with its failures mapped to 502 and 504.

The whole exchange (connect, send, wait, read) has one deadline; the answer is read up to ``max_bytes``.
Timeouts are :class:`GatewayTimeout` (504); connection errors, a non-2xx status and an oversized answer are
:class:`BadGateway` (502). Messages name the service and the status but never carry the request's
headers (they hold keys) or the upstream body.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx
import trio

from altegon_rt.errors import BadGateway, GatewayTimeout

log = logging.getLogger(__name__)
MAX_ANSWER_BYTES = 2 * 1024 * 1024


async def _read(response: httpx.Response, max_bytes: int, what: str) -> bytes:
    chunks, size = [], 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > max_bytes:
            raise BadGateway(f"{what} answered more than {max_bytes} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def post(
    url: str,
    *,
    what: str,
    headers: dict[str, str],
    timeout_s: float,
    json: Any = None,
    max_bytes: int = MAX_ANSWER_BYTES,
) -> bytes:
    """The body of a 2xx answer to a POST of ``json`` (or of nothing) to ``url``."""
    content = b"" if json is None else None
    try:
        with trio.fail_after(timeout_s):
            # trust_env=False: no proxy or netrc from the environment; the configured URL is where we go.
            async with (
                httpx.AsyncClient(timeout=timeout_s, trust_env=False, follow_redirects=False) as client,
                client.stream("POST", url, headers=headers, json=json, content=content) as response,
            ):
                if not 200 <= response.status_code < 300:
                    log.warning("%s answered HTTP %s", what, response.status_code)
                    raise BadGateway(f"{what} answered HTTP {response.status_code}")
                return await _read(response, max_bytes, what)
    except (trio.TooSlowError, httpx.TimeoutException):
        log.warning("%s did not answer within %.1f s", what, timeout_s)
        raise GatewayTimeout(f"{what} did not answer within {timeout_s:g} s") from None
    except httpx.HTTPError as exc:
        log.warning("%s unreachable: %s", what, type(exc).__name__)
        raise BadGateway(f"{what} is unreachable ({type(exc).__name__})") from None
