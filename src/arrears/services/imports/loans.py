"""`arrears import loans FILE`: loans with their schedules, one row per instalment, and their borrowers.

The rows of one loan must agree on who owes it, its product, currency and opening date; seq is unique per
loan. A loan already stored with the same contents is a duplicate; with other contents, a bad row naming the
first difference. With skip_bad a loan with one bad row is rejected whole (a partial schedule would be wrong).
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from typing import Unpack

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from arrears.domain.email_addresses import EMAIL_MAX_LENGTH
from arrears.domain.import_layout import LOAN_OPTIONAL, LOAN_REQUIRED
from arrears.domain.imports import ImportedLoan
from arrears.domain.money import MAX_INSTALMENTS, MAX_LOAN_TOTAL_MINOR, MINOR_DIGITS
from arrears.domain.records import PERSONAS
from arrears.services.imports.personal_data import (
    check_emails,
    check_id_numbers,
    check_phones,
    phone_regions,
)
from arrears.services.imports.row_checks import (
    RowChecks,
    codes_of,
    decimal_text,
    digits_per_row,
    first_index,
    np_bool,
    shown,
    table_of,
)
from arrears.services.imports.skeleton import ImportOptions, ImportResult, ImportRun, Source
from arrears.services.unit_of_work import UnitOfWork


def import_loans(uow: UnitOfWork, source: Source, **options: Unpack[ImportOptions]) -> ImportResult:
    """Import a loans file (one row per instalment) and commit; ImportRejected if rows are bad."""
    run = ImportRun(uow, "loans", source, LOAN_REQUIRED, LOAN_OPTIONAL, **options)
    loans = _check(uow, run.rows)
    stored = _compare_stored(uow, run.rows, loans)
    if run.skip_bad:
        run.rows.reject_whole_groups(loans.codes, "loan", loans.loan_id)
    good = run.settle()
    record = run.start()
    write = good & ~stored
    run.phase("write", int(write.sum()))
    borrowers, loans_added, written = uow.imports.add_loans(
        record, *loans.tables(write), progress=run.advance
    )
    return run.finish(written, {"loans": loans_added, "borrowers": borrowers})


@dataclass(frozen=True, slots=True)
class _Loans:
    """The checked columns of a loans file, and each row's loan (its code and the row where it starts)."""

    loan_id: pa.Array
    borrower_id: pa.Array
    product: pa.Array
    currency: pa.Array
    opened: pa.Array
    seq: np.ndarray
    due: pa.Array
    principal: np.ndarray
    interest: np.ndarray
    fees: np.ndarray
    borrower: dict[str, pa.Array]  # name, phone, ... as the store calls them
    codes: np.ndarray  # per row, the code of its loan id (−1 for none)
    loan_ids: pa.Array  # the distinct loan ids, by code
    first: np.ndarray  # per row, the first row of its loan

    def tables(self, write: np.ndarray) -> tuple[pa.Table, pa.Table, pa.Table]:
        """The borrowers, loans and instalments of the rows to write (a borrower and a loan from its first row)."""
        idx = np.flatnonzero(write)
        b_codes, _ = codes_of(pc.take(self.borrower_id, pa.array(idx)))
        borrowers = table_of(
            idx[np.unique(b_codes, return_index=True)[1]], id=self.borrower_id, **self.borrower
        )
        loans = table_of(
            np.flatnonzero(write & (self.first == np.arange(len(write)))),
            id=self.loan_id,
            borrower_id=self.borrower_id,
            product_code=self.product,
            currency=self.currency,
            opened_on=self.opened,
        )
        instalments = table_of(
            idx,
            loan_id=self.loan_id,
            seq=self.seq,
            due_date=self.due,
            principal=self.principal,
            interest=self.interest,
            fees=self.fees,
        )
        return borrowers, loans, instalments


