"""Recording blobs in Azure Blob Storage, over its REST API with httpx and Shared Key (``azure_auth.py``).

Uploads are streamed: the bytes are cut into 4 MiB blocks, each sent with Put Block as soon as it is full, and
the blob exists only once Put Block List commits them, so a refused or failed upload leaves no blob (Azure
garbage-collects uncommitted blocks after a week). Downloads stream Get Blob; deletions are Delete Blob, where
404 means already gone. Read links are service SAS URLs on the Azure endpoint itself.

Every request has one deadline (``storage_quota.azure_timeout_s``): Azure not answering in time is a 504, and
unreachable, refusing (a wrong key: 403 AuthenticationFailed) or failing (5xx) is a 502, each with a message
that names the operation and Azure's error code. The account key never appears in a log line or a message.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
import secrets
import time
from collections.abc import AsyncIterator
from email.utils import formatdate
from urllib.parse import quote, urlencode, urlsplit

import httpx
import trio

from altegon_rt.config import StorageQuotaSection
from altegon_rt.errors import ApiError, BadGateway, BrokenStream, GatewayTimeout
from altegon_rt.files.azure_auth import API_VERSION, blob_read_sas, shared_key_authorization
from altegon_rt.files.blobstore import AZURE, BlobMissing, BlobPlace
from altegon_rt.files.disk import TooLarge, Written
from altegon_rt.files.names import attachment_disposition

log = logging.getLogger(__name__)

# One block is held in memory per upload; 50,000 blocks (Azure's limit) of this size are 195 GiB, above the
# largest upload the config allows (64 GiB).
BLOCK_BYTES = 4 * 1024 * 1024
MAX_BLOCKS = 50_000
# A SAS starts this long before "now", so a link works at once even where Azure's clock is a little behind ours.
CLOCK_SKEW_S = 300
_ERROR_CODE = re.compile(r"^[A-Za-z0-9]{1,64}$")


def block_id(index: int) -> str:
    """Block ids of one blob must all have the same length: base64 of a zero-padded counter."""
    return base64.b64encode(f"block-{index:06d}".encode()).decode("ascii")


class AzureBlobStore:
    """Blobs as ``<container>/<userId>/<roomId>/<recordingId>/<random id>`` in one storage account."""

    name = AZURE

    def __init__(self, section: StorageQuotaSection) -> None:
        self._account = section.azure_account
        self._key = base64.b64decode(section.azure_key, validate=True)
        self._container = section.azure_container
        self._timeout_s = section.azure_timeout_s
        endpoint = urlsplit(section.azure_blob_endpoint)
        self._origin = f"{endpoint.scheme}://{endpoint.netloc}"
        self._base_path = endpoint.path.rstrip("/")
        self._https = endpoint.scheme == "https"
        # One pooled client for the process; trust_env=False: no proxy or netrc from the environment.
        self._client = httpx.AsyncClient(timeout=self._timeout_s, trust_env=False, follow_redirects=False)

    @property
    def container_url(self) -> str:
        return f"{self._origin}{self._base_path}/{self._container}"

    async def aclose(self) -> None:
        await self._client.aclose()

    def _blob(self, place: BlobPlace, key: str) -> str:
        assert re.fullmatch(r"[0-9a-f]{32}", key), "blob keys are ours"
        return "/".join((*place.parts, key))

    def _path(self, blob: str) -> str:
        return f"{self._base_path}/{self._container}/{quote(blob, safe='/')}"

    async def _send(
        self,
        method: str,
        blob: str,
        what: str,
        *,
        query: tuple[tuple[str, str], ...] = (),
        headers: dict[str, str] | None = None,
        content: bytes | None = None,
        stream: bool = False,
    ) -> httpx.Response:
        """One signed request within the deadline; transport failures become 502/504, statuses are the caller's."""
        path = self._path(blob)
        sent = {"x-ms-date": formatdate(time.time(), usegmt=True), "x-ms-version": API_VERSION, **(headers or {})}
        if content is not None:
            sent["Content-Length"] = str(len(content))  # signed, so set here rather than left to httpx
        sent["Authorization"] = shared_key_authorization(self._account, self._key, method, sent, path, query)
        url = self._origin + path + ("?" + urlencode(query, quote_via=quote) if query else "")
        request = self._client.build_request(method, url, headers=sent, content=content)
        try:
            with trio.fail_after(self._timeout_s):
                return await self._client.send(request, stream=stream)
        except (trio.TooSlowError, httpx.TimeoutException):
            log.warning("Azure Blob Storage did not answer %s within %.1f s", what, self._timeout_s)
            raise GatewayTimeout(f"Azure Blob Storage did not answer {what} within {self._timeout_s:g} s") from None
        except httpx.HTTPError as exc:
            log.warning("Azure Blob Storage unreachable during %s: %s", what, type(exc).__name__)
            raise BadGateway(f"Azure Blob Storage is unreachable ({type(exc).__name__}) during {what}") from None

    @staticmethod
    def _error_code(response: httpx.Response) -> str:
        code = response.headers.get("x-ms-error-code", "")
        return code if _ERROR_CODE.fullmatch(code) else ""

    def _refusal(self, response: httpx.Response, what: str) -> ApiError:
        """The 502 for an answer we cannot use, saying what an operator should check."""
        code = self._error_code(response)
        label = f"HTTP {response.status_code}" + (f" {code}" if code else "")
        log.warning("Azure Blob Storage refused %s: %s", what, label)
        if response.status_code in (401, 403):
            return BadGateway(f"Azure Blob Storage refused our credentials for {what} ({label}); "
                              "check storage_quota.azure_account and storage_quota.azure_key")  # fmt: skip
        if code == "ContainerNotFound":
            return BadGateway(f"Azure Blob Storage has no container {self._container!r} ({label}); "
                              "create it or correct storage_quota.azure_container")  # fmt: skip
        return BadGateway(f"Azure Blob Storage failed {what} ({label})")

    async def _expect(self, response: httpx.Response, what: str, *statuses: int) -> None:
        if response.status_code not in statuses:
            await response.aclose()
            raise self._refusal(response, what)

    async def write(self, place: BlobPlace, chunks: AsyncIterator[bytes], max_bytes: int) -> Written:
        key = secrets.token_hex(16)
        blob = self._blob(place, key)
        digest, size, pending, block_ids = hashlib.sha256(), 0, bytearray(), []
        async for chunk in chunks:
            size += len(chunk)
            if size > max_bytes:
                raise TooLarge
            digest.update(chunk)
            pending += chunk
            while len(pending) >= BLOCK_BYTES:
                block_ids.append(await self._put_block(blob, len(block_ids), bytes(pending[:BLOCK_BYTES])))
                del pending[:BLOCK_BYTES]
        if pending:
            block_ids.append(await self._put_block(blob, len(block_ids), bytes(pending)))
        await self._commit(blob, block_ids)
        return Written(key, size, digest.hexdigest())

    async def _put_block(self, blob: str, index: int, data: bytes) -> str:
        assert index < MAX_BLOCKS, "the upload limit keeps blobs under Azure's block count"
        ident = block_id(index)
        what = f"an upload (block {index})"
        response = await self._send("PUT", blob, what, query=(("comp", "block"), ("blockid", ident)), content=data)
        await self._expect(response, what, 201)
        return ident

    async def _commit(self, blob: str, block_ids: list[str]) -> None:
        latest = "".join(f"<Latest>{ident}</Latest>" for ident in block_ids)
        body = f'<?xml version="1.0" encoding="utf-8"?><BlockList>{latest}</BlockList>'.encode()
        headers = {"Content-Type": "application/xml", "x-ms-blob-content-type": "application/octet-stream"}
        try:
            response = await self._send("PUT", blob, "committing an upload", query=(("comp", "blocklist"),),
                                        headers=headers, content=body)  # fmt: skip
            await self._expect(response, "committing an upload", 201)
        except BaseException:
            # A commit we saw fail (a timeout, a cut connection) may still have happened at Azure: delete, so
            # that a failed upload never leaves a blob behind.
            with trio.CancelScope(shield=True):
                await self.discard(blob)
            raise

    async def discard(self, blob: str) -> None:
        """Best-effort removal after a failure; the original error is the one that matters."""
        try:
            response = await self._send("DELETE", blob, "removing a failed upload")
            await self._expect(response, "removing a failed upload", 202, 404)
        except ApiError as exc:
            log.warning("could not remove blob %s after a failed upload: %s", blob, exc.message)

    async def open(self, place: BlobPlace, key: str) -> AsyncIterator[bytes]:
        # identity: the bytes exactly as stored, with the length the blobs collection recorded.
        response = await self._send("GET", self._blob(place, key), "a download",
                                    headers={"Accept-Encoding": "identity"}, stream=True)  # fmt: skip
        if response.status_code == 404 and self._error_code(response) != "ContainerNotFound":
            await response.aclose()
            raise BlobMissing(key)
        await self._expect(response, "a download", 200)
        return self._body(response)

    async def _body(self, response: httpx.Response) -> AsyncIterator[bytes]:
        try:
            async for chunk in response.aiter_raw():
                yield chunk
        except httpx.HTTPError as exc:
            # The status line is sent already: all that is left is to cut the connection (BrokenStream).
            log.warning("Azure Blob Storage broke off a download: %s", type(exc).__name__)
            raise BrokenStream(f"Azure Blob Storage broke off a download ({type(exc).__name__})") from None
        finally:
            with trio.CancelScope(shield=True):
                await response.aclose()

    async def remove(self, place: BlobPlace, key: str) -> None:
        response = await self._send("DELETE", self._blob(place, key), "a deletion")
        if response.status_code == 404 and self._error_code(response) != "ContainerNotFound":
            return  # already gone: what we wanted
        await self._expect(response, "a deletion", 202)

    def signed_read_url(self, place: BlobPlace, key: str, *, file_name: str, expires: int, now: int) -> str:
        blob = self._blob(place, key)
        query = blob_read_sas(
            account=self._account, key=self._key, container=self._container, blob=blob,
            start=now - CLOCK_SKEW_S, expiry=expires, protocol="https" if self._https else "https,http",
            content_disposition=attachment_disposition(file_name), content_type="application/octet-stream",
        )  # fmt: skip
        return f"{self._origin}{self._path(blob)}?{query}"
