"""The monthly credit-bureau export (征信 / Metro 2): every loan's state at the month's last day, set-based.

The month's lines are computed for the whole portfolio at once: the store's snapshot through the vectorised
ledger (DPD, overdue, outstanding, last payment), the bureau facts (notices, disputes, schedule totals) in a
few statements, the rules of arrears.domain.bureau applied column-wise. Three layouts (docs/bureau.md):

- csv (the API's): report_month, loan_id, borrower_id, id_number (full: the bureau needs it; each export is
  audited), name, status (N = not past due, 1..7 = months past due, 7 = 180+ days), dpd, overdue,
  outstanding (decimal strings), record (normal | negative | held), notice_sent_on;
- metro2 (the us profile): CDIA Metro 2 in its character format, a HEADER record, one 426-character Base
  Segment per loan, a TRAILER record with the totals (arrears.domain.metro2);
- cn: the PBOC personal credit account record (个人借贷账户信息), one delimited line per loan.

The pre-notice rule: a negative record (late) is exported only when a bureau notice was sent to the borrower
at least N days (bureau_notice_days) before the report date; otherwise the record is `held`: reported as
current, and listed so the notice can go out first. Re-exporting a month sends each record whose content
changed since the last export of that month as a correction (Metro 2 Correction Indicator 1).
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from arrears.domain import metro2
from arrears.domain.bureau import (
    CN_LAST_STATUS,
    CN_STATUS_BANDS,
    HELD,
    METRO2_CURRENT,
    METRO2_LAST_STATUS,
    METRO2_PAID,
    METRO2_STATUS_BANDS,
    NEGATIVE,
    NEGATIVE_METRO2,
    NORMAL,
    compliance_condition,
    month_end,
    notice_cutoff,
    split_name,
    us_postal_address,
)
from arrears.domain.errors import InputError
from arrears.domain.money import format_minor, minor_digits
from arrears.engine.fixed_width import NO_DATE
from arrears.engine.fixed_width import lines as fixed_width_lines
from arrears.engine.fixed_width import records as fixed_width_records
from arrears.engine.ledger_kernel import NONE_DAY
from arrears.engine.portfolio import Portfolio
from arrears.engine.vector_ledger import compute_ledger
from arrears.services import audit
from arrears.services.unit_of_work import UnitOfWork

__all__ = ["FORMATS", "NOTICE_TEMPLATE", "Reporter", "export", "export_file", "month_end", "month_lines"]

NOTICE_TEMPLATE = "bureau_notice"
FORMATS = ("metro2", "cn", "csv")
COLUMNS = (
    "report_month",
    "loan_id",
    "borrower_id",
    "id_number",
    "name",
    "status",
    "dpd",
    "overdue",
    "outstanding",
    "record",
    "notice_sent_on",
)
LEDGER_TABLES = ("loans", "instalments", "payments", "pauses", "waivers")


@dataclass(frozen=True, slots=True)
class Reporter:
    """Who furnishes the data (the Metro 2 header's reporter, the PBOC 业务管理机构代码)."""

    furnisher_id: str = "UNASSIGNED"
    name: str = "ARREARS LENDER"
    address: str = ""
    telephone: str = ""


def _bands(dpd: np.ndarray, bands: tuple[tuple[int, str], ...], last: str) -> np.ndarray:
    """arrears.domain.bureau.status_for over a column: the first band whose upper bound holds each DPD."""
    uppers = np.array([u for u, _ in bands], dtype=np.int64)
    names = np.array([s for _, s in bands] + [last], dtype=object)
    return names[np.searchsorted(uppers, dpd, side="left")]


def _days(values: np.ndarray) -> pa.Array:
    """Epoch days (NONE_DAY: none) as an Arrow date column."""
    return pa.array(
        np.where(values == NONE_DAY, 0, values).astype(np.int32), pa.date32(), mask=values == NONE_DAY
    )


def month_lines(uow: UnitOfWork, month: str, notice_days: int) -> pa.Table:
    """One row per loan open by the month's end (in loan id order): ledger, facts, statuses, record kind."""
    as_of = month_end(month)
    cutoff = notice_cutoff(as_of, notice_days)
    tables = uow.snapshot(as_of, LEDGER_TABLES)
    products = {code: uow.products.settings(code) for code in uow.products.codes()}
    ledger = compute_ledger(Portfolio(dict(tables), products), as_of)
    loans = tables["loans"]
    facts = uow.bureau.loan_facts(as_of, cutoff, NOTICE_TEMPLATE)
    at = pc.index_in(ledger.loan_id, facts["loan_id"])

    def fact(name: str) -> pa.Array:
        return pc.take(facts[name], at)

    payments = tables["payments"]
    in_month = pc.and_(
        pc.greater_equal(payments["paid_on"], pa.scalar(as_of.replace(day=1), pa.date32())),
        pc.is_null(payments["reversed_on"]),
    )
    paid = payments.filter(in_month).group_by("loan_id").aggregate([("amount", "sum")])
    paid_in_month = pc.fill_null(pc.take(paid["amount_sum"], pc.index_in(ledger.loan_id, paid["loan_id"])), 0)

    dpd = ledger.dpd
    overdue = ledger.overdue.sum(axis=1)
    outstanding = ledger.outstanding.sum(axis=1)
    notice = fact("notice_sent_on")
    noticed = pc.fill_null(pc.less_equal(notice, pa.scalar(cutoff, pa.date32())), False).to_numpy(
        zero_copy_only=False
    )
    late = dpd > 0
    kind = np.where(~late, NORMAL, np.where(noticed, NEGATIVE, HELD))
    open_dispute = pc.fill_null(fact("open_dispute"), False).to_numpy(zero_copy_only=False)
    resolved = pc.fill_null(fact("dispute_resolved"), False).to_numpy(zero_copy_only=False)
    conditions = {
        (o, r): compliance_condition(o, r) for o in (False, True) for r in (False, True)
    }  # the rule, once per combination
    ccc = np.array(
        [conditions[(bool(o), bool(r))] for o, r in zip(open_dispute, resolved, strict=True)], object
    )
    cn = np.where(kind == HELD, "N", _bands(dpd, CN_STATUS_BANDS, CN_LAST_STATUS))
    m2 = np.where(
        outstanding <= 0,
        METRO2_PAID,
        np.where(kind == HELD, METRO2_CURRENT, _bands(dpd, METRO2_STATUS_BANDS, METRO2_LAST_STATUS)),
    )
    currency = pc.take(loans["currency"], pc.index_in(ledger.loan_id, loans["loan_id"]))
    opened = pc.take(loans["opened_on"], pc.index_in(ledger.loan_id, loans["loan_id"]))
    return pa.table(  # in the loans' order: the snapshot's, by loan id
        {
            "loan_id": ledger.loan_id,
            "borrower_id": pc.take(loans["borrower_id"], pc.index_in(ledger.loan_id, loans["loan_id"])),
            "currency": currency,
            "opened_on": pc.coalesce(opened, fact("first_due")),
            "dpd": pa.array(dpd),
            "overdue": pa.array(overdue),
            "outstanding": pa.array(outstanding),
            "paid_in_month": paid_in_month,
            "oldest_unpaid_due": _days(ledger.oldest_unpaid_due),
            "last_payment_on": _days(ledger.last_payment_on),
            "instalments": pc.fill_null(fact("instalments"), 0),
            "original_principal": pc.fill_null(fact("original_principal"), 0),
            "scheduled_total": pc.fill_null(fact("scheduled_total"), 0),
            "last_due": fact("last_due"),
            "notice_sent_on": pc.if_else(pa.array(late & noticed), notice, pa.scalar(None, pa.date32())),
            "record": pa.array(kind.astype(object), pa.string()),
            "cn_status": pa.array(cn.astype(object), pa.string()),
            "metro2_status": pa.array(m2.astype(object), pa.string()),
            "compliance_condition": pa.array(ccc, pa.string()),
        }
    )


def export(uow: UnitOfWork, month: str, notice_days: int, actor: str) -> tuple[str, list[dict[str, Any]]]:
    """The month's records in the csv layout, as text and as rows; the export is recorded in the audit log."""
    lines = month_lines(uow, month, notice_days)
    people = uow.bureau.borrowers(sorted(set(lines["borrower_id"].to_pylist())))
    rows = []
    for line in lines.to_pylist():
        borrower = people.get(line["borrower_id"])
        cur = line["currency"]
        rows.append(
            {
                "report_month": month,
                "loan_id": line["loan_id"],
                "borrower_id": line["borrower_id"],
                "id_number": borrower.id_number if borrower else None,
                "name": borrower.name if borrower else None,
                "status": line["cn_status"],
                "dpd": line["dpd"],
                "overdue": format_minor(line["overdue"], cur),
                "outstanding": format_minor(line["outstanding"], cur),
                "record": line["record"],
                "notice_sent_on": line["notice_sent_on"].isoformat() if line["notice_sent_on"] else None,
            }
        )
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    _audit(uow, actor, month, "csv", lines, 0)
    return out.getvalue(), rows


@dataclass(frozen=True, slots=True)
class ExportSummary:
    month: str
    format: str
    records: int
    negative: int
    held: int
    corrections: int
    disputed: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "month": self.month,
            "format": self.format,
            "records": self.records,
            "negative": self.negative,
            "held": self.held,
            "corrections": self.corrections,
            "disputed": self.disputed,
        }


