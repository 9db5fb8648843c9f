"""A portfolio in columns (Arrow tables): what the store's snapshot hands to the engines.

Tables and columns (dates are Arrow date32, amounts int64 minor units):
- loans:        loan_id, borrower_id, product
- instalments:  loan_id, seq, due_date, principal, interest, fees
- payments:     payment_id, loan_id, paid_on, amount, reversed_on (null when not reversed)
- pauses:       loan_id, start_on, end_on (null = open), reason
- waivers:      loan_id, on, amount, instalment_seq (null = oldest first), user, approver, reason
- events:       loan_id, kind, on, outcome (for contacts)
- borrowers:    borrower_id, timezone, language, region, persona

SCHEMAS declares them; STORE_SNAPSHOT_SCHEMAS, derived from it, is what the store's snapshot reads.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date

import pyarrow as pa
import pyarrow.compute as pc

from arrears.domain.account_features import AccountEvent
from arrears.domain.loans import Instalment, Loan, Pause, Payment, Waiver
from arrears.domain.models import ScoringModel
from arrears.domain.products import LedgerSettings

_LOAN_ID = pa.field("loan_id", pa.string())
_BORROWER_ID = pa.field("borrower_id", pa.string())
_ON = pa.field("on", pa.date32())
_STORE_ONLY = {  # columns the store's snapshot reads that the engines do not
    "currency": pa.string(),
    "opened_on": pa.date32(),
    "event_id": pa.string(),
    "at": pa.timestamp("us", tz="UTC"),
    "detail": pa.string(),  # JSON text
}

SCHEMAS: dict[str, pa.Schema] = {
    "loans": pa.schema([_LOAN_ID, _BORROWER_ID, ("product", pa.string())]),
    "instalments": pa.schema(
        [
            _LOAN_ID,
            ("seq", pa.int32()),
            ("due_date", pa.date32()),
            ("principal", pa.int64()),
            ("interest", pa.int64()),
            ("fees", pa.int64()),
        ]
    ),
    "payments": pa.schema(
        [
            ("payment_id", pa.string()),
            _LOAN_ID,
            ("paid_on", pa.date32()),
            ("amount", pa.int64()),
            ("reversed_on", pa.date32()),
        ]
    ),
    "pauses": pa.schema(
        [
            _LOAN_ID,
            ("start_on", pa.date32()),
            ("end_on", pa.date32()),
            ("reason", pa.string()),
        ]
    ),
    "waivers": pa.schema(
        [
            _LOAN_ID,
            _ON,
            ("amount", pa.int64()),
            ("instalment_seq", pa.int32()),
            ("user", pa.string()),
            ("approver", pa.string()),
            ("reason", pa.string()),
        ]
    ),
    "events": pa.schema([_LOAN_ID, ("kind", pa.string()), _ON, ("outcome", pa.string())]),
    "borrowers": pa.schema(
        [
            _BORROWER_ID,
            ("timezone", pa.string()),
            ("language", pa.string()),
            ("region", pa.string()),
            ("persona", pa.string()),
        ]
    ),
}


def _columns(table: str, *names: str) -> pa.Schema:
    """Columns of the engine's `table` (and of the store-only ones), in the order given."""
    have = SCHEMAS[table]
    return pa.schema([have.field(n) if n in have.names else pa.field(n, _STORE_ONLY[n]) for n in names])


# What the store's snapshot (arrears.adapters.store.snapshot) reads, table by table, in its query's column
# order: the engine's columns, less those the store does not keep (a waiver's user, approver and reason; a
# contact's outcome, which the Portfolio takes from the event's JSON detail), plus what only the store
# side uses (a loan's currency and opening day; an event's id, instant and detail).
STORE_SNAPSHOT_SCHEMAS: dict[str, pa.Schema] = {
    "loans": _columns("loans", "loan_id", "borrower_id", "product", "currency", "opened_on"),
    "instalments": SCHEMAS["instalments"],
    "payments": SCHEMAS["payments"],
    "pauses": SCHEMAS["pauses"],
    "waivers": _columns("waivers", "loan_id", "on", "amount", "instalment_seq"),
    "events": _columns("events", "event_id", "loan_id", "kind", "on", "at", "detail"),
    "borrowers": SCHEMAS["borrowers"],
}


