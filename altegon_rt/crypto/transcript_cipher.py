"""The transcript cipher formats, all readable, one written.

Written (the documented format): ``base64(salt[64] + iv[16] + AES-256-CBC(PKCS#7))``, key =
PBKDF2-HMAC-SHA256(secret, salt, 10,000 iterations, 32 bytes). The document does not name PBKDF2's hash;
SHA-256 is CryptoJS 4.2's default, so a browser using ``CryptoJS.PBKDF2(secret, salt, {keySize: 8,
iterations: 10000, hasher: SHA256})`` writes the same thing.

Read as well:
- CryptoJS's passphrase format, ``CryptoJS.AES.encrypt(text, secret).toString()``: base64 of ``"Salted__" +
  salt[8] + AES-256-CBC``, key and IV from OpenSSL's EVP_BytesToKey with MD5.
- Legacy AES-256-GCM: ``base64(salt[64] + iv[12] + tag[16] + ciphertext)`` with the same PBKDF2 key.

Derived keys are cached by salt. The server encrypts every line of one meeting under one salt (derived from
the secret and the meeting id) with a fresh IV each, so reading a 5,000-line transcript costs one PBKDF2,
not 5,000; lines that clients encrypted with salts of their own cost one each.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import os
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

SALT_BYTES = 64
IV_BYTES = 16
GCM_IV_BYTES = 12
TAG_BYTES = 16
KEY_BYTES = 32
ITERATIONS = 10_000
OPENSSL_MAGIC = b"Salted__"
MAX_TOKEN_CHARS = 4 * 1024 * 1024


class DecryptError(Exception):
    """Not a ciphertext of ours under this secret (or damaged)."""


def _cbc_decrypt(key: bytes, iv: bytes, data: bytes) -> bytes:
    if not data or len(data) % 16:
        raise DecryptError("ciphertext is not a whole number of blocks")
    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    padded = decryptor.update(data) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    try:
        return unpadder.update(padded) + unpadder.finalize()
    except ValueError:
        raise DecryptError("bad padding") from None


def _cbc_encrypt(key: bytes, iv: bytes, plain: bytes) -> bytes:
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plain) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return encryptor.update(padded) + encryptor.finalize()


def evp_bytes_to_key(secret: bytes, salt: bytes, length: int = KEY_BYTES + IV_BYTES) -> bytes:
    """OpenSSL's EVP_BytesToKey with MD5 and one round: what CryptoJS uses for passphrases."""
    out, block = b"", b""
    while len(out) < length:
        block = hashlib.md5(block + secret + salt, usedforsecurity=False).digest()
        out += block
    return out[:length]


def _text(plain: bytes) -> str:
    try:
        return plain.decode("utf-8")
    except UnicodeDecodeError:
        raise DecryptError("plaintext is not UTF-8") from None


class TranscriptCipher:
    """Encrypts and decrypts transcript lines and summaries under one secret."""

    def __init__(self, secret: str, cache_size: int = 4096) -> None:
        if not secret:
            raise ValueError("an encryption secret is required")
        self._secret = secret.encode("utf-8")
        self._keys: OrderedDict[bytes, bytes] = OrderedDict()
        self._cache_size = cache_size

    def key(self, salt: bytes) -> bytes:
        found = self._keys.get(salt)
        if found is None:
            found = hashlib.pbkdf2_hmac("sha256", self._secret, salt, ITERATIONS, KEY_BYTES)
            self._keys[salt] = found
            if len(self._keys) > self._cache_size:
                self._keys.popitem(last=False)
        return found

    def salt_for(self, scope: str) -> bytes:
        """A stable 64-byte salt for one scope (a meeting), unguessable without the secret."""
        return hmac.new(self._secret, b"altegon-rt salt:" + scope.encode(), hashlib.sha512).digest()

    def encrypt(self, text: str, salt: bytes | None = None) -> str:
        salt = salt if salt is not None else os.urandom(SALT_BYTES)
        assert len(salt) == SALT_BYTES
        iv = os.urandom(IV_BYTES)
        body = _cbc_encrypt(self.key(salt), iv, text.encode("utf-8"))
        return base64.b64encode(salt + iv + body).decode("ascii")

    def decrypt(self, token: str) -> str:
        if not isinstance(token, str) or len(token) > MAX_TOKEN_CHARS:
            raise DecryptError("not a ciphertext")
        try:
            raw = base64.b64decode(token.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise DecryptError("not base64") from None
        if raw.startswith(OPENSSL_MAGIC) and len(raw) >= 32:
            material = evp_bytes_to_key(self._secret, raw[8:16])
            return _text(_cbc_decrypt(material[:KEY_BYTES], material[KEY_BYTES:], raw[16:]))
        if len(raw) < SALT_BYTES + GCM_IV_BYTES + TAG_BYTES:
            raise DecryptError("too short")
        key = self.key(raw[:SALT_BYTES])
        # GCM first: its tag makes the answer certain, and it shares the key derivation with CBC.
        rest = raw[SALT_BYTES:]
        tag_end = GCM_IV_BYTES + TAG_BYTES
        iv, tag, body = rest[:GCM_IV_BYTES], rest[GCM_IV_BYTES:tag_end], rest[tag_end:]
        try:
            return _text(AESGCM(key).decrypt(iv, body + tag, None))
        except InvalidTag:
            pass
        return _text(_cbc_decrypt(key, rest[:IV_BYTES], rest[IV_BYTES:]))

    def is_ours(self, text: str) -> bool:
        """True when ``text`` is already a ciphertext this secret opens (a client encrypted it)."""
        try:
            self.decrypt(text)
        except DecryptError:
            return False
        return True

    def encrypt_object(self, obj: dict[str, Any], fields: Iterable[str], salt: bytes | None = None) -> dict[str, Any]:
        """A copy of ``obj`` with the string ``fields`` encrypted (``encryptObject``)."""
        out = dict(obj)
        for name in fields:
            if isinstance(out.get(name), str):
                out[name] = self.encrypt(out[name], salt)
        return out

    def decrypt_object(self, obj: dict[str, Any], fields: Iterable[str]) -> dict[str, Any]:
        """A copy of ``obj`` with ``fields`` decrypted; a field that does not decrypt is left as it is."""
        out = dict(obj)
        for name in fields:
            value = out.get(name)
            if isinstance(value, str):
                with contextlib.suppress(DecryptError):
                    out[name] = self.decrypt(value)
        return out


def seal_line(cipher: TranscriptCipher, meeting_id: str, message: str, max_length: int) -> tuple[str, bool]:
    """A transcript line as stored, and whether the client had encrypted it already (then it is kept as is).

    Raises ``ValueError`` for a plaintext line longer than ``max_length`` characters.
    """
    if cipher.is_ours(message):
        return message, True
    if len(message) > max_length:
        raise ValueError("too long")
    return cipher.encrypt(message, cipher.salt_for(meeting_id)), False
