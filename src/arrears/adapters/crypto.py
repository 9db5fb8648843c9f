"""Envelope encryption of personal data (the `cryptography` library; key configuration in services/data_keys.py).

- Each borrower has a data key of its own: 32 random bytes, AES-256-GCM. The store keeps it only wrapped
  (AES-256-GCM under a key-encryption key, KEK, the borrower id as associated data) with the KEK's id.
- Each personal field is stored as `pd1:` + base64(nonce ‖ ciphertext ‖ tag) under the borrower's data key,
  with "borrower id | field" as associated data: a value copied to another row or field does not decrypt.
- Look-up fields also get a keyed hash, HMAC-SHA256 under the look-up key of their normal form
  (domain/personal_data.lookup_text): equal values, equal hashes; nothing to read back.
- Erasure destroys the wrapped data key and the ciphertexts; rotation re-wraps data keys under a new KEK
  (or draws new data keys and re-encrypts).

A KMS is plugged in through ARREARS_DATA_KEY_PROVIDER=module:callable (services/data_keys.py).
"""

from __future__ import annotations

import base64
import hmac
import importlib
import os
from collections.abc import Iterable, Mapping
from typing import Any

import pyarrow as pa
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from arrears.domain.errors import InputError
from arrears.domain.personal_data import ENCRYPTED_FIELDS, LOOKUP_FIELDS, lookup_text
from arrears.services.data_keys import (
    DEV_FILE_ENV,
    KEY_ENV,
    KEY_FILE_ENV,
    LOOKUP_ENV,
    PROVIDER_ENV,
    DataKeys,
    KeyEncryptionProvider,
    data_keys,
    key_id,
)

PREFIX = "pd1:"
VALUE_PREFIX = "pdv1:"
NONCE = 12


