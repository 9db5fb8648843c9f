"""A KMS-style key provider for the tests: the KEK stays inside this object, as it would inside a KMS."""

from __future__ import annotations

import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM


class FakeKms:
    development = False
    describe = "fake KMS (tests)"

    def __init__(self) -> None:
        self._kek = AESGCM(AESGCM.generate_key(bit_length=256))
        self._lookup = os.urandom(32)
        self.calls = {"wrap": 0, "unwrap": 0}

    @property
    def current_id(self) -> str:
        return "kms-key-1"

    def known_ids(self) -> tuple[str, ...]:
        return ("kms-key-1",)

    def wrap(self, data_key: bytes, context: bytes) -> tuple[str, bytes]:
        self.calls["wrap"] += 1
        nonce = os.urandom(12)
        return "kms-key-1", nonce + self._kek.encrypt(nonce, data_key, context)

    def unwrap(self, key_id: str, wrapped: bytes, context: bytes) -> bytes:
        self.calls["unwrap"] += 1
        return self._kek.decrypt(wrapped[:12], wrapped[12:], context)

    def lookup_key(self) -> bytes:
        return self._lookup


KMS = FakeKms()


def provider() -> FakeKms:
    return KMS
