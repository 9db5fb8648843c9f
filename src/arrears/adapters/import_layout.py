"""The columns of the import files: a contract of the import format, defined once in
`arrears.domain.import_layout`; re-exported here for the generator and older callers."""

from __future__ import annotations

from arrears.domain.import_layout import (
    EVENT_OPTIONAL,
    EVENT_REQUIRED,
    LOAN_OPTIONAL,
    LOAN_REQUIRED,
    PAYMENT_OPTIONAL,
    PAYMENT_REQUIRED,
)

__all__ = [
    "EVENT_OPTIONAL",
    "EVENT_REQUIRED",
    "LOAN_OPTIONAL",
    "LOAN_REQUIRED",
    "PAYMENT_OPTIONAL",
    "PAYMENT_REQUIRED",
]
