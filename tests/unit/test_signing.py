"""Signed blob URLs: round trip, expiry, permission, and forged or malformed tokens."""

from __future__ import annotations

import pytest

from altegon_rt.files.signing import BadSignature, UrlSigner

SIGNER = UrlSigner("s" * 40)


def test_round_trip_expiry_and_permission() -> None:
    token = SIGNER.sign("u/r/rec/a%20b.mp4", 1000)
    grant = SIGNER.verify(token, now=999)
    assert (grant.path, grant.expires, grant.permissions) == ("u/r/rec/a%20b.mp4", 1000, "r")
    with pytest.raises(BadSignature, match="expired"):
        SIGNER.verify(token, now=1000)
    with pytest.raises(BadSignature, match="permission"):
        SIGNER.verify(SIGNER.sign("p", 1000, "w"), now=1)


@pytest.mark.parametrize("token", ["", ".", "abc", "abc.", ".abc", "é.é", "a.b.c", "eyJ9.xx"])
def test_malformed_tokens(token: str) -> None:
    with pytest.raises(BadSignature):
        SIGNER.verify(token, now=1)


def test_other_key_or_changed_payload_is_refused() -> None:
    token = SIGNER.sign("u/r/rec/f", 1000)
    with pytest.raises(BadSignature):
        UrlSigner("t" * 40).verify(token, now=1)
    mac = token.split(".")[1]
    forged = SIGNER.sign("u/r/rec/g", 1000).split(".")[0]
    with pytest.raises(BadSignature):
        SIGNER.verify(f"{forged}.{mac}", now=1)
