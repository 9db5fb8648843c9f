"""Signed audit checkpoints in a directory outside the database: append-only JSON-lines files, one a day.

The directory is ARREARS_AUDIT_CHECKPOINTS (default ./audit-checkpoints/), read when used. Each checkpoint
is one line appended to `checkpoints-YYYY-MM-DD.jsonl` (the UTC day it was taken): the file is opened with
O_APPEND (a line is added in one write, never rewritten), flushed to disk with fsync (the directory too when
the file is new); files are created 0640, the directory 0750. For protection against someone who can
reach this machine, point the directory at storage that cannot rewrite what it holds (a mount shipped to
an object store with retention lock / WORM, or `chattr +a` on the files); one directory per store.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

from arrears.domain.audit import Checkpoint, StoredCheckpoint
from arrears.domain.errors import InputError

DIR_ENV = "ARREARS_AUDIT_CHECKPOINTS"
DEFAULT_DIR = "audit-checkpoints"
_NAME = re.compile(r"^checkpoints-(\d{4}-\d{2}-\d{2})\.jsonl$")


class FileCheckpoints:
    """The checkpoint port on a local directory (`directory`, else ARREARS_AUDIT_CHECKPOINTS when used)."""

    def __init__(self, directory: str | Path | None = None) -> None:
        self.directory = Path(directory) if directory is not None else None

    def path(self) -> Path:
        if self.directory is not None:
            return self.directory
        return Path(os.environ.get(DIR_ENV, "").strip() or DEFAULT_DIR)

    def location(self) -> str:
        return str(self.path())

    def write(self, checkpoint: Checkpoint) -> str:
        directory = self.path()
        line = (json.dumps(checkpoint.to_dict(), sort_keys=True, separators=(",", ":")) + "\n").encode()
        target = directory / f"checkpoints-{checkpoint.at:%Y-%m-%d}.jsonl"
        try:
            directory.mkdir(parents=True, exist_ok=True, mode=0o750)
            new = not target.exists()
            fd = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
            try:
                os.write(fd, line)
                os.fsync(fd)
            finally:
                os.close(fd)
            if new:
                dir_fd = os.open(directory, os.O_RDONLY)
                try:
                    os.fsync(dir_fd)
                finally:
                    os.close(dir_fd)
        except OSError as err:
            raise InputError(
                f"cannot write the audit checkpoint: {err.strerror or err}", file=str(target), field=DIR_ENV
            ) from None
        return str(target)

    def newest_first(self) -> Iterator[StoredCheckpoint]:
        directory = self.path()
        try:
            names = sorted((p.name for p in directory.iterdir() if _NAME.match(p.name)), reverse=True)
        except FileNotFoundError:
            return
        except OSError as err:
            raise InputError(
                f"cannot read the audit checkpoints: {err.strerror or err}",
                file=str(directory),
                field=DIR_ENV,
            ) from None
        for name in names:
            path = directory / name
            try:
                lines = path.read_bytes().split(b"\n")
            except OSError as err:
                yield StoredCheckpoint(str(path), None, f"cannot be read: {err.strerror or err}")
                continue
            for number in range(len(lines), 0, -1):
                raw = lines[number - 1].strip()
                if not raw:
                    continue
                where = f"{path}:{number}"
                try:
                    data = json.loads(raw)
                    if not isinstance(data, dict):
                        raise ValueError("not a JSON object")
                    yield StoredCheckpoint(where, Checkpoint.from_dict(data))
                except ValueError as err:
                    yield StoredCheckpoint(where, None, str(err))
