"""The audit chain's keys, configured like the other secrets: ARREARS_AUDIT_KEY, or a key file.

- `ARREARS_AUDIT_KEY`: the key new audit rows and checkpoints are signed with (at least 32 characters;
  `arrears audit keygen` prints a fresh one).
- `ARREARS_AUDIT_KEY_FILE`: a file of keys, one a line (blank lines and `#` comments ignored). The first is
  the current key (unless ARREARS_AUDIT_KEY is set, which wins, as the environment wins for the other
  secrets); the lines after it are retired keys, kept so that rows and checkpoints written under them
  still verify after a rotation.
- Neither: the development key (domain/audit.py's DEV_KEY), which anyone can recompute. `arrears serve` and
  `arrears dispatch` refuse to start with it (or with a placeholder or short key) unless --dev
  (entrypoints/startup_checks.py).

The key never goes to the database: the store holds only key ids (16 hex digits derived from a key).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path

from arrears.domain.audit import DEV_KEY, AuditKey, Keyring
from arrears.domain.errors import InputError

KEY_ENV = "ARREARS_AUDIT_KEY"
KEY_FILE_ENV = "ARREARS_AUDIT_KEY_FILE"
MIN_KEY_CHARS = 32

_file_cache: dict[tuple[str, int, int], list[AuditKey]] = {}


def _file_keys(path: str) -> list[AuditKey]:
    try:
        stat = os.stat(path)
        cache_key = (path, stat.st_mtime_ns, stat.st_size)
        cached = _file_cache.get(cache_key)
        if cached is not None:
            return cached
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"cannot read the audit key file: {err}", file=path, field=KEY_FILE_ENV) from None
    keys = [
        AuditKey(line.strip().encode("utf-8"), f"{path} line {n}")
        for n, line in enumerate(text.splitlines(), start=1)
        if line.strip() and not line.strip().startswith("#")
    ]
    if not keys:
        raise InputError("the audit key file holds no key", file=path, field=KEY_FILE_ENV)
    _file_cache.clear()
    _file_cache[cache_key] = keys
    return keys


def keyring(environ: Mapping[str, str] | None = None) -> Keyring:
    """The configured keys (the development key when none is configured)."""
    env = os.environ if environ is None else environ
    keys: list[AuditKey] = []
    path = env.get(KEY_FILE_ENV, "").strip()
    if path:
        keys = _file_keys(path)
    value = env.get(KEY_ENV, "").strip()
    if value:
        keys = [AuditKey(value.encode("utf-8"), KEY_ENV), *keys]
    if not keys:
        return Keyring(DEV_KEY)
    current, *retired = keys
    seen = {current.id}
    kept = []
    for key in retired:
        if key.id not in seen:
            seen.add(key.id)
            kept.append(key)
    return Keyring(current, tuple(kept))


def new_key() -> str:
    """A fresh random key (64 hex digits) for ARREARS_AUDIT_KEY or a key file."""
    return secrets.token_hex(32)


def key_text(key: AuditKey) -> str:
    return key.secret.decode("utf-8", "replace")