def _check(uow: UnitOfWork, rows: RowChecks) -> _Loans:
    """Every column, then the rows of one loan against each other."""
    loan_id = rows.text("loan_id", required=True)
    borrower_id = rows.text("borrower_id", required=True)
    product = rows.text("product", required=True)
    currency = rows.text("currency", required=True, max_len=3)
    products = uow.products.codes()
    rows.one_of("product", product, sorted(products), "product")
    bad_currency = rows.one_of("currency", currency, sorted(MINOR_DIGITS), "currency")
    product_currency = pc.take(
        pa.array(list(products.values()), pa.string()),
        pc.index_in(product, value_set=pa.array(list(products), pa.string())),
    )
    mismatch = np_bool(pc.not_equal(currency, product_currency)) & ~bad_currency
    rows.flag(
        mismatch,
        "currency",
        lambda i: (
            f"{shown(currency[i].as_py(), quoted=False)} does not match product {shown(product[i].as_py(), quoted=False)} "
            f"({product_currency[i].as_py()})"
        ),
    )
    digits = digits_per_row(currency)
    seq = rows.counts("seq", required=True, maximum=MAX_INSTALMENTS)
    due = rows.dates("due_date", required=True)
    principal = rows.amounts("principal", digits, required=True)
    interest = rows.amounts("interest", digits, required=False)
    fees = rows.amounts("fees", digits, required=False)
    opened = rows.dates("opened_on")
    late_open = np_bool(pc.greater(opened, due))
    rows.flag(late_open, "opened_on", lambda i: f"opened_on {opened[i]} is after due_date {due[i]}")
    borrower = _borrower_columns(rows, currency)

    # Rows of one loan must agree on who, what product and which currency; seq is unique per loan.
    codes, loan_ids = codes_of(loan_id)
    first = first_index(codes, codes >= 0)
    later = (first != np.arange(rows.n)) & (codes >= 0)
    first_arr = pa.array(first)
    for column, values in (
        ("borrower_id", borrower_id),
        ("product", product),
        ("currency", currency),
        ("opened_on", opened),
    ):
        head = pc.take(values, first_arr)
        same = np_bool(pc.equal(values, head)) | (np_bool(pc.is_null(values)) & np_bool(pc.is_null(head)))
        rows.flag(
            later & ~same,
            column,
            lambda i, v=values, h=head, c=column: (
                f"loan {shown(loan_id[i].as_py(), quoted=False)} has {c} {_shown(v[i])} here "
                f"but {_shown(h[i])} on row {first[i] + 2}"
            ),
        )
    seq_key = codes * (1 << 31) + seq
    seq_first = first_index(seq_key, (codes >= 0) & (seq > 0))
    rows.flag(
        seq_first != np.arange(rows.n),
        "seq",
        lambda i: (
            f"duplicate in file: loan {shown(loan_id[i].as_py(), quoted=False)} seq {seq[i]} is also on row {seq_first[i] + 2}"
        ),
    )
    _bound_totals(rows, loan_id, codes, len(loan_ids), seq, seq_first, principal + interest + fees, digits)
    return _Loans(
        loan_id=loan_id,
        borrower_id=borrower_id,
        product=product,
        currency=currency,
        opened=opened,
        seq=seq,
        due=due,
        principal=principal,
        interest=interest,
        fees=fees,
        borrower=borrower,
        codes=codes,
        loan_ids=loan_ids,
        first=first,
    )


def _bound_totals(
    rows: RowChecks,
    loan_id: pa.Array,
    codes: np.ndarray,
    loans: int,
    seq: np.ndarray,
    seq_first: np.ndarray,
    amounts: np.ndarray,
    digits: np.ndarray,
) -> None:
    """A loan whose schedule adds up to more than MAX_LOAN_TOTAL_MINOR is bad on every row.

    One row per seq counts (seq is unique and at most MAX_INSTALMENTS), so the sums stay far inside 64 bits.
    """
    counted = (codes >= 0) & (seq > 0) & (seq_first == np.arange(rows.n))
    total = np.zeros(loans + 1, dtype=np.int64)  # the last one collects rows without a loan id
    np.add.at(total, np.where(counted, codes, loans), np.where(counted, amounts, 0))
    per_row = total[np.where(codes >= 0, codes, loans)]
    rows.flag(
        (codes >= 0) & (per_row > MAX_LOAN_TOTAL_MINOR),
        None,
        lambda i: (
            f"loan {shown(loan_id[i].as_py(), quoted=False)}: its instalments add up to {decimal_text(int(per_row[i]), int(digits[i]))},"
            f" more than a loan may hold ({decimal_text(MAX_LOAN_TOTAL_MINOR, int(digits[i]))})"
        ),
    )


