"""The store's records are domain objects (`arrears.domain.records`); kept importable from here."""

from arrears.domain.records import (  # noqa: F401
    EVENT_KINDS,
    PERSONAS,
    PII_FIELDS,
    AccountEvent,
    Borrower,
    LoanRecord,
    Posting,
)
