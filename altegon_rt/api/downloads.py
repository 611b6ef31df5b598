"""File downloads as the API sends them: always an attachment of type application/octet-stream.

Whatever was uploaded, a browser saves it instead of rendering it, so an uploaded page can never run in our
origin; ``nosniff`` stops the browser from guessing otherwise. The SHA-256 of the bytes travels along.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import quote

from altegon_rt.api.routing import Reply


def attachment(name: str, size: int, sha256: str, stream: AsyncIterator[bytes]) -> Reply:
    ascii_name = name.encode("ascii", "replace").decode().replace('"', "_").replace("?", "_")
    headers = {
        "Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}",
        "Content-Length": str(size),
        "X-Content-SHA256": sha256,
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, no-store",
    }
    return Reply(200, headers=headers, stream=stream, content_type="application/octet-stream")
