"""A fake Azure Blob Storage account on 127.0.0.1, in a thread, for tests.

It speaks the subset Altegon RT uses, path-style like Azurite (``/<account>/<container>/<blob>``): Put Block,
Put Block List, Get Blob and Delete Blob, each authorised with Shared Key, and Get Blob also with a service
SAS (``sig`` in the query). Both signatures are recomputed here from the request as it arrived on the wire,
written apart from the product's ``files/azure_auth.py`` so that a mistake in one is caught by the other.
Refusals look like Azure's: a status, ``x-ms-error-code`` and an XML error body.

``failures`` maps an operation (``block``, ``blocklist``, ``get``, ``delete``) to ``"500"`` (answer an
internal error), ``"hang"`` (say nothing for ``hang_s``, then fail), ``"slow"`` (do it, but answer only after
``hang_s``) or ``"truncate"`` (answer, but close the connection halfway through the body); ``requests`` records
(operation, path, status).
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import email.utils
import hashlib
import hmac
import threading
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from tests.api.loopback_http import start_http, stop_http

ACCOUNT = "altegonfake"
KEY = base64.b64encode(hashlib.sha256(b"the fake account key").digest() * 2).decode()
CONTAINER = "recordings"
MAX_BLOCK = 4000 * 1024 * 1024


Answer = tuple[int, dict[str, str], bytes]


class Refused(Exception):
    def __init__(self, status: int, code: str, message: str = "") -> None:
        super().__init__(code)
        self.status, self.code, self.message = status, code, message or code


def _hmac_b64(key_b64: str, text: str) -> str:
    return base64.b64encode(hmac.new(base64.b64decode(key_b64), text.encode(), hashlib.sha256).digest()).decode()


def expected_shared_key(method: str, raw_target: str, headers: Any, account: str = ACCOUNT, key: str = KEY) -> str:
    """The signature Azure would compute for this request (the Blob service's Shared Key, 2015-02-21 and later)."""

    def header(name: str) -> str:
        values = headers.get_all(name) or []
        return ",".join(v.strip() for v in values)

    length = header("Content-Length")
    lines = [method, header("Content-Encoding"), header("Content-Language"), "" if length == "0" else length,
             header("Content-MD5"), header("Content-Type"), header("Date"), header("If-Modified-Since"),
             header("If-Match"), header("If-None-Match"), header("If-Unmodified-Since"), header("Range")]  # fmt: skip
    ms = {}
    for name in headers:
        if name.lower().startswith("x-ms-"):
            ms[name.lower()] = header(name)
    target = urlsplit(raw_target)
    params: dict[str, list[str]] = {}
    for name, value in parse_qsl(target.query, keep_blank_values=True):
        params.setdefault(name.lower(), []).append(value)
    resource = "/" + account + target.path
    for name in sorted(params):
        resource += "\n" + name + ":" + ",".join(sorted(params[name]))
    text = "\n".join(lines) + "\n" + "".join(k + ":" + ms[k] + "\n" for k in sorted(ms)) + resource
    return _hmac_b64(key, text)


def _parse_sas_time(text: str) -> float:
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC).timestamp()


def check_sas(query: dict[str, str], container: str, blob: str, *, https: bool, now: float) -> None:
    """Refuse a service SAS that Azure would refuse for a Get Blob (2020-12-06 string-to-sign)."""
    get = query.get
    if not get("sig") or get("sv", "") < "2020-12-06":
        raise Refused(403, "AuthenticationFailed", "missing sig or unsupported sv")
    fields = [get("sp", ""), get("st", ""), get("se", ""), f"/blob/{ACCOUNT}/{container}/{blob}", get("si", ""),
              get("sip", ""), get("spr", ""), get("sv", ""), get("sr", ""), get("snapshot", ""), get("ses", ""),
              get("rscc", ""), get("rscd", ""), get("rsce", ""), get("rscl", ""), get("rsct", "")]  # fmt: skip
    if not hmac.compare_digest(_hmac_b64(KEY, "\n".join(fields)), get("sig", "")):
        raise Refused(403, "AuthenticationFailed", "Signature did not match")
    if get("sr") != "b" or "r" not in get("sp", ""):
        raise Refused(403, "AuthorizationPermissionMismatch")
    if not https and "http" not in get("spr", "https,http").split(","):
        raise Refused(403, "AuthorizationProtocolMismatch")
    if _parse_sas_time(get("se", "")) <= now or (get("st") and _parse_sas_time(get("st", "")) > now):
        raise Refused(403, "AuthenticationFailed", "Signed expiry time or start time is not valid")