ADDRESS_MAX_LENGTH = 300  # a postal address, for letters


def _borrower_columns(rows: RowChecks, currency: pa.Array) -> dict[str, pa.Array]:
    """Who owes the loan: name and contact data (checked by the domain's rules for the loan's market, never
    echoed), zone, region, language."""
    borrower_name = rows.text("borrower_name", max_len=128)
    region = phone_regions(currency)
    phone = rows.text("phone", max_len=32)
    check_phones(rows, "phone", phone, region)
    id_number = rows.text("id_number", max_len=32)
    check_id_numbers(rows, "id_number", id_number, region)
    email = rows.text("email", max_len=EMAIL_MAX_LENGTH)
    check_emails(rows, "email", email)
    address = rows.text("address", max_len=ADDRESS_MAX_LENGTH)
    timezone = rows.text("timezone")
    unknown_zones = [z for z in pc.unique(timezone).to_pylist() if z is not None and not _is_zone(z)]
    rows.flag(
        np_bool(pc.is_in(timezone, value_set=pa.array(unknown_zones, pa.string()))),
        "timezone",
        lambda i: f"unknown time zone {shown(timezone[i].as_py())} (use an IANA name such as Asia/Shanghai)",
    )
    region = rows.text("region")
    language = rows.text("language", max_len=16)
    persona = rows.text("persona", max_len=16)
    rows.one_of("persona", persona, PERSONAS, "persona")
    return {
        "name": borrower_name,
        "phone": phone,
        "id_number": id_number,
        "email": email,
        "address": address,
        "timezone": timezone,
        "region": region,
        "language": language,
        "persona": persona,
    }


def _is_zone(name: str) -> bool:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _shown(scalar: pa.Scalar) -> str:
    value = scalar.as_py()
    return "(empty)" if value is None else shown(value)


def _compare_stored(uow: UnitOfWork, rows: RowChecks, loans: _Loans) -> np.ndarray:
    """Rows of loans already stored with the same contents (duplicates); other stored loans are flagged."""
    dup = np.zeros(rows.n, dtype=bool)
    ids = loans.loan_ids.to_pylist()
    stored = uow.imports.loans(ids)
    if not stored:
        return dup
    stored_codes = np.array([i for i, v in enumerate(ids) if v in stored], dtype=np.int64)
    mine: dict[str, list[int]] = {}
    for i in np.flatnonzero(np.isin(loans.codes, stored_codes)).tolist():
        mine.setdefault(ids[loans.codes[i]], []).append(i)
    for loan_id, members in mine.items():
        i0 = members[0]
        in_file = ImportedLoan(
            loans.borrower_id[i0].as_py(),
            loans.product[i0].as_py(),
            loans.currency[i0].as_py(),
            loans.opened[i0].as_py(),
            {
                int(loans.seq[i]): (
                    loans.due[i].as_py(),
                    int(loans.principal[i]),
                    int(loans.interest[i]),
                    int(loans.fees[i]),
                )
                for i in members
            },
        )
        difference = stored[loan_id].difference(in_file)
        member_idx = np.array(members, dtype=np.int64)
        if difference is None:
            dup[member_idx] = True
        else:
            rows.flag(
                member_idx,
                "loan_id",
                f"loan {loan_id} is already stored with different contents ({difference})",
            )
    return dup
