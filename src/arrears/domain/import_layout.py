"""The columns of the import files (docs/import-formats.md): what `arrears import` reads and the
synthetic generator writes. One definition, so the two cannot drift apart."""

from __future__ import annotations

LOAN_REQUIRED = ("loan_id", "borrower_id", "product", "currency", "seq", "due_date", "principal")
LOAN_OPTIONAL = (
    "interest",
    "fees",
    "opened_on",
    "borrower_name",
    "phone",
    "id_number",
    "email",
    "address",
    "timezone",
    "region",
    "language",
    "persona",
)
PAYMENT_REQUIRED = ("payment_id", "loan_id", "paid_on", "amount")
PAYMENT_OPTIONAL = ("reverses", "source")
EVENT_REQUIRED = ("event_id", "loan_id", "kind", "on")
EVENT_OPTIONAL = ("at", "detail")
