"""Streaming ``multipart/form-data`` (RFC 7578 / RFC 2046 §5.1) for uploads: a sans-IO parser and a reader.

:class:`MultipartParser` takes bytes and gives events (part start, data, part end, done) with no I/O, like
h11; it hands data on as soon as it cannot be part of a delimiter, so a file's bytes are never gathered in
memory. (werkzeug 3.1.9's sans-IO decoder emits a stray CR when a chunk ends inside the closing delimiter,
found by our byte-by-byte test; hence our own.) :class:`MultipartUpload` feeds it from the request body and
keeps the first file part. Part headers and counts are bounded; anything malformed is a 400.
"""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator
from dataclasses import dataclass

from werkzeug.http import parse_options_header

from altegon_rt.errors import BadRequest

MAX_HEADER_BYTES = 16 * 1024
MAX_PREAMBLE_BYTES = 64 * 1024
MAX_PARTS = 16


class UnsupportedMediaType(BadRequest):
    status = 415
    code = "unsupported_media_type"


def _malformed(why: str) -> BadRequest:
    return BadRequest(f"malformed multipart body: {why}", code="invalid_multipart")


def boundary_of(content_type: str | None) -> bytes:
    """The boundary of a multipart/form-data request; 415 for another content type."""
    mime, options = parse_options_header(content_type or "")
    if mime != "multipart/form-data":
        raise UnsupportedMediaType("send the file as multipart/form-data")
    boundary = options.get("boundary", "")
    if not boundary or len(boundary) > 70 or not boundary.isascii():  # RFC 2046: 1 to 70 characters
        raise BadRequest("multipart body has no valid boundary", code="invalid_multipart")
    return boundary.encode("ascii")


@dataclass(frozen=True, slots=True)
class PartStart:
    name: str
    filename: str | None
    content_type: str


@dataclass(frozen=True, slots=True)
class PartData:
    data: bytes


@dataclass(frozen=True, slots=True)
class PartEnd:
    pass


@dataclass(frozen=True, slots=True)
class Done:
    pass


@dataclass(frozen=True, slots=True)
class NeedData:
    pass


Event = PartStart | PartData | PartEnd | Done | NeedData
NEED_DATA = NeedData()


class _State(enum.Enum):
    PREAMBLE = enum.auto()
    HEADERS = enum.auto()
    DATA = enum.auto()
    AFTER_DELIMITER = enum.auto()
    DONE = enum.auto()


def _part_start(block: bytes) -> PartStart:
    headers: dict[str, str] = {}
    for line in block.split(b"\r\n"):
        name, colon, value = line.partition(b":")
        if not colon:
            raise _malformed("part header without a colon")
        headers[name.strip().lower().decode("latin-1")] = value.strip().decode("utf-8", "replace")
    disposition, options = parse_options_header(headers.get("content-disposition", ""))
    if disposition != "form-data" or "name" not in options:
        raise _malformed("part without Content-Disposition: form-data; name=...")
    content_type = headers.get("content-type", "application/octet-stream")[:100]
    return PartStart(options["name"], options.get("filename"), content_type)


class MultipartParser:
    """Bytes in (:meth:`receive_data`), events out (:meth:`next_event`)."""

    def __init__(self, boundary: bytes) -> None:
        self._delimiter = b"\r\n--" + boundary
        # The first delimiter has no CRLF before it; give it one so every delimiter looks the same.
        self._buffer = bytearray(b"\r\n")
        self._state = _State.PREAMBLE
        self._complete = False
        self._parts = 0

    def receive_data(self, data: bytes | None) -> None:
        """More of the body, or ``None`` at its end."""
        if data is None:
            self._complete = True
        else:
            self._buffer += data

    def next_event(self) -> Event:
        event = self._step()
        if isinstance(event, NeedData) and self._complete and self._state is not _State.DONE:
            raise _malformed("the body ended before the closing boundary")
        return event

    def _step(self) -> Event:
        if self._state is _State.PREAMBLE:
            return self._preamble()
        if self._state is _State.AFTER_DELIMITER:
            return self._after_delimiter()
        if self._state is _State.HEADERS:
            return self._headers()
        if self._state is _State.DATA:
            return self._data()
        return Done()

    def _preamble(self) -> Event:
        at = self._buffer.find(self._delimiter)
        if at < 0:
            if len(self._buffer) > MAX_PREAMBLE_BYTES:
                raise _malformed("no boundary found")
            return NEED_DATA
        del self._buffer[: at + len(self._delimiter)]
        self._state = _State.AFTER_DELIMITER
        return self._after_delimiter()

    def _after_delimiter(self) -> Event:
        if len(self._buffer) < 2:
            return NEED_DATA
        tail = bytes(self._buffer[:2])
        del self._buffer[:2]
        if tail == b"--":
            self._state = _State.DONE
            self._buffer.clear()  # the epilogue is ignored
            return Done()
        if tail != b"\r\n":
            raise _malformed("boundary not followed by CRLF")
        self._parts += 1
        if self._parts > MAX_PARTS:
            raise _malformed(f"more than {MAX_PARTS} parts")
        self._state = _State.HEADERS
        return self._headers()

    def _headers(self) -> Event:
        if self._buffer.startswith(b"\r\n"):
            block, skip = b"", 2
        else:
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self._buffer) > MAX_HEADER_BYTES:
                    raise _malformed("part headers too large")
                return NEED_DATA
            block, skip = bytes(self._buffer[:end]), end + 4
        if len(block) > MAX_HEADER_BYTES:
            raise _malformed("part headers too large")
        del self._buffer[:skip]
        self._state = _State.DATA
        return _part_start(block)

    def _data(self) -> Event:
        at = self._buffer.find(self._delimiter)
        if at == 0:
            del self._buffer[: len(self._delimiter)]
            self._state = _State.AFTER_DELIMITER
            return PartEnd()
        # Without a delimiter, everything but a possible delimiter's beginning at the end is data.
        safe = at if at > 0 else len(self._buffer) - (len(self._delimiter) - 1)
        if safe <= 0:
            return NEED_DATA
        data = bytes(self._buffer[:safe])
        del self._buffer[:safe]
        return PartData(data)


class MultipartUpload:
    """Reads the first file part out of a multipart body stream."""

    def __init__(self, body: AsyncIterator[bytes], boundary: bytes) -> None:
        self._body = body
        self._parser = MultipartParser(boundary)
        self.filename = ""
        self.content_type = ""

    async def _event(self) -> Event:
        while isinstance(event := self._parser.next_event(), NeedData):
            try:
                self._parser.receive_data(await self._body.__anext__())
            except StopAsyncIteration:
                self._parser.receive_data(None)
        return event

    async def open_file(self) -> None:
        """Advance to the first file part (form fields before it are skipped)."""
        while True:
            event = await self._event()
            if isinstance(event, PartStart) and event.filename is not None:
                self.filename, self.content_type = event.filename, event.content_type
                return
            if isinstance(event, Done):
                raise BadRequest("the multipart body has no file part", code="missing_file")

    async def file_data(self) -> AsyncIterator[bytes]:
        """The file part's bytes, chunk by chunk."""
        while isinstance(event := await self._event(), PartData):
            yield event.data

    async def finish(self) -> None:
        """Read the rest; a second file part is refused (one file per request)."""
        while not isinstance(event := await self._event(), Done):
            if isinstance(event, PartStart) and event.filename is not None:
                raise BadRequest("send one file per request", code="too_many_files")
