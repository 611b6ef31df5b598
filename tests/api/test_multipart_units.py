"""The streaming multipart reader: bytes in, one file's chunks out, only BadRequest on garbage."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import pytest
import trio
from hypothesis import given, settings
from hypothesis import strategies as st

from altegon_rt.api.multipart import MultipartUpload, UnsupportedMediaType, boundary_of
from altegon_rt.errors import BadRequest


def body(content: bytes, name: str = "f.txt", boundary: str = "bnd") -> bytes:
    return (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="x"\r\n\r\nfield\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            "Content-Type: text/plain\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )


async def chunks(data: bytes, size: int) -> AsyncIterator[bytes]:
    for i in range(0, len(data), size):
        await trio.lowlevel.checkpoint()
        yield data[i : i + size]


async def read_upload(data: bytes, size: int, boundary: bytes = b"bnd") -> tuple[str, bytes]:
    upload = MultipartUpload(chunks(data, size), boundary)
    await upload.open_file()
    got = b"".join([c async for c in upload.file_data()])
    await upload.finish()
    return upload.filename, got


@pytest.mark.parametrize("size", [1, 2, 3, 7, 64, 100_000])
@pytest.mark.parametrize(
    "content", [b"abc", b"abc\r\n", b"abc\r", b"x\r\n\r\n", bytes(range(256)) * 40 + b"\r\n--bn x\r\n", b""]
)
async def test_same_result_whole_or_in_any_chunks(size: int, content: bytes) -> None:
    """Feeding the body whole, byte by byte, or in odd chunks gives the same file (werkzeug 3.1.9 did not)."""
    assert await read_upload(body(content), size) == ("f.txt", content)


@given(st.binary(max_size=300), st.lists(st.integers(min_value=1, max_value=40), min_size=1, max_size=5))
@settings(max_examples=200, deadline=None)
def test_any_content_any_chunking_roundtrips(content: bytes, sizes: list[int]) -> None:
    data = body(content)

    async def uneven() -> AsyncIterator[bytes]:
        i = n = 0
        while i < len(data):
            step = sizes[n % len(sizes)]
            yield data[i : i + step]
            i, n = i + step, n + 1

    async def main() -> tuple[str, bytes]:
        upload = MultipartUpload(uneven(), b"bnd")
        await upload.open_file()
        got = b"".join([c async for c in upload.file_data()])
        await upload.finish()
        return upload.filename, got

    if b"\r\n--bnd" not in content:  # content may not contain the delimiter itself
        assert trio.run(main) == ("f.txt", content)


def test_boundary_of() -> None:
    assert boundary_of('multipart/form-data; boundary="abc"') == b"abc"
    with pytest.raises(UnsupportedMediaType):
        boundary_of("application/json")
    with pytest.raises(BadRequest):
        boundary_of("multipart/form-data")


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400), st.integers(min_value=1, max_value=50))
def test_garbage_only_raises_bad_request(data: bytes, size: int) -> None:
    async def main() -> None:
        with contextlib.suppress(BadRequest):
            await read_upload(data, size)

    trio.run(main)


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=200), st.binary(min_size=1, max_size=20), st.integers(1, 30))
def test_mutated_bodies_only_raise_bad_request(at: int, noise: bytes, size: int) -> None:
    valid = body(b"hello world" * 5)
    mutated = valid[:at] + noise + valid[at + len(noise) :]

    async def main() -> None:
        with contextlib.suppress(BadRequest):
            await read_upload(mutated, size)

    trio.run(main)
