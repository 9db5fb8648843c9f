"""What an engine hands back for one day (its Evaluation): every account's assignment and the actions due
today, and the history layout an engine reads.

All engines return the same two Arrow tables, row for row (sorted by loan id, then action order), so the
differential tests can compare them directly and the daily-run service does not care which engine ran.
The engines themselves are looked up by name in arrears.engine.evaluators.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import pyarrow as pa
import pyarrow.compute as pc

from arrears.domain.policy.model import Policy
from arrears.domain.policy.treatment import ACTION_KINDS
from arrears.engine.portfolio import Portfolio

ASSIGNMENT_SCHEMA = pa.schema(
    [
        ("loan_id", pa.string()),
        ("borrower_id", pa.string()),
        ("product", pa.string()),
        ("dpd", pa.int64()),
        ("delinquent_days", pa.int64()),
        ("bucket", pa.string()),
        ("anchor", pa.date32()),  # oldest unpaid due date: the ladder's anchor and the episode's key
        ("day_offset", pa.int64()),
        ("overdue_total", pa.int64()),
        ("outstanding_total", pa.int64()),
        ("late_fee", pa.int64()),
        ("ews_score", pa.int64()),
        ("ews_level", pa.string()),
        ("segment", pa.string()),
        ("experiment", pa.string()),
        ("arm", pa.string()),
        ("ladder", pa.string()),
        ("hardship", pa.bool_()),
        ("disputed", pa.bool_()),
        ("identity_dispute", pa.bool_()),
    ]
)
ACTION_SCHEMA = pa.schema(
    [
        ("loan_id", pa.string()),
        ("kind", pa.string()),
        ("step_id", pa.string()),
        ("position", pa.int64()),
        ("channel", pa.string()),
        ("template", pa.string()),
        ("tone", pa.string()),
        ("requires", pa.string()),
        ("segment", pa.string()),
        ("experiment", pa.string()),
        ("arm", pa.string()),
        ("ladder", pa.string()),
    ]
)
HISTORY_SCHEMA = pa.schema([("loan_id", pa.string()), ("step_id", pa.string()), ("anchor", pa.date32())])


@dataclass
class Evaluation:
    assignments: pa.Table
    actions: pa.Table
    # loan_id + score.<target> (basis points) per account, when models are active
    scores: pa.Table | None = None


def _in_order(table: pa.Table, keys: list[str]) -> bool:
    """Whether the rows are already sorted by `keys` (ascending, most significant first): one pass instead
    of a sort, as the engines mostly hand rows over in loan order."""
    if table.num_rows < 2:
        return True
    bad: pa.Array | None = None
    for key in reversed(keys):
        col = table[key].combine_chunks()
        after, before = col.slice(1), col.slice(0, len(col) - 1)
        lt = pc.less(after, before)
        bad = lt if bad is None else pc.or_(lt, pc.and_(pc.equal(after, before), bad))
    return not pc.any(bad).as_py()


def _sorted(table: pa.Table, keys: list[str]) -> pa.Table:
    return table if _in_order(table, keys) else table.sort_by([(k, "ascending") for k in keys])


def _conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """`table` with the schema's columns and types, except that dictionary-encoded text stays encoded (the
    same values, a code per row instead of a string)."""
    table = table.select(schema.names)
    target = pa.schema(
        [
            table.schema.field(f.name)
            if pa.types.is_dictionary(table.schema.field(f.name).type)
            and table.schema.field(f.name).type.value_type == f.type
            else f
            for f in schema
        ]
    )
    return table.cast(target)


def kind_rank(kinds: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    """Each action kind's place in the canonical order: steps, then catch-ups, then jumps."""
    return pc.index_in(kinds, pa.array(list(ACTION_KINDS), pa.string()))


def normalise(assignments: pa.Table, actions: pa.Table) -> Evaluation:
    """Both tables in the canonical column order and row order (text columns may be dictionary-encoded)."""
    a = _sorted(_conform(assignments, ASSIGNMENT_SCHEMA), ["loan_id"])
    ordered = actions.select(ACTION_SCHEMA.names).cast(ACTION_SCHEMA)
    ordered = ordered.append_column("_kind", kind_rank(ordered["kind"]))
    ordered = _sorted(ordered, ["loan_id", "_kind", "position"])
    return Evaluation(a, ordered.drop_columns(["_kind"]))


def sent_steps(history: pa.Table | None) -> dict[str, dict[date, set[str]]]:
    """loan id → anchor → step ids already sent (the history of each delinquency episode)."""
    out: dict[str, dict[date, set[str]]] = defaultdict(lambda: defaultdict(set))
    if history is None:
        return out
    for row in history.to_pylist():
        out[row["loan_id"]][row["anchor"]].add(row["step_id"])
    return out


def empty_history() -> pa.Table:
    return HISTORY_SCHEMA.empty_table()


Evaluator = Callable[[Portfolio, Policy, date, pa.Table | None], Evaluation]
"""An engine's entry point: (portfolio, policy, as-of day, history or None) → Evaluation."""


ACCIDENTAL = "forgetful"  # the borrowers' persona of accidental late payers (the synthetic portfolios')


def accidental_legal_actions(evaluation: Evaluation, borrowers: pa.Table) -> dict[str, int]:
    """How many actions planned for accidental late payers are a lawyer's letter, and how many are in a
    legal tone: the seeds' question, column-wise. Only the few legal actions' borrowers are looked up."""
    zero = {"lawyer_letter": 0, "legal_tone": 0}
    acts = evaluation.actions
    if acts.num_rows == 0 or "persona" not in borrowers.column_names:
        return zero
    letter, tone = pc.equal(acts["channel"], "lawyer_letter"), pc.equal(acts["tone"], "legal")
    legal = acts.filter(pc.or_(letter, tone))
    if legal.num_rows == 0:
        return zero
    a = evaluation.assignments
    theirs = a.filter(pc.is_in(a["loan_id"], value_set=pc.unique(legal["loan_id"])))
    whose = borrowers.filter(pc.is_in(borrowers["borrower_id"], value_set=pc.unique(theirs["borrower_id"])))
    accidental_borrowers = pc.filter(whose["borrower_id"], pc.equal(whose["persona"], ACCIDENTAL))
    accidental_loans = pc.filter(
        theirs["loan_id"], pc.is_in(theirs["borrower_id"], value_set=accidental_borrowers)
    )
    mine = pc.is_in(legal["loan_id"], value_set=accidental_loans)

    def counted(column: str, value: str) -> int:
        return int(pc.sum(pc.and_(mine, pc.equal(legal[column], value))).as_py() or 0)

    return {"lawyer_letter": counted("channel", "lawyer_letter"), "legal_tone": counted("tone", "legal")}


def count_by(table: pa.Table, column: str) -> dict[str, int]:
    if table.num_rows == 0:
        return {}
    counts = pc.value_counts(table[column].combine_chunks())
    return {str(v["values"]): int(v["counts"]) for v in counts.to_pylist()}
