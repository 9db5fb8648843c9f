"""Errors a user can act on. Entrypoints show them without a traceback (CLI exit 2, API 4xx)."""

from __future__ import annotations


class ArrearsError(Exception):
    """Base class of every error the product raises on purpose."""


class InputError(ArrearsError):
    """Bad input: names the file, the line or row, and the field where it can."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        self.message = message
        self.file = file
        self.line = line
        self.field = field
        super().__init__(str(self))

    def __str__(self) -> str:
        where = ""
        if self.file:
            where = self.file
            if self.line is not None:
                where += f":{self.line}"
        parts = [p for p in (where, f"field '{self.field}'" if self.field else "") if p]
        prefix = ": ".join(parts)
        return f"{prefix}: {self.message}" if prefix else self.message

    def to_dict(self) -> dict[str, object]:
        return {"file": self.file, "line": self.line, "field": self.field, "message": self.message}


class NotFound(ArrearsError):
    """A named thing (account, loan, policy) does not exist."""
