"""The transcript cipher: its own format, CryptoJS's passphrase format, legacy GCM, garbage."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os

import pytest
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import given
from hypothesis import strategies as st

from altegon_rt.crypto.transcript_cipher import DecryptError, TranscriptCipher, evp_bytes_to_key

SECRET = "transcript secret of enough length!!"


def pbkdf2_cbc(text: str, secret: str) -> str:
    """The documented format written independently: base64(salt64 + iv16 + AES-256-CBC), PBKDF2-SHA256."""
    salt, iv = os.urandom(64), os.urandom(16)
    key = hashlib.pbkdf2_hmac("sha256", secret.encode(), salt, 10_000, 32)
    padder = padding.PKCS7(128).padder()
    body = padder.update(text.encode()) + padder.finalize()
    enc = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return base64.b64encode(salt + iv + enc.update(body) + enc.finalize()).decode()


def legacy_gcm(text: str, secret: str) -> str:
    salt, iv = os.urandom(64), os.urandom(12)
    key = hashlib.pbkdf2_hmac("sha256", secret.encode(), salt, 10_000, 32)
    sealed = AESGCM(key).encrypt(iv, text.encode(), None)  # ciphertext + tag
    return base64.b64encode(salt + iv + sealed[-16:] + sealed[:-16]).decode()


def test_roundtrip_and_fresh_iv() -> None:
    cipher = TranscriptCipher(SECRET)
    first, second = cipher.encrypt("hello"), cipher.encrypt("hello")
    assert first != second and cipher.decrypt(first) == cipher.decrypt(second) == "hello"
    raw = base64.b64decode(first)
    assert len(raw) == 64 + 16 + 16


def test_reads_independently_written_formats() -> None:
    cipher = TranscriptCipher(SECRET)
    assert cipher.decrypt(pbkdf2_cbc("cbc line", SECRET)) == "cbc line"
    assert cipher.decrypt(legacy_gcm("old gcm line", SECRET)) == "old gcm line"
    assert evp_bytes_to_key(b"pw", b"12345678", 48)[:16] == hashlib.md5(b"pw12345678", usedforsecurity=False).digest()


def test_wrong_secret_does_not_open() -> None:
    token = TranscriptCipher(SECRET).encrypt("private words")
    other = TranscriptCipher("another secret that is long enough!")
    with pytest.raises(DecryptError):
        other.decrypt(token)
    assert not other.is_ours(token) and TranscriptCipher(SECRET).is_ours(token)


def test_one_key_derivation_per_meeting_salt() -> None:
    cipher = TranscriptCipher(SECRET)
    salt = cipher.salt_for("meeting-1")
    assert salt == cipher.salt_for("meeting-1") != cipher.salt_for("meeting-2") and len(salt) == 64
    tokens = [cipher.encrypt(f"line {i}", salt) for i in range(50)]
    fresh = TranscriptCipher(SECRET)
    assert [fresh.decrypt(t) for t in tokens] == [f"line {i}" for i in range(50)]
    assert len(fresh._keys) == 1


def test_objects() -> None:
    cipher = TranscriptCipher(SECRET)
    obj = {"message": "m", "userName": "u", "n": 1}
    sealed = cipher.encrypt_object(obj, ["message", "n"])
    assert sealed["message"] != "m" and sealed["n"] == 1 and obj["message"] == "m"
    assert cipher.decrypt_object(sealed, ["message"]) == obj
    assert cipher.decrypt_object({"message": "plain legacy"}, ["message"]) == {"message": "plain legacy"}


@given(st.text(max_size=200) | st.binary(max_size=200).map(lambda b: base64.b64encode(b).decode()))
def test_garbage_only_raises_decrypt_error(garbage: str) -> None:
    with contextlib.suppress(DecryptError):
        TranscriptCipher(SECRET).decrypt(garbage)


@given(st.binary(min_size=0, max_size=120), st.integers(min_value=0, max_value=200))
def test_mutated_ciphertexts_only_raise_decrypt_error(noise: bytes, at: int) -> None:
    cipher = TranscriptCipher(SECRET)
    raw = base64.b64decode(cipher.encrypt("a line of text", cipher.salt_for("m")))
    mutated = base64.b64encode(raw[:at] + noise + raw[at + len(noise) :]).decode()
    with contextlib.suppress(DecryptError):
        assert isinstance(cipher.decrypt(mutated), str)