@dataclass
class Portfolio:
    """Columnar portfolio plus the ledger settings of each product code."""

    tables: dict[str, pa.Table]
    products: Mapping[str, LedgerSettings] = field(default_factory=dict)
    # the active risk models the run scores with (engine/model_scores.py); their lender-supplied inputs
    # ride along as tables["lender_features"]
    models: tuple[ScoringModel, ...] = ()

    def __post_init__(self) -> None:
        for name, schema in SCHEMAS.items():
            table = self.tables.get(name)
            if table is None:
                self.tables[name] = schema.empty_table()
                continue
            if name == "events" and "outcome" not in table.column_names:
                table = table.append_column("outcome", _contact_outcomes(table))
            for col in schema:
                if col.name not in table.column_names:  # optional columns the store does not keep
                    table = table.append_column(col.name, pa.nulls(table.num_rows, col.type))
            self.tables[name] = table.select(schema.names).cast(_keeping_dictionaries(table, schema))

    def __getitem__(self, name: str) -> pa.Table:
        return self.tables[name]

    def decoded(self) -> Portfolio:
        """The same portfolio with every dictionary-encoded column as plain values."""
        tables = {name: table.cast(SCHEMAS[name]) for name, table in self.tables.items() if name in SCHEMAS}
        return Portfolio({**self.tables, **tables}, dict(self.products), self.models)

    @property
    def account_count(self) -> int:
        return self.tables["loans"].num_rows

    def settings_for(self, product: str) -> LedgerSettings:
        try:
            return self.products[product]
        except KeyError:
            from arrears.domain.catalog import product as catalogue_product

            return catalogue_product(product).settings

    def account_events(self) -> dict[str, list[AccountEvent]]:
        """Events by loan id, in recorded order (the reference engine's input)."""
        out: dict[str, list[AccountEvent]] = defaultdict(list)
        for row in self.tables["events"].to_pylist():
            out[row["loan_id"]].append(AccountEvent(row["kind"], row["on"], row["outcome"]))
        return out

    def to_loans(self) -> Iterator[Loan]:
        """Domain loans, one per row of `loans` (the reference engine's input)."""
        by_loan: dict[str, dict[str, list[dict[str, object]]]] = defaultdict(lambda: defaultdict(list))
        for name in ("instalments", "payments", "pauses", "waivers"):
            for row in self.tables[name].to_pylist():
                by_loan[str(row["loan_id"])][name].append(row)
        for row in self.tables["loans"].to_pylist():
            parts = by_loan.get(row["loan_id"], {})
            yield Loan(
                id=row["loan_id"],
                instalments=tuple(
                    Instalment(r["seq"], r["due_date"], r["principal"], r["interest"], r["fees"])  # type: ignore[arg-type]
                    for r in parts.get("instalments", [])
                ),
                payments=tuple(
                    Payment(r["payment_id"], r["paid_on"], r["amount"], r["reversed_on"])  # type: ignore[arg-type]
                    for r in parts.get("payments", [])
                ),
                pauses=tuple(
                    Pause(r["start_on"], r["end_on"], r["reason"] or "dispute")  # type: ignore[arg-type]
                    for r in parts.get("pauses", [])
                ),
                waivers=tuple(
                    Waiver(
                        r["on"],
                        r["amount"],
                        r["user"] or "-",
                        r["approver"] or "--",
                        r["reason"] or "-",  # type: ignore[arg-type]
                        r["instalment_seq"],
                    )
                    for r in parts.get("waivers", [])
                ),
                settings=self.settings_for(row["product"]),
            )


def take_accounts(portfolio: Portfolio, accounts: int) -> Portfolio:
    """The first `accounts` loans of a portfolio and everything that belongs to them (their borrowers too)."""
    loans = portfolio["loans"].slice(0, accounts)
    keep = loans["loan_id"]
    borrowers = portfolio["borrowers"]
    tables = {
        "loans": loans,
        "borrowers": borrowers.filter(
            pc.is_in(borrowers["borrower_id"], value_set=loans["borrower_id"].combine_chunks())
        ),
    }
    for name, table in portfolio.tables.items():
        if name not in tables:
            tables[name] = _rows_of_first(table, portfolio["loans"]["loan_id"], keep)
    return Portfolio(tables, dict(portfolio.products), portfolio.models)


