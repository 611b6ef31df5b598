"""Azure signatures against vectors written out by hand from Microsoft's documented formats.

The expected strings-to-sign below were composed line by line from "Authorize with Shared Key" (Blob service)
and "Create a service SAS" (2020-12-06 and later), not produced by the code under test; the expected
signatures were computed with openssl (``openssl dgst -sha256 -mac HMAC -macopt hexkey:<key> -binary | base64``).
The key is Azurite's published development key for ``devstoreaccount1``.
"""

from __future__ import annotations

import base64
from urllib.parse import parse_qs

from altegon_rt.files.azure import block_id
from altegon_rt.files.azure_auth import (
    blob_read_sas,
    canonicalized_resource,
    sas_time,
    service_sas_string_to_sign,
    shared_key_authorization,
    shared_key_string_to_sign,
)
from altegon_rt.files.names import attachment_disposition

ACCOUNT = "devstoreaccount1"
KEY = base64.b64decode("Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==")
PATH = "/devstoreaccount1/recordings/u/r/rec/abc"  # path-style (Azurite): the account is in the path too
DATE = "Sun, 11 Oct 2009 21:49:13 GMT"

PUT_BLOCK = (
    "PUT\n"
    "\n"  # Content-Encoding
    "\n"  # Content-Language
    "5\n"  # Content-Length
    "\n"  # Content-MD5
    "\n"  # Content-Type
    "\n"  # Date (x-ms-date is sent instead)
    "\n"  # If-Modified-Since
    "\n"  # If-Match
    "\n"  # If-None-Match
    "\n"  # If-Unmodified-Since
    "\n"  # Range
    "x-ms-date:Sun, 11 Oct 2009 21:49:13 GMT\n"
    "x-ms-version:2021-08-06\n"
    "/devstoreaccount1/devstoreaccount1/recordings/u/r/rec/abc\n"
    "blockid:YmxvY2stMDAwMDAw\n"
    "comp:block"
)
DELETE = (
    "DELETE\n"
    + "\n" * 11  # no standard header; Content-Length 0 signs as an empty line
    + "x-ms-date:Sun, 11 Oct 2009 21:49:13 GMT\n"
    + "x-ms-version:2021-08-06\n"
    + "/devstoreaccount1/devstoreaccount1/recordings/u/r/rec/abc"
)
DISPOSITION = "attachment; filename=\"a b.mp4\"; filename*=UTF-8''a%20b.mp4"
SAS = (
    "r\n"  # signedPermissions
    "2024-01-01T00:00:00Z\n"  # signedStart
    "2024-01-01T01:00:00Z\n"  # signedExpiry
    "/blob/devstoreaccount1/recordings/u/r/rec/abc\n"  # canonicalizedResource (the account once, even path-style)
    "\n"  # signedIdentifier
    "\n"  # signedIP
    "https,http\n"  # signedProtocol
    "2021-08-06\n"  # signedVersion
    "b\n"  # signedResource
    "\n"  # signedSnapshotTime
    "\n"  # signedEncryptionScope
    "\n"  # rscc
    f"{DISPOSITION}\n"  # rscd
    "\n"  # rsce
    "\n"  # rscl
    "application/octet-stream"  # rsct
)
START, EXPIRY = 1704067200, 1704070800  # 2024-01-01 00:00 and 01:00 UTC


def test_put_block_string_to_sign_and_signature() -> None:
    headers = {"x-ms-version": "2021-08-06", "X-MS-Date": DATE, "Content-Length": "5"}
    query = (("comp", "block"), ("blockid", "YmxvY2stMDAwMDAw"))
    assert shared_key_string_to_sign("PUT", headers, ACCOUNT, PATH, query) == PUT_BLOCK
    assert shared_key_authorization(ACCOUNT, KEY, "PUT", headers, PATH, query) == (
        "SharedKey devstoreaccount1:pRZQ0i7iW6GZHkGK7FzGSqpOV19bouUOytNiQBZ+tAQ="
    )


def test_zero_length_signs_as_empty_and_headers_are_sorted() -> None:
    headers = {"x-ms-version": "2021-08-06", "x-ms-date": DATE, "Content-Length": "0"}
    assert shared_key_string_to_sign("delete", headers, ACCOUNT, PATH) == DELETE
    assert shared_key_authorization(ACCOUNT, KEY, "DELETE", headers, PATH).endswith(
        ":qAm4kOL3nPGsOZZUjnfVYExrl2hkIbop/sCNfARaTyM="
    )
    commit = {"x-ms-version": "v", "x-ms-date": "d", "Content-Type": "application/xml", "Content-Length": "12",
              "x-ms-blob-content-type": "application/octet-stream", "Accept-Encoding": "identity"}  # fmt: skip
    lines = shared_key_string_to_sign("PUT", commit, "acct", "/c/b", (("comp", "blocklist"),)).split("\n")
    assert lines[3] == "12" and lines[5] == "application/xml"
    assert lines[12:] == ["x-ms-blob-content-type:application/octet-stream", "x-ms-date:d", "x-ms-version:v",
                          "/acct/c/b", "comp:blocklist"]  # fmt: skip


def test_canonicalized_resource_sorts_lowercases_and_joins_repeated_parameters() -> None:
    query = [("restype", "container"), ("Comp", "metadata"), ("include", "snapshots"), ("include", "metadata")]
    assert canonicalized_resource("myaccount", "/mycontainer", query) == (
        "/myaccount/mycontainer\ncomp:metadata\ninclude:metadata,snapshots\nrestype:container"
    )


def test_service_sas_string_to_sign_and_query() -> None:
    assert sas_time(START) == "2024-01-01T00:00:00Z" and sas_time(EXPIRY) == "2024-01-01T01:00:00Z"
    assert attachment_disposition("a b.mp4") == DISPOSITION
    text = service_sas_string_to_sign(
        account=ACCOUNT, container="recordings", blob="u/r/rec/abc", permissions="r", start=sas_time(START),
        expiry=sas_time(EXPIRY), protocol="https,http", content_disposition=DISPOSITION,
        content_type="application/octet-stream",
    )  # fmt: skip
    assert text == SAS
    query = blob_read_sas(
        account=ACCOUNT, key=KEY, container="recordings", blob="u/r/rec/abc", start=START, expiry=EXPIRY,
        protocol="https,http", content_disposition=DISPOSITION, content_type="application/octet-stream",
    )  # fmt: skip
    assert "%2C" in query and " " not in query and '"' not in query  # every reserved character encoded
    fields = {k: v[0] for k, v in parse_qs(query, strict_parsing=True).items()}
    assert fields == {
        "sp": "r", "st": "2024-01-01T00:00:00Z", "se": "2024-01-01T01:00:00Z", "spr": "https,http",
        "sv": "2021-08-06", "sr": "b", "rscd": DISPOSITION, "rsct": "application/octet-stream",
        "sig": "3J+am1iuZCo4RjZgbihp/LBVWxnv8WWqLkUCPD1Xcsk=",
    }  # fmt: skip


def test_block_ids_have_one_length_and_are_base64() -> None:
    ids = [block_id(i) for i in (0, 1, 9, 10, 49_999)]
    assert len({len(i) for i in ids}) == 1 and len(set(ids)) == len(ids)
    assert block_id(0) == "YmxvY2stMDAwMDAw" and base64.b64decode(block_id(49_999)) == b"block-049999"