def export_file(
    uow: UnitOfWork,
    month: str,
    format: str,
    notice_days: int,
    actor: str,
    reporter: Reporter,
    *,
    now: datetime | None = None,
) -> tuple[Iterator[bytes], ExportSummary]:
    """The month's bureau file in `format` (metro2 or cn) as chunks of bytes, and what it holds. What each
    loan's record said is kept for the month, so a later export of it marks the records that changed as
    corrections; the export is audited. The caller writes the chunks and commits."""
    if format not in ("metro2", "cn"):
        raise InputError(f"unknown bureau format {format!r} (use metro2 or cn)", field="--format")
    now = now or datetime.now(UTC)
    as_of = month_end(month)
    lines = month_lines(uow, month, notice_days)
    people = uow.bureau.borrowers(sorted(set(lines["borrower_id"].to_pylist())))
    build = _metro2 if format == "metro2" else _cn
    body, keyed = build(lines, people, as_of, reporter, now, corrected=None)
    before = uow.bureau.reported(format, month)
    digests = [(loan_id, hashlib.blake2b(rec, digest_size=16).hexdigest()) for loan_id, rec in keyed]
    corrected = np.array([loan_id in before and before[loan_id] != d for loan_id, d in digests], dtype=bool)
    if corrected.any():
        body, _ = build(lines, people, as_of, reporter, now, corrected=corrected)
    uow.bureau.record_reported(format, month, digests, as_of, now)
    _audit(uow, actor, month, format, lines, int(corrected.sum()))
    record = lines["record"].to_numpy(zero_copy_only=False)
    summary = ExportSummary(
        month,
        format,
        lines.num_rows,
        int((record == NEGATIVE).sum()),
        int((record == HELD).sum()),
        int(corrected.sum()),
        int(pc.sum(pc.not_equal(lines["compliance_condition"], "")).as_py() or 0),
    )
    return body, summary