@dataclass
class FakeAzure:
    failures: dict[str, str] = field(default_factory=dict)
    hang_s: float = 4.0
    blobs: dict[str, bytes] = field(default_factory=dict)  # committed: blob name -> bytes
    content_types: dict[str, str] = field(default_factory=dict)
    staged: dict[str, dict[str, bytes]] = field(default_factory=dict)  # uncommitted blocks per blob
    requests: list[tuple[str, str, int]] = field(default_factory=list)
    endpoint: str = ""
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> FakeAzure:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_PUT(self) -> None:
                fake.handle(self, "PUT")

            def do_GET(self) -> None:
                fake.handle(self, "GET")

            def do_DELETE(self) -> None:
                fake.handle(self, "DELETE")

        self._server, base = start_http(Handler)
        self.endpoint = f"{base}/{ACCOUNT}"
        return self

    def stop(self) -> None:
        stop_http(self._server)

    def blobs_under(self, prefix: str) -> dict[str, bytes]:
        with self._lock:
            return {name: data for name, data in self.blobs.items() if name.startswith(prefix)}

    def ops(self, op: str) -> list[tuple[str, str, int]]:
        return [r for r in self.requests if r[0] == op]

    # -- one request ---------------------------------------------------------------------------------------

    def handle(self, h: BaseHTTPRequestHandler, method: str) -> None:
        target = urlsplit(h.path)
        query = dict(parse_qsl(target.query, keep_blank_values=True))
        op = {"PUT": {"block": "block", "blocklist": "blocklist"}.get(query.get("comp", ""), "put"),
              "GET": "get", "DELETE": "delete"}[method]  # fmt: skip
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        status, headers, payload = 500, {}, b""
        try:
            failure = self.failures.get(op)
            if failure == "hang":
                time.sleep(self.hang_s)
            if failure in ("hang", "500"):
                raise Refused(500, "InternalError", "the fake was told to fail")
            container, blob = self._locate(target.path)
            if method == "GET" and "sig" in query:
                check_sas(query, container, blob, https=False, now=time.time())
            else:
                self._check_shared_key(h, method)
            status, headers, payload = getattr(self, "_" + op)(query, blob, body, h.headers)
            if failure == "slow":  # done, but the answer comes too late
                time.sleep(self.hang_s)
            if failure == "truncate":  # the answer breaks off halfway
                self.requests.append((op, target.path, status))
                h.send_response(status)
                h.send_header("Content-Length", str(len(payload)))
                h.end_headers()
                h.wfile.write(payload[: len(payload) // 2])
                h.wfile.flush()
                h.close_connection = True
                return
        except Refused as exc:
            status, headers = exc.status, {"x-ms-error-code": exc.code, "Content-Type": "application/xml"}
            payload = (f'<?xml version="1.0" encoding="utf-8"?><Error><Code>{exc.code}</Code>'
                       f"<Message>{exc.message}</Message></Error>").encode()  # fmt: skip
        self.requests.append((op, target.path, status))
        with contextlib.suppress(OSError):  # the client gave up (the timeout tests)
            h.send_response(status)
            for name, value in {"Content-Length": str(len(payload)), **headers}.items():
                h.send_header(name, value)
            h.end_headers()
            h.wfile.write(payload)

    def _locate(self, path: str) -> tuple[str, str]:
        account, _, rest = path.lstrip("/").partition("/")
        container, _, blob = rest.partition("/")
        if account != ACCOUNT:
            raise Refused(400, "InvalidUri")
        if container != CONTAINER:
            raise Refused(404, "ContainerNotFound")
        if not blob:
            raise Refused(400, "InvalidUri")
        return container, unquote(blob)

    def _check_shared_key(self, h: BaseHTTPRequestHandler, method: str) -> None:
        auth = h.headers.get("Authorization", "")
        scheme, _, credential = auth.partition(" ")
        account, _, signature = credential.partition(":")
        if scheme != "SharedKey" or account != ACCOUNT:
            raise Refused(403, "AuthenticationFailed", "no Shared Key authorization")
        sent = email.utils.parsedate_to_datetime(h.headers.get("x-ms-date") or "Thu, 01 Jan 1970 00:00:00 GMT")
        if abs(sent.timestamp() - time.time()) > 15 * 60 or not h.headers.get("x-ms-version"):
            raise Refused(403, "AuthenticationFailed", "x-ms-date or x-ms-version missing or off")
        if not hmac.compare_digest(signature, expected_shared_key(method, h.path, h.headers)):
            raise Refused(403, "AuthenticationFailed", "The MAC signature found in the request is not the same")

    def _block(self, query: dict[str, str], blob: str, body: bytes, headers: Any) -> Answer:
        ident = query.get("blockid", "")
        try:
            raw = base64.b64decode(ident, validate=True)
        except ValueError:
            raise Refused(400, "InvalidQueryParameterValue") from None
        if not raw or len(raw) > 64 or len(body) > MAX_BLOCK:
            raise Refused(400, "InvalidQueryParameterValue")
        with self._lock:
            staged = self.staged.setdefault(blob, {})
            if staged and len(next(iter(staged))) != len(ident):
                raise Refused(400, "InvalidBlobOrBlock", "block ids of one blob must have one length")
            staged[ident] = body
        return 201, {}, b""

    def _blocklist(self, query: dict[str, str], blob: str, body: bytes, headers: Any) -> Answer:
        try:
            # Only our own server talks to the fake: its XML is trusted test input.
            ids = [el.text or "" for el in ET.fromstring(body) if el.tag in ("Latest", "Uncommitted")]  # noqa: S314
        except ET.ParseError:
            raise Refused(400, "InvalidXmlDocument") from None
        with self._lock:
            staged = self.staged.get(blob, {})
            if any(ident not in staged for ident in ids):
                raise Refused(400, "InvalidBlockList")
            self.blobs[blob] = b"".join(staged[ident] for ident in ids)
            self.content_types[blob] = headers.get("x-ms-blob-content-type") or "application/octet-stream"
            self.staged.pop(blob, None)
        return 201, {}, b""

    def _get(self, query: dict[str, str], blob: str, body: bytes, headers: Any) -> Answer:
        with self._lock:
            data = self.blobs.get(blob)
        if data is None:
            raise Refused(404, "BlobNotFound")
        answer = {"Content-Type": query.get("rsct") or self.content_types.get(blob, "application/octet-stream")}
        if query.get("rscd"):
            answer["Content-Disposition"] = query["rscd"]
        return 200, answer, data

    def _delete(self, query: dict[str, str], blob: str, body: bytes, headers: Any) -> Answer:
        with self._lock:
            if self.blobs.pop(blob, None) is None:
                raise Refused(404, "BlobNotFound")
        return 202, {}, b""

    def _put(self, query: dict[str, str], blob: str, body: bytes, headers: Any) -> Answer:
        raise Refused(400, "UnsupportedHttpVerb", "the fake only takes Put Block and Put Block List")
