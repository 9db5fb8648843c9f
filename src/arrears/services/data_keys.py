"""The personal-data keys, configured like the audit key: ARREARS_DATA_KEY, or a key file.

Envelope encryption (adapters/crypto.py): every borrower's personal data is sealed under a data key of
its own (AES-256-GCM); the data key is stored wrapped by a key-encryption key (KEK) the database never
holds. Look-ups by equality use keyed hashes (HMAC-SHA256) under a separate look-up key.

- `ARREARS_DATA_KEY_FILE`: a file written by `arrears keys generate`, one key a line:
      lookup <64 hex digits>     the look-up key (kept across KEK rotations)
      kek <64 hex digits>        the current KEK (the first kek line)
      kek <64 hex digits>        retired KEKs: they still unwrap data keys until `arrears keys rotate` is done
  blank lines and `#` comments ignored.
- `ARREARS_DATA_KEY` (64 hex digits): the current KEK (wins over the file's first; the file's KEKs are then
  retired ones), with `ARREARS_LOOKUP_KEY` (64 hex digits) when no file gives the look-up key.
- `ARREARS_DATA_KEY_PROVIDER`: `file` (the default, the above) or `module:callable`, a KMS-style provider
  (services/data_keys.KeyEncryptionProvider) the callable returns.
- Nothing configured: a throwaway development key file, generated once for this user at
  `~/.local/share/arrears/dev-data-keys` (or ARREARS_DEV_DATA_KEY_FILE). Anyone who can read that file can
  read the data: `arrears serve` and `arrears dispatch` refuse it unless --dev (services/production.py).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from arrears.domain.errors import InputError

KEY_ENV = "ARREARS_DATA_KEY"
KEY_FILE_ENV = "ARREARS_DATA_KEY_FILE"
LOOKUP_ENV = "ARREARS_LOOKUP_KEY"
PROVIDER_ENV = "ARREARS_DATA_KEY_PROVIDER"
DEV_FILE_ENV = "ARREARS_DEV_DATA_KEY_FILE"
KEY_BYTES = 32


class KeyEncryptionProvider(Protocol):
    """What wraps and unwraps the borrowers' data keys: a key file here, a KMS elsewhere.

    `wrap` returns the id of the KEK it used with the wrapped key; `unwrap` must accept every id it ever
    returned until a rotation has re-wrapped what used it. `context` is bound to the wrapped key (the
    borrower id): a wrapped key moved to another borrower does not unwrap."""

    @property
    def current_id(self) -> str: ...

    @property
    def development(self) -> bool: ...

    @property
    def describe(self) -> str: ...

    def known_ids(self) -> tuple[str, ...]: ...

    def wrap(self, data_key: bytes, context: bytes) -> tuple[str, bytes]: ...

    def unwrap(self, key_id: str, wrapped: bytes, context: bytes) -> bytes: ...

    def lookup_key(self) -> bytes: ...


@dataclass(frozen=True, slots=True)
class DataKeys:
    """Key material from the file provider: the current KEK first, then the retired ones."""

    keks: tuple[bytes, ...]
    lookup: bytes
    source: str
    development: bool = False

    @property
    def current(self) -> bytes:
        return self.keks[0]


def key_id(kek: bytes) -> str:
    """A KEK's public id (16 hex digits): what the store records beside a wrapped data key."""
    return hashlib.sha256(b"arrears-kek\x00" + kek).hexdigest()[:16]


def _hex_key(text: str, where: str, field: str) -> bytes:
    try:
        key = bytes.fromhex(text.strip())
    except ValueError:
        key = b""
    if len(key) != KEY_BYTES:
        raise InputError(
            f"a key must be {KEY_BYTES * 2} hex digits (`arrears keys generate` makes them)",
            file=where,
            field=field,
        )
    return key


def parse_key_file(text: str, where: str) -> tuple[list[bytes], bytes | None]:
    """The KEKs (current first) and the look-up key of a key file."""
    keks: list[bytes] = []
    lookup: bytes | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        kind, _, value = line.partition(" ")
        if kind == "kek":
            keks.append(_hex_key(value, f"{where}:{number}", "kek"))
        elif kind == "lookup":
            if lookup is not None:
                raise InputError("a key file holds one look-up key", file=f"{where}:{number}", field="lookup")
            lookup = _hex_key(value, f"{where}:{number}", "lookup")
        else:
            raise InputError(f"unknown line {kind!r} (kek or lookup)", file=f"{where}:{number}")
    return keks, lookup


def key_file_text(keks: list[bytes], lookup: bytes) -> str:
    lines = [
        "# arrears personal-data keys. Keep this file outside the database and its backups.",
        "# The first kek is current; later ones are retired (they still read until `arrears keys rotate`).",
        f"lookup {lookup.hex()}",
    ]
    lines += [f"kek {kek.hex()}" for kek in keks]
    return "\n".join(lines) + "\n"


def new_key() -> bytes:
    return secrets.token_bytes(KEY_BYTES)


def write_key_file(path: Path, keks: list[bytes], lookup: bytes, *, replace: bool = False) -> None:
    """Write a key file readable by its owner only, whole or not at all: a new file (FileExistsError if
    there is one), or in place of the old one with `replace`."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(key_file_text(keks, lookup))
            out.flush()
            os.fsync(out.fileno())
        if replace:
            os.replace(tmp, path)
        else:
            os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _read(path: str, field: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"cannot read the data key file: {err}", file=path, field=field) from None


def dev_key_path(environ: Mapping[str, str]) -> Path:
    configured = environ.get(DEV_FILE_ENV, "").strip()
    if configured:
        return Path(configured)
    base = environ.get("XDG_DATA_HOME", "").strip() or str(Path.home() / ".local" / "share")
    return Path(base) / "arrears" / "dev-data-keys"


def _dev_keys(environ: Mapping[str, str]) -> DataKeys:
    """The throwaway development keys of this user, generated at the first use."""
    path = dev_key_path(environ)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):  # another process made it first: use theirs
            write_key_file(path, [new_key()], new_key())
    keks, lookup = parse_key_file(_read(str(path), DEV_FILE_ENV), str(path))
    if not keks or lookup is None:
        raise InputError("the development key file lacks a kek or lookup line", file=str(path))
    return DataKeys(tuple(keks), lookup, str(path), development=True)


def data_keys(environ: Mapping[str, str] | None = None) -> DataKeys:
    """The configured keys (the development keys when none are configured)."""
    env = os.environ if environ is None else environ
    path = env.get(KEY_FILE_ENV, "").strip()
    value = env.get(KEY_ENV, "").strip()
    if not path and not value:
        return _dev_keys(env)
    keks: list[bytes] = []
    lookup: bytes | None = None
    source = []
    if path:
        keks, lookup = parse_key_file(_read(path, KEY_FILE_ENV), path)
        source.append(path)
        if not keks:
            raise InputError("the data key file holds no kek line", file=path, field=KEY_FILE_ENV)
    if value:
        keks = [_hex_key(value, KEY_ENV, KEY_ENV), *[k for k in keks if k != bytes.fromhex(value)]]
        source.insert(0, KEY_ENV)
    lookup_value = env.get(LOOKUP_ENV, "").strip()
    if lookup_value:
        lookup = _hex_key(lookup_value, LOOKUP_ENV, LOOKUP_ENV)
    if lookup is None:
        raise InputError(
            f"no look-up key: a `lookup` line in {KEY_FILE_ENV}, or {LOOKUP_ENV}", field=LOOKUP_ENV
        )
    return DataKeys(tuple(dict.fromkeys(keks)), lookup, " + ".join(source))
