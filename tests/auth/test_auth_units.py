"""Passwords, tokens, API keys and the rate limiter, without a server."""

from __future__ import annotations

import time

import jwt
import pytest
from hypothesis import given
from hypothesis import strategies as st

from altegon_rt.auth import api_keys, passwords
from altegon_rt.auth.ratelimit import RateLimiter, retry_after
from altegon_rt.auth.tokens import InvalidToken, TokenIssuer

SECRET = "s" * 40


def test_scrypt_hash_roundtrip_and_format() -> None:
    stored = passwords.hash_password("pässwörd 1", 2**14)
    scheme, n, r, p, salt, digest = stored.split("$")
    assert (scheme, n, r, p) == ("scrypt", "16384", "8", "1")
    assert len(salt) >= 22 and len(digest) >= 43  # 16-byte salt, 32-byte key, base64
    assert passwords.verify_password("pässwörd 1", stored)
    assert not passwords.verify_password("pässwörd 2", stored)
    assert passwords.hash_password("pässwörd 1", 2**14) != stored  # a fresh salt each time


@given(st.text(max_size=80))
def test_verify_never_raises_on_garbage_hashes(garbage: str) -> None:
    assert passwords.verify_password("x", garbage) is False


def test_tokens_roundtrip_expire_and_reject_forgeries() -> None:
    issuer = TokenIssuer(SECRET, 60)
    claims = issuer.verify(issuer.issue("u1", "admin"))
    assert (claims.user_id, claims.role) == ("u1", "admin")
    assert claims.expires_at - claims.issued_at == 60
    with pytest.raises(InvalidToken, match="expired"):
        issuer.verify(issuer.issue("u1", "user", now=time.time() - 120))
    with pytest.raises(InvalidToken, match="invalid"):
        TokenIssuer("t" * 40, 60).verify(issuer.issue("u1", "user"))
    payload = {"sub": "u1", "role": "root", "iat": int(time.time()), "exp": int(time.time()) + 60, "iss": "altegon-rt"}
    with pytest.raises(InvalidToken):
        issuer.verify(jwt.encode(payload, SECRET, "HS256"))  # unknown role
    with pytest.raises(InvalidToken):
        issuer.verify(jwt.encode({**payload, "role": "user", "iss": "other"}, SECRET, "HS256"))
    with pytest.raises(InvalidToken):
        issuer.verify(jwt.encode({k: v for k, v in payload.items() if k != "exp"} | {"role": "user"}, SECRET, "HS256"))


def test_verified_token_cache_still_checks_expiry() -> None:
    issuer = TokenIssuer(SECRET, 2)
    near_expiry = issuer.issue("u1", "user")  # iat is whole seconds: it expires 1 to 2 s from now
    assert issuer.verify(near_expiry).user_id == "u1"  # verified and cached
    time.sleep(2.05)
    with pytest.raises(InvalidToken, match="expired"):
        issuer.verify(near_expiry)
    small = TokenIssuer(SECRET, 60, cache_size=2)
    for user in ("a", "b", "c"):
        assert small.verify(small.issue(user, "user")).user_id == user
    assert len(small._verified) == 2


@given(st.text(max_size=300))
def test_token_verify_only_raises_invalid_token(garbage: str) -> None:
    with pytest.raises(InvalidToken):
        TokenIssuer(SECRET, 60).verify(garbage)


def test_api_keys() -> None:
    key = api_keys.make_key()
    assert api_keys.parse_prefix(key.plain) == key.prefix
    assert api_keys.matches(key.plain, key.digest) and not api_keys.matches(key.plain + "x", key.digest)
    assert key.plain not in key.digest
    for bad in ("", "ak_", "ak_short_x", "xx_" + key.prefix + "_y", "ak_" + key.prefix):
        assert api_keys.parse_prefix(bad) is None


def test_rate_limiter_bucket() -> None:
    limiter = RateLimiter(per_minute=3)
    assert [limiter.hit("k", 0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = limiter.hit("k", 0.0)
    assert wait == pytest.approx(20.0) and retry_after(wait) == 20
    assert limiter.hit("other", 0.0) == 0.0  # keys are independent
    assert limiter.hit("k", 20.0) == 0.0  # one token back after 20 s
    assert limiter.hit("k", 20.0) > 0


def test_rate_limiter_memory_is_bounded() -> None:
    limiter = RateLimiter(per_minute=10, max_keys=100)
    for i in range(1000):
        limiter.hit(f"ip-{i}", 0.0)
    assert len(limiter) <= 100
    # Buckets that have refilled are forgotten as new keys arrive.
    refilled = RateLimiter(per_minute=60)
    for i in range(50):
        refilled.hit(f"a-{i}", float(i) * 0.001)
    for i in range(50):
        refilled.hit(f"b-{i}", 1000.0)
    assert len(refilled) < 100