class UnreadableData(InputError):
    """A ciphertext or wrapped key that the configured keys cannot open."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)


class FileKeyProvider:
    """KEKs from a key file or the environment (services/data_keys.py)."""

    def __init__(self, keys: DataKeys) -> None:
        self.keys = keys
        self._by_id = {key_id(k): AESGCM(k) for k in keys.keks}
        self._current = key_id(keys.current)

    @property
    def current_id(self) -> str:
        return self._current

    @property
    def development(self) -> bool:
        return self.keys.development

    @property
    def describe(self) -> str:
        return self.keys.source

    def known_ids(self) -> tuple[str, ...]:
        return tuple(self._by_id)

    def wrap(self, data_key: bytes, context: bytes) -> tuple[str, bytes]:
        nonce = os.urandom(NONCE)
        return self._current, nonce + self._by_id[self._current].encrypt(nonce, data_key, context)

    def unwrap(self, key_id: str, wrapped: bytes, context: bytes) -> bytes:
        kek = self._by_id.get(key_id)
        if kek is None:
            raise UnreadableData(
                f"a data key is wrapped by key {key_id}, which the configured keys do not hold "
                f"(keep a retired kek line until `arrears keys rotate` has finished)",
                field=KEY_FILE_ENV,
            )
        try:
            return kek.decrypt(wrapped[:NONCE], wrapped[NONCE:], context)
        except InvalidTag:
            raise UnreadableData(
                f"a data key does not unwrap under key {key_id}", field=KEY_FILE_ENV
            ) from None

    def lookup_key(self) -> bytes:
        return self.keys.lookup


def provider(environ: Mapping[str, str] | None = None) -> KeyEncryptionProvider:
    """The configured KEK provider: the key file (default) or a KMS-style one named module:callable."""
    env = os.environ if environ is None else environ
    name = env.get(PROVIDER_ENV, "").strip() or "file"
    if name == "file":
        return FileKeyProvider(data_keys(env))
    module, _, attr = name.partition(":")
    try:
        factory = getattr(importlib.import_module(module), attr or "provider")
    except (ImportError, AttributeError) as err:
        raise InputError(f"cannot load the key provider {name!r}: {err}", field=PROVIDER_ENV) from None
    found: KeyEncryptionProvider = factory()
    return found


class PersonalDataCipher:
    """Seal and open a borrower's personal fields; keyed hashes for the look-ups."""

    def __init__(self, keks: KeyEncryptionProvider) -> None:
        self.keks = keks
        self._lookup_key = keks.lookup_key()

    # look-ups ----------------------------------------------------------------------------------------

    def lookup(self, kind: str, value: str | None) -> str | None:
        """The keyed hash of a look-up field (hex), None for no value."""
        text = lookup_text(kind, value)
        if text is None:
            return None
        return hmac.digest(self._lookup_key, text.encode("utf-8"), "sha256").hex()

    # sealing ------------------------------------------------------------------------------------------

    def seal(self, borrower_id: str, values: Mapping[str, str | None]) -> dict[str, Any]:
        """The columns that store these fields: ciphertexts, look-up hashes, the wrapped data key."""
        data_key = AESGCM.generate_key(bit_length=256)
        kek_id, wrapped = self.keks.wrap(data_key, borrower_id.encode("utf-8"))
        out: dict[str, Any] = {"key_id": kek_id, "data_key": _b64(wrapped)}
        out.update(self._encrypt_all(AESGCM(data_key), borrower_id, values))
        return out

    def _encrypt_all(
        self, aead: AESGCM, borrower_id: str, values: Mapping[str, str | None]
    ) -> dict[str, Any]:
        out: dict[str, Any] = {}
        nonces = os.urandom(NONCE * len(ENCRYPTED_FIELDS))  # one read of the random source per borrower
        for i, name in enumerate(ENCRYPTED_FIELDS):
            value = values.get(name)
            nonce = nonces[i * NONCE : (i + 1) * NONCE]
            out[name] = None if value is None else self._encrypt(aead, nonce, borrower_id, name, value)
        for name in LOOKUP_FIELDS:
            out[f"{name}_hash"] = self.lookup(name, values.get(name))
        return out

    @staticmethod
    def _encrypt(aead: AESGCM, nonce: bytes, borrower_id: str, name: str, value: str) -> str:
        aad = f"{borrower_id}|{name}".encode()
        return PREFIX + _b64(nonce + aead.encrypt(nonce, value.encode("utf-8"), aad))

    def data_key(self, borrower_id: str, key_id: str, wrapped: str) -> bytes:
        return self.keks.unwrap(key_id, _unb64(wrapped), borrower_id.encode("utf-8"))

    def open(
        self, borrower_id: str, row: Mapping[str, Any], fields: Iterable[str] = ENCRYPTED_FIELDS
    ) -> dict[str, str | None]:
        """The plain fields of a stored row (those named). A row without a data key is either erased (its
        fields are NULL) or not yet encrypted (plain text from before `arrears keys encrypt-existing`)."""
        wrapped = row.get("data_key")
        if not wrapped:
            return {name: row.get(name) for name in fields}
        aead = AESGCM(self.data_key(borrower_id, str(row["key_id"]), str(wrapped)))
        out: dict[str, str | None] = {}
        for name in fields:
            value = row.get(name)
            out[name] = None if value is None else self._decrypt(aead, borrower_id, name, str(value))
        return out

    @staticmethod
    def _decrypt(aead: AESGCM, borrower_id: str, name: str, value: str) -> str:
        if not value.startswith(PREFIX):
            raise UnreadableData(f"borrower {borrower_id}: {name} is not a ciphertext", field=name)
        blob = _unb64(value[len(PREFIX) :])
        try:
            plain = aead.decrypt(blob[:NONCE], blob[NONCE:], f"{borrower_id}|{name}".encode())
        except InvalidTag:
            raise UnreadableData(f"borrower {borrower_id}: {name} does not decrypt", field=name) from None
        return plain.decode("utf-8")

    # values kept beside the borrower (the facts' values: work numbers, an attorney's contact) ----------

    def aead(self, borrower_id: str, key_id: str, wrapped: str) -> AESGCM:
        """The borrower's data key, ready to seal and open values with."""
        return AESGCM(self.data_key(borrower_id, key_id, wrapped))

    def value_tag(self, value: str) -> str:
        """What equal values share in their stored form: the keyed hash of the value."""
        return hmac.digest(self._lookup_key, f"value:{value}".encode(), "sha256").hex()

    def seal_value(self, aead: AESGCM, borrower_id: str, field: str, value: str) -> str:
        """`pdv1:<tag>:<ciphertext>` — equality by the tag, the value only with the borrower's data key."""
        sealed = self._encrypt(aead, os.urandom(NONCE), borrower_id, field, value)
        return f"{VALUE_PREFIX}{self.value_tag(value)}:{sealed}"

    def open_value(self, aead: AESGCM | None, borrower_id: str, field: str, stored: str) -> str:
        """A stored value: sealed ones opened (with the data key), plain ones (from before) as they are."""
        if not stored.startswith(VALUE_PREFIX):
            return stored
        if aead is None:
            raise UnreadableData(
                f"borrower {borrower_id}: {field} is sealed but the borrower has no data key"
            )
        return self._decrypt(aead, borrower_id, field, stored.split(":", 2)[2])

    def rewrap(self, borrower_id: str, key_id: str, wrapped: str) -> tuple[str, str]:
        """The same data key wrapped under the current KEK: (kek id, wrapped)."""
        context = borrower_id.encode("utf-8")
        data_key = self.keks.unwrap(key_id, _unb64(wrapped), context)
        new_id, new_wrapped = self.keks.wrap(data_key, context)
        return new_id, _b64(new_wrapped)

    def seal_table(self, borrowers: pa.Table) -> pa.Table:
        """An import's borrowers table (id, name, phone, id_number, email, …) with its personal columns
        sealed: ciphertexts, look-up hashes, key_id, data_key."""
        columns = {
            name: borrowers[name].to_pylist() for name in ENCRYPTED_FIELDS if name in borrowers.column_names
        }
        ids = borrowers["id"].to_pylist()
        sealed = [
            self.seal(str(bid), {name: values[i] for name, values in columns.items()})
            for i, bid in enumerate(ids)
        ]
        keep = [name for name in borrowers.column_names if name not in ENCRYPTED_FIELDS]
        out = borrowers.select(keep)
        for name in ("key_id", "data_key", *ENCRYPTED_FIELDS, *(f"{f}_hash" for f in LOOKUP_FIELDS)):
            out = out.append_column(name, pa.array([row[name] for row in sealed], pa.string()))
        return out


_cache: dict[tuple[str, ...], PersonalDataCipher] = {}


def _cache_key(env: Mapping[str, str]) -> tuple[str, ...]:
    names = (KEY_ENV, KEY_FILE_ENV, LOOKUP_ENV, PROVIDER_ENV, DEV_FILE_ENV, "HOME", "XDG_DATA_HOME")
    values = [env.get(name, "") for name in names]
    path = env.get(KEY_FILE_ENV, "").strip()
    if path:
        try:
            stat = os.stat(path)
            values.append(f"{stat.st_mtime_ns}:{stat.st_size}")
        except OSError:
            values.append("missing")
    return tuple(values)


def cipher(environ: Mapping[str, str] | None = None) -> PersonalDataCipher:
    """The cipher of the configured keys (made once per configuration)."""
    env = os.environ if environ is None else environ
    key = _cache_key(env)
    found = _cache.get(key)
    if found is None:
        found = PersonalDataCipher(provider(env))
        _cache.clear()
        _cache[key] = found
    return found


def known_key_ids(environ: Mapping[str, str] | None = None) -> Iterable[str]:
    return cipher(environ).keks.known_ids()