def _audit(uow: UnitOfWork, actor: str, month: str, format: str, lines: pa.Table, corrections: int) -> None:
    record = lines["record"].to_numpy(zero_copy_only=False)
    audit.append(
        uow,
        actor,
        "bureau.export",
        f"bureau:{month}",
        {
            "format": format,
            "records": lines.num_rows,
            "negative": int((record == NEGATIVE).sum()),
            "held": int((record == HELD).sum()),
            "corrections": corrections,
        },
    )


def _whole_units(minor: pa.Array | np.ndarray, currency: pa.Array) -> np.ndarray:
    """Minor units in whole currency units, the fraction truncated (Metro 2 reports whole dollars)."""
    values = np.asarray(minor, dtype=np.int64)
    scale = np.array([10 ** minor_digits(c) for c in currency.to_pylist()], dtype=np.int64)
    return np.maximum(values, 0) // scale


def _epoch(dates: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A date column as epoch days, NO_DATE where there is none."""
    return np.asarray(
        pc.fill_null(pc.cast(dates, pa.int32()), NO_DATE).to_numpy(zero_copy_only=False), np.int64
    )


def _metro2(
    lines: pa.Table,
    people: dict[str, Any],
    as_of: date,
    reporter: Reporter,
    now: datetime,
    corrected: np.ndarray | None,
) -> tuple[Iterator[bytes], list[tuple[str, bytes]]]:
    n = lines.num_rows
    currency = lines["currency"].combine_chunks()
    who = [people.get(b) for b in lines["borrower_id"].to_pylist()]
    names = [split_name(p.name if p else None) for p in who]
    addresses = [us_postal_address(p.address if p else None) for p in who]
    ssn = [_digits_only(p.id_number if p else None, 9) for p in who]
    phone = [_digits_only(p.phone if p else None, 10, last=True) for p in who]
    status = lines["metro2_status"].combine_chunks()
    late = pc.is_in(status, pa.array(sorted(NEGATIVE_METRO2))).to_numpy(zero_copy_only=False)
    history = pc.binary_join_element_wise(
        pc.if_else(pa.array(late), _history_letter(lines["dpd"]), "0"), "B" * 23, ""
    )
    columns: dict[str, Any] = {
        "processing_indicator": 1,
        "time_stamp": now.strftime("%m%d%Y%H%M%S"),
        "correction_indicator": corrected.astype(np.int64) if corrected is not None else 0,
        "identification_number": reporter.furnisher_id,
        "consumer_account_number": lines["loan_id"],
        "portfolio_type": "I",  # installment
        "account_type": "01",  # unsecured loan
        "date_opened": _epoch(lines["opened_on"]),
        "highest_credit": _whole_units(lines["original_principal"], currency),
        "terms_duration": pc.utf8_lpad(pc.cast(lines["instalments"], pa.string()), 3, "0"),
        "terms_frequency": "M",
        "scheduled_monthly_payment": _whole_units(
            np.asarray(lines["scheduled_total"], np.int64) // np.maximum(np.asarray(lines["instalments"]), 1),
            currency,
        ),
        "actual_payment_amount": _whole_units(lines["paid_in_month"], currency),
        "account_status": status,
        "payment_rating": pc.if_else(pc.equal(status, METRO2_PAID), "0", ""),
        "payment_history_profile": history,
        "compliance_condition_code": lines["compliance_condition"],
        "current_balance": _whole_units(lines["outstanding"], currency),
        "amount_past_due": np.where(late, _whole_units(lines["overdue"], currency), 0),
        "date_of_account_information": (as_of - date(1970, 1, 1)).days,
        "date_of_first_delinquency": np.where(late, _epoch(lines["oldest_unpaid_due"]), NO_DATE),
        "date_of_last_payment": _epoch(lines["last_payment_on"]),
        "interest_type_indicator": "F",
        "surname": pa.array([s for s, _ in names], pa.string()),
        "first_name": pa.array([f for _, f in names], pa.string()),
        "social_security_number": np.array(ssn, dtype=np.int64),
        "telephone_number": np.array(phone, dtype=np.int64),
        "ecoa_code": "1",  # individual account
        "country_code": "US",
        "first_line_of_address": pa.array([a.line if a else "" for a in addresses], pa.string()),
        "city": pa.array([a.city if a else "" for a in addresses], pa.string()),
        "state": pa.array([a.state if a else "" for a in addresses], pa.string()),
        "postal_zip_code": pa.array([a.zip_code if a else "" for a in addresses], pa.string()),
    }
    matrix = fixed_width_records(metro2.BASE, columns, n)
    matrix[:, :4] = np.frombuffer(metro2.RDW.encode(), np.uint8)
    # what a correction compares: the record without its time stamp and correction indicator
    stable = np.concatenate([matrix[:, :5], matrix[:, 20:]], axis=1)
    keyed = list(zip(lines["loan_id"].to_pylist(), (row.tobytes() for row in stable), strict=True))
    counts = dict(
        zip(*np.unique(np.asarray(status.to_pylist(), dtype=object), return_counts=True), strict=True)
    )
    header = metro2.render(
        metro2.HEADER,
        {
            "record_identifier": "HEADER",
            "activity_date": as_of.strftime("%m%d%Y"),
            "date_created": now.strftime("%m%d%Y"),
            "reporter_name": reporter.name,
            "reporter_address": reporter.address,
            "reporter_telephone_number": _digits_only(reporter.telephone, 10, last=True),
            "software_vendor_name": "ARREARS",
            "software_version_number": "1",
        },
    )
    trailer = metro2.render(
        metro2.TRAILER,
        {
            "record_identifier": "TRAILER",
            "total_base_records": n,
            "block_count": n + 2,
            **{f"total_status_code_{c.lower()}": int(counts.get(c, 0)) for c in metro2.TRAILER_STATUSES},
            "total_ssn_all_segments": sum(1 for s in ssn if s),
            "total_ssn_base_segments": sum(1 for s in ssn if s),
            "total_telephone_all_segments": sum(1 for p in phone if p),
        },
    )

    def chunks() -> Iterator[bytes]:
        yield (header + "\n").encode("ascii")
        for i in range(0, n, 100_000):
            yield fixed_width_lines(matrix[i : i + 100_000])
        yield (trailer + "\n").encode("ascii")

    return chunks(), keyed


def _history_letter(dpd: pa.ChunkedArray) -> pa.Array:
    """Payment History Profile's letter for this month: 1 (30-59 days), 2 (60-89) ... 6 (180+)."""
    values = np.asarray(dpd, dtype=np.int64)
    letters = np.array(["1", "2", "3", "4", "5", "6"], dtype=object)
    return pa.array(letters[np.clip((values - 30) // 30, 0, 5)], pa.string())


def _decimal_strings(minor: np.ndarray, digits: np.ndarray) -> pa.Array:
    """Minor units as decimal strings ("1234.56"; arrears.domain.money.format_minor), column-wise."""
    magnitude = np.abs(minor)
    scale = 10**digits
    whole = pc.cast(pa.array(magnitude // scale), pa.string())
    text = whole
    for d in np.unique(digits):
        if d == 0:
            continue
        frac = pc.utf8_lpad(pc.cast(pa.array(magnitude % scale), pa.string()), int(d), "0")
        text = pc.if_else(pa.array(digits == d), pc.binary_join_element_wise(whole, frac, "."), text)
    return pc.if_else(pa.array(minor < 0), pc.binary_join_element_wise("-", text, ""), text)


def _digits_only(text: str | None, length: int, *, last: bool = False) -> int:
    """The number in `text` when its digits make exactly `length` of them (or, with `last`, its last
    `length` digits when it has more); 0 otherwise."""
    digits = "".join(c for c in (text or "") if c.isdigit())
    if last and len(digits) > length:
        digits = digits[-length:]
    return int(digits) if len(digits) == length else 0


CN_FIELDS = (
    "record_type",
    "account_id",
    "furnisher_code",
    "account_type",
    "opened_on",
    "due_on",
    "loan_amount",
    "currency",
    "repayment_periods",
    "repayment_frequency",
    "report_date",
    "balance",
    "overdue_periods",
    "overdue_amount",
    "five_class",
    "account_status",
    "repayment_status",
    "last_payment_on",
    "paid_this_month",
    "id_type",
    "id_number",
    "name",
    "correction",
    "dispute",
)


def _cn(
    lines: pa.Table,
    people: dict[str, Any],
    as_of: date,
    reporter: Reporter,
    now: datetime,
    corrected: np.ndarray | None,
) -> tuple[Iterator[bytes], list[tuple[str, bytes]]]:
    """The PBOC account record as delimited UTF-8 lines (docs/bureau.md maps each field)."""
    n = lines.num_rows
    who = [people.get(b) for b in lines["borrower_id"].to_pylist()]
    currency = lines["currency"].combine_chunks()
    digits = np.array([minor_digits(c) for c in currency.to_pylist()], dtype=np.int64)
    status = lines["cn_status"].combine_chunks()
    late = pc.not_equal(status, "N")
    outstanding = np.asarray(lines["outstanding"], np.int64)

    def money(values: Any) -> pa.Array:
        return _decimal_strings(np.asarray(values, dtype=np.int64), digits)

    def day(values: pa.ChunkedArray) -> pa.Array:
        return pc.fill_null(pc.strftime(pc.cast(values, pa.timestamp("s")), "%Y%m%d"), "")

    dpd = np.asarray(lines["dpd"], np.int64)
    five_class = np.select(
        [dpd <= 0, dpd <= 90, dpd <= 120, dpd <= 180], ["1", "2", "3", "4"], "5"
    )  # 正常 / 关注 / 次级 / 可疑 / 损失
    account_status = np.where(outstanding <= 0, "3", np.where(np.asarray(late), "2", "1"))  # 正常 逾期 结清
    fields = {
        "record_type": pa.array(["D"] * n),
        "account_id": lines["loan_id"],
        "furnisher_code": pa.array([reporter.furnisher_id] * n),
        "account_type": pa.array(["D1"] * n),  # 非循环贷账户
        "opened_on": day(lines["opened_on"]),
        "due_on": day(lines["last_due"]),
        "loan_amount": money(lines["original_principal"]),
        "currency": currency,
        "repayment_periods": pc.cast(lines["instalments"], pa.string()),
        "repayment_frequency": pa.array(["03"] * n),  # 月
        "report_date": pa.array([as_of.strftime("%Y%m%d")] * n),
        "balance": money(outstanding),
        "overdue_periods": pa.array(
            [s if s != "N" else "0" for s in status.to_pylist()]
        ),  # months past due as the status counts them
        "overdue_amount": pc.if_else(late, money(lines["overdue"]), "0"),
        "five_class": pa.array(five_class.astype(object), pa.string()),
        "account_status": pa.array(account_status.astype(object), pa.string()),
        "repayment_status": status,
        "last_payment_on": day(lines["last_payment_on"]),
        "paid_this_month": money(lines["paid_in_month"]),
        "id_type": pa.array(["10"] * n),  # 居民身份证
        "id_number": pa.array([(p.id_number or "") if p else "" for p in who], pa.string()),
        "name": pa.array([(p.name or "") if p else "" for p in who], pa.string()),
        "correction": pa.array(
            corrected.astype(np.int64) if corrected is not None else np.zeros(n, np.int64)
        ),
        "dispute": lines["compliance_condition"],
    }
    columns = [pc.replace_substring(pc.cast(fields[f], pa.string()), "|", "/") for f in CN_FIELDS]
    joined = pc.binary_join_element_wise(*columns, "|")
    stable = pc.binary_join_element_wise(*columns[:-2], columns[-1], "|")  # without the correction flag
    keyed = list(zip(lines["loan_id"].to_pylist(), (s.encode() for s in stable.to_pylist()), strict=True))
    header = "|".join(
        ["H", reporter.furnisher_id, as_of.strftime("%Y%m%d"), now.strftime("%Y%m%d%H%M%S"), "1.0"]
    )
    record = lines["record"].to_numpy(zero_copy_only=False)
    trailer = "|".join(["T", str(n), str(int((record == NEGATIVE).sum())), str(int((record == HELD).sum()))])

    def chunks() -> Iterator[bytes]:
        yield (header + "\n").encode()
        for i in range(0, n, 100_000):
            part = joined[i : i + 100_000].to_pylist()
            yield ("\n".join(part) + "\n").encode() if part else b""
        yield (trailer + "\n").encode()

    return chunks(), keyed
