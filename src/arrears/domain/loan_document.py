"""A loan written as a document (YAML / JSON): the input of `arrears loan explain` and of the scenarios."""

from __future__ import annotations

from typing import Any

from arrears.domain.dates import parse_date
from arrears.domain.errors import InputError
from arrears.domain.loans import Instalment, Loan, Pause, Payment, Waiver
from arrears.domain.money import parse_minor
from arrears.domain.products import LedgerSettings, parse_ledger_settings

LEDGER_KEYS = ("currency", "grace_days", "late_fee", "waterfall", "buckets")
DOCUMENT_KEYS = {
    "id",
    "product",
    "as_of",
    "instalments",
    "payments",
    "pauses",
    "waivers",
    "expect",
    "name",
    "note",
    *LEDGER_KEYS,
}


def _rows(raw: dict[str, Any], key: str) -> list[dict[str, Any]]:
    rows = raw.get(key) or []
    if not isinstance(rows, list):
        raise InputError("must be a list", field=key)
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise InputError("must be a mapping", field=f"{key}[{i}]")
    return rows


def _need(row: dict[str, Any], key: str, where: str) -> Any:
    if key not in row or row[key] is None:
        raise InputError("is required", field=f"{where}.{key}")
    return row[key]


def _seq(value: object, field: str) -> int:
    """An instalment number: a whole number ≥ 1 (1.5, "abc" or true are bad input, never truncated)."""
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        number = int(value.strip())
    else:
        raise InputError(f"an instalment number must be a whole number, got {value!r}", field=field)
    if number < 1:
        raise InputError(f"an instalment number must be at least 1, got {number}", field=field)
    return number


def parse_loan_document(raw: object, base: LedgerSettings | None = None) -> Loan:
    """Build a Loan from a mapping; every error names the field path (e.g. `payments[1].amount`)."""
    if not isinstance(raw, dict):
        raise InputError("a loan document must be a mapping")
    unknown = set(raw) - DOCUMENT_KEYS
    if unknown:
        raise InputError(f"unknown key(s): {', '.join(sorted(unknown))}", field=sorted(unknown)[0])
    settings = parse_ledger_settings({k: raw[k] for k in LEDGER_KEYS if k in raw}, base)
    cur = settings.currency
    instalments = []
    rows = _rows(raw, "instalments")
    if not rows:
        raise InputError("at least one instalment is required", field="instalments")
    for i, row in enumerate(rows):
        at = f"instalments[{i}]"
        instalments.append(
            Instalment(
                seq=_seq(row["seq"], f"{at}.seq") if "seq" in row else i + 1,
                due=parse_date(_need(row, "due", at), f"{at}.due"),
                principal=parse_minor(_need(row, "principal", at), cur, field=f"{at}.principal"),
                interest=parse_minor(row.get("interest", "0"), cur, field=f"{at}.interest"),
                fees=parse_minor(row.get("fees", "0"), cur, field=f"{at}.fees"),
            )
        )
    payments = []
    for i, row in enumerate(_rows(raw, "payments")):
        at = f"payments[{i}]"
        amount = parse_minor(_need(row, "amount", at), cur, field=f"{at}.amount")
        if amount <= 0:
            raise InputError("must be positive", field=f"{at}.amount")
        on = parse_date(_need(row, "date", at), f"{at}.date")
        rev = row.get("reversed")
        reversed_on = parse_date(rev, f"{at}.reversed") if rev is not None else None
        if reversed_on is not None and reversed_on < on:
            raise InputError("a payment cannot be reversed before it was made", field=f"{at}.reversed")
        payments.append(Payment(str(row.get("id", f"p{i + 1}")), on, amount, reversed_on))
    if len({p.id for p in payments}) != len(payments):
        raise InputError("payment ids must be unique", field="payments")
    pauses = []
    for i, row in enumerate(_rows(raw, "pauses")):
        at = f"pauses[{i}]"
        start = parse_date(_need(row, "start", at), f"{at}.start")
        end = parse_date(row["end"], f"{at}.end") if row.get("end") is not None else None
        if end is not None and end < start:
            raise InputError("ends before it starts", field=f"{at}.end")
        pauses.append(Pause(start, end, str(row.get("reason", "dispute"))))
    waivers = []
    for i, row in enumerate(_rows(raw, "waivers")):
        at = f"waivers[{i}]"
        try:
            waivers.append(
                Waiver(
                    on=parse_date(_need(row, "date", at), f"{at}.date"),
                    amount=parse_minor(_need(row, "amount", at), cur, field=f"{at}.amount"),
                    user=str(_need(row, "user", at)),
                    approver=str(_need(row, "approver", at)),
                    reason=str(_need(row, "reason", at)),
                    instalment_seq=_seq(row["seq"], "seq") if row.get("seq") is not None else None,
                )
            )
        except InputError as err:
            raise InputError(err.message, field=f"{at}.{err.field}" if err.field else at) from None
        seq = waivers[-1].instalment_seq
        if seq is not None and seq not in {inst.seq for inst in instalments}:
            raise InputError(f"there is no instalment {seq}", field=f"{at}.seq")
    return Loan(
        id=str(raw.get("id", "loan")),
        instalments=tuple(instalments),
        payments=tuple(payments),
        pauses=tuple(pauses),
        waivers=tuple(waivers),
        settings=settings,
    )