def _rows_of_first(table: pa.Table, all_ids: pa.ChunkedArray, keep: pa.ChunkedArray) -> pa.Table:
    """A child table's rows of the loans in `keep` (the first loans of `all_ids`).

    Loan ids encoded as account positions (a snapshot part's) stay so, over the shorter dictionary.
    """
    column = table["loan_id"]
    if pa.types.is_dictionary(column.type) and all(
        c.dictionary.equals(all_ids.combine_chunks()) for c in column.chunks
    ):
        codes = pa.chunked_array([c.indices for c in column.chunks], column.type.index_type)
        kept = table.filter(pc.less(codes, len(keep)))
        dictionary = keep.combine_chunks()
        encoded = pa.chunked_array(
            [pa.DictionaryArray.from_arrays(c.indices, dictionary) for c in kept["loan_id"].chunks],
            column.type,
        )
        return kept.set_column(kept.schema.get_field_index("loan_id"), "loan_id", encoded)
    if pa.types.is_dictionary(column.type):
        table = table.set_column(table.schema.get_field_index("loan_id"), "loan_id", column.cast(pa.string()))
    return table.filter(pc.is_in(table["loan_id"], value_set=keep.combine_chunks()))


def portfolio_from_loans(loans: Iterable[Loan], borrower_of: Mapping[str, str] | None = None) -> Portfolio:
    """Columns from domain loans; each distinct ledger setting becomes its own product code."""
    products: dict[LedgerSettings, str] = {}
    cols: dict[str, dict[str, list[object]]] = {n: defaultdict(list) for n in SCHEMAS}
    for loan in loans:
        code = products.setdefault(loan.settings, f"p{len(products)}")
        cols["loans"]["loan_id"].append(loan.id)
        cols["loans"]["borrower_id"].append((borrower_of or {}).get(loan.id, f"b-{loan.id}"))
        cols["loans"]["product"].append(code)
        for i in loan.instalments:
            for k, v in (
                ("loan_id", loan.id),
                ("seq", i.seq),
                ("due_date", i.due),
                ("principal", i.principal),
                ("interest", i.interest),
                ("fees", i.fees),
            ):
                cols["instalments"][k].append(v)
        for p in loan.payments:
            for k, v in (
                ("payment_id", p.id),
                ("loan_id", loan.id),
                ("paid_on", p.on),
                ("amount", p.amount),
                ("reversed_on", p.reversed_on),
            ):
                cols["payments"][k].append(v)
        for ps in loan.pauses:
            for k, v in (
                ("loan_id", loan.id),
                ("start_on", ps.start),
                ("end_on", ps.end),
                ("reason", ps.reason),
            ):
                cols["pauses"][k].append(v)
        for w in loan.waivers:
            for k, v in (
                ("loan_id", loan.id),
                ("on", w.on),
                ("amount", w.amount),
                ("instalment_seq", w.instalment_seq),
                ("user", w.user),
                ("approver", w.approver),
                ("reason", w.reason),
            ):
                cols["waivers"][k].append(v)
    tables = {
        name: pa.table({c: cols[name].get(c, []) for c in schema.names}, schema=schema)
        if cols[name]
        else schema.empty_table()
        for name, schema in SCHEMAS.items()
    }
    return Portfolio(tables, {code: s for s, code in products.items()})


def _contact_outcomes(events: pa.Table) -> pa.Array:
    """The `outcome` of contact events, read from their JSON detail (other kinds: null)."""
    if "detail" not in events.column_names:
        return pa.nulls(events.num_rows, pa.string())
    kinds = events["kind"].to_pylist()
    details = events["detail"].to_pylist()
    out: list[str | None] = []
    for kind, detail in zip(kinds, details, strict=True):
        outcome = None
        if kind == "contact" and detail:
            try:
                value = json.loads(detail).get("outcome")
            except (ValueError, AttributeError):
                value = None
            outcome = str(value) if value else None
        out.append(outcome)
    return pa.array(out, pa.string())


def _keeping_dictionaries(table: pa.Table, schema: pa.Schema) -> pa.Schema:
    """`schema`, except that a text column the table holds dictionary-encoded stays encoded (a snapshot
    directory encodes the child tables' loan ids against the loans, so their codes are account positions)."""
    fields = []
    for f in schema:
        have = table.schema.field(f.name).type
        keep = pa.types.is_dictionary(have) and have.value_type == f.type
        fields.append(pa.field(f.name, have) if keep else f)
    return pa.schema(fields)


def epoch_day(d: date) -> int:
    return d.toordinal() - 719163  # days since 1970-01-01, as Arrow's date32
