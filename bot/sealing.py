"""What people typed, kept only sealed: updates waiting in the inbox (bot.inbox) and the
drafts of flows under way (bot.drafts) may hold a phone number, a legal name or an ID
number. AES-GCM, under a key derived from ID_HASH_KEY for each purpose, so a body sealed
for one cannot be passed off as the other's."""

from __future__ import annotations

import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_NONCE = 12


class Sealer:
    """Sealed with the current ID_HASH_KEY, opened with any (a key just replaced still
    opens what it sealed)."""

    def __init__(self, key: bytes, previous: tuple[bytes, ...] = (),
                 purpose: str = "inbox") -> None:
        self._ciphers = [AESGCM(_derive(k, purpose)) for k in (key, *previous)]
        self._aad = f"daihuan {purpose}".encode()
        self._digest_key = hmac.new(key, f"daihuan: {purpose} digest key".encode(),
                                    hashlib.sha256).digest()

    def digest(self, plain: bytes) -> bytes:
        """Keyed, so the digest of a message gives no way to test guesses at its text."""
        return hmac.new(self._digest_key, plain, hashlib.sha256).digest()[:16]

    def seal(self, plain: bytes) -> bytes:
        nonce = os.urandom(_NONCE)
        return nonce + self._ciphers[0].encrypt(nonce, plain, self._aad)

    def open(self, sealed: bytes) -> bytes:
        for cipher in self._ciphers:
            try:
                return cipher.decrypt(sealed[:_NONCE], sealed[_NONCE:], self._aad)
            except InvalidTag:
                continue
        raise ValueError("sealed under a key this process was not given")


def _derive(key: bytes, purpose: str) -> bytes:
    return hmac.new(key, f"daihuan: {purpose} sealing key".encode(), hashlib.sha256).digest()
