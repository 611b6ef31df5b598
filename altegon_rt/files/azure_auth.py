"""Azure Storage signatures, sans-IO: Shared Key for our REST calls, and service SAS for read-only links.

Formats from Microsoft's "Authorize with Shared Key" (Blob service, versions 2009-09-19 and later; the
Content-Length line is empty for a zero length from 2015-02-21) and "Create a service SAS" (the string-to-sign
of versions 2020-12-06 and later). Both sign UTF-8 text with HMAC-SHA256 under the base64-decoded account key.
Nothing here reads the clock or touches the network: times come in as arguments, text goes out.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from urllib.parse import quote, urlencode

# x-ms-version of our REST calls and sv of the SAS links we sign; both formats below belong to it.
API_VERSION = "2021-08-06"

# The standard headers of the Shared Key string-to-sign, in its order; a header not sent is an empty line.
_STANDARD_HEADERS = (
    "content-encoding", "content-language", "content-length", "content-md5", "content-type", "date",
    "if-modified-since", "if-match", "if-none-match", "if-unmodified-since", "range",
)  # fmt: skip


def sign(key: bytes, text: str) -> str:
    """Base64 of HMAC-SHA256(key, UTF-8 text): the signature of both schemes."""
    return base64.b64encode(hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()).decode("ascii")


def canonicalized_headers(headers: Mapping[str, str]) -> str:
    """Every ``x-ms-`` header as ``name:value\\n``, names lower-cased and sorted, values trimmed."""
    pairs = sorted((name.lower().strip(), value.strip()) for name, value in headers.items())
    return "".join(f"{name}:{value}\n" for name, value in pairs if name.startswith("x-ms-"))


def canonicalized_resource(account: str, path: str, query: Iterable[tuple[str, str]] = ()) -> str:
    """``/<account><path>`` and one ``\\nname:value[,value]`` line per query parameter, sorted by name.

    ``path`` is the request path exactly as sent (percent-encoded; with a path-style endpoint such as Azurite's
    ``http://host:port/<account>`` it starts with the account again, as Microsoft documents for the emulator).
    Query names are lower-cased; values are the decoded ones, and repeated names join their sorted values.
    """
    grouped: dict[str, list[str]] = {}
    for name, value in query:
        grouped.setdefault(name.lower(), []).append(value)
    lines = "".join(f"\n{name}:{','.join(sorted(values))}" for name, values in sorted(grouped.items()))
    return f"/{account}{path}{lines}"


def shared_key_string_to_sign(
    method: str, headers: Mapping[str, str], account: str, path: str, query: Iterable[tuple[str, str]] = ()
) -> str:
    """The Shared Key string-to-sign of one request (``headers``: every header that will be sent)."""
    lower = {name.lower(): value.strip() for name, value in headers.items()}
    standard = [lower.get(name, "") for name in _STANDARD_HEADERS]
    if standard[2] == "0":  # Content-Length: since 2015-02-21 a zero length signs as an empty line
        standard[2] = ""
    resource = canonicalized_resource(account, path, query)
    return "\n".join([method.upper(), *standard]) + "\n" + canonicalized_headers(headers) + resource


def shared_key_authorization(
    account: str, key: bytes, method: str, headers: Mapping[str, str], path: str, query: Iterable[tuple[str, str]] = ()
) -> str:
    """The ``Authorization`` header value: ``SharedKey <account>:<signature>``."""
    return f"SharedKey {account}:{sign(key, shared_key_string_to_sign(method, headers, account, path, query))}"


def sas_time(epoch_s: int) -> str:
    """A SAS time: ISO 8601 in UTC to the second (``2021-08-06T12:00:00Z``)."""
    return dt.datetime.fromtimestamp(epoch_s, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def service_sas_string_to_sign(
    *,
    account: str,
    container: str,
    blob: str,
    permissions: str,
    start: str,
    expiry: str,
    protocol: str,
    version: str = API_VERSION,
    resource: str = "b",
    content_disposition: str = "",
    content_type: str = "",
) -> str:
    """The service SAS string-to-sign (versions 2020-12-06 and later) of one blob, field by field.

    Fields we never set are empty lines, in the documented order: signedIdentifier, signedIP (after the
    canonicalized resource), signedSnapshotTime and signedEncryptionScope (after signedResource), and the
    cache-control, content-encoding and content-language overrides around content-disposition. The blob name
    is signed as it is, not percent-encoded.
    """
    return "\n".join([
        permissions, start, expiry, f"/blob/{account}/{container}/{blob}",
        "",  # signedIdentifier (no stored access policy)
        "",  # signedIP
        protocol, version, resource,
        "",  # signedSnapshotTime
        "",  # signedEncryptionScope
        "",  # rscc
        content_disposition,
        "",  # rsce
        "",  # rscl
        content_type,
    ])  # fmt: skip


def blob_read_sas(
    *,
    account: str,
    key: bytes,
    container: str,
    blob: str,
    start: int,
    expiry: int,
    protocol: str,
    content_disposition: str = "",
    content_type: str = "",
) -> str:
    """The query string of a read-only service SAS for one blob, valid from ``start`` to ``expiry`` (epoch s).

    ``content_disposition`` and ``content_type`` become the ``rscd``/``rsct`` overrides: Azure answers the
    download with those headers, so a browser saves the file under its name instead of rendering it.
    """
    fields = {"sp": "r", "st": sas_time(start), "se": sas_time(expiry), "spr": protocol, "sv": API_VERSION, "sr": "b"}
    signature = sign(
        key,
        service_sas_string_to_sign(
            account=account, container=container, blob=blob, permissions=fields["sp"], start=fields["st"],
            expiry=fields["se"], protocol=protocol, content_disposition=content_disposition, content_type=content_type,
        ),
    )  # fmt: skip
    if content_disposition:
        fields["rscd"] = content_disposition
    if content_type:
        fields["rsct"] = content_type
    return urlencode({**fields, "sig": signature}, quote_via=quote)
