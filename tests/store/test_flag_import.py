"""`arrears import flags FILE` on SQLite and PostgreSQL: set and clear in file order, one audit row per
change, idempotent re-import, all or nothing on a bad row (every bad row named), --skip-bad with
FILE.rejects.csv, and a pyarrow Table through import_file."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from arrears.domain.errors import InputError
from arrears.services import audit, borrower_facts
from arrears.services.imports import ImportRejected, import_file
from arrears.services.unit_of_work import UnitOfWork
from tests.conftest import CliResult
from tests.store.conftest import counts, write

Cli = Callable[..., CliResult]
HEADER = "borrower_id,flag,action,channel,debt,value,until,effective_at,by,reason"
GOOD = f"""\
{HEADER}
B1,cease,set,sms,,,,,compliance.zhao,asked us to stop texting
B1,work_number,,,,02166668888,,2026-01-05T09:00:00+08:00,compliance.zhao,HR line
B2,hardship,set,,L2,,2199-12-31,,compliance.zhao,job loss (approved)
B2,dispute,set,,L2,,,,compliance.zhao,says the amount is wrong
B2,dispute,clear,,L2,,,,compliance.zhao,resolved: amount corrected
"""


def _flags(url: str, borrower: str) -> dict[str, Any]:
    with UnitOfWork(url) as uow:
        return borrower_facts.show(uow, borrower)


def _audit(url: str, subject: str) -> list[audit.AuditEntry]:
    with UnitOfWork(url) as uow:
        return audit.entries(uow, subject=subject)


def test_a_good_file_sets_and_clears_in_order_each_change_audited(
    loaded: str, tmp_path: Path, cli: Cli
) -> None:
    path = write(tmp_path, "flags.csv", GOOD)
    result = cli("import", "flags", str(path), "--json")
    assert result.code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert {
        k: summary[k] for k in ("kind", "rows", "written", "duplicates", "rejected", "set", "cleared")
    } == {
        "kind": "flags",
        "rows": 5,
        "written": 5,
        "duplicates": 0,
        "rejected": 0,
        "set": 4,
        "cleared": 1,
    }
    b1 = _flags(loaded, "B1")
    assert {(r["flag"], r["channel"], r["value"]) for r in b1["in_force"]} == {
        ("cease", "sms", None),
        ("work_number", None, "021****8888"),
    }
    assert all(r["source"] == "import" and r["set_by"] == "compliance.zhao" for r in b1["history"])
    work = next(r for r in b1["history"] if r["flag"] == "work_number")
    assert work["effective_at"] == "2026-01-05T01:00:00+00:00"
    b2 = _flags(loaded, "B2")
    assert [r["flag"] for r in b2["in_force"]] == ["hardship"]
    dispute = next(r for r in b2["history"] if r["flag"] == "dispute")
    assert (dispute["in_force"], dispute["clear_reason"]) == (False, "resolved: amount corrected")
    assert [e.action for e in _audit(loaded, "borrower:B2")] == ["borrower.flag.set"] * 2 + [
        "borrower.flag.clear"
    ]
    assert len(_audit(loaded, "borrower:B1")) == 2
    imported = _audit(loaded, str(path))
    assert [e.action for e in imported] == ["import.flags"]
    assert (imported[0].detail["set"], imported[0].detail["cleared"]) == (4, 1)
    assert cli("audit", "verify").code == 0


def test_reimporting_sets_and_clears_changes_nothing(loaded: str, tmp_path: Path, cli: Cli) -> None:
    with UnitOfWork(loaded) as uow:
        borrower_facts.set_flag(uow, "B2", "unreachable", by="t", reason="t", source="cli")
        uow.commit()
    path = write(
        tmp_path,
        "flags.csv",
        f"{HEADER}\nB1,cease,set,,,,,,ops,stop\nB2,unreachable,clear,,,,,,ops,found a number\n",
    )
    first = json.loads(cli("import", "flags", str(path), "--json").stdout)
    assert (first["written"], first["duplicates"]) == (2, 0)
    before = counts(loaded)
    second = json.loads(cli("import", "flags", str(path), "--json").stdout)
    # in force already / nothing in force to clear: duplicates, and only the import's own rows are new
    assert (second["written"], second["duplicates"], second["set"], second["cleared"]) == (0, 2, 0, 0)
    after = counts(loaded)
    assert after["borrower_flags"] == before["borrower_flags"]
    assert (after["imports"], after["audit_log"]) == (before["imports"] + 1, before["audit_log"] + 1)


BAD = f"""\
{HEADER}
B1,cease,set,sms,,,,,ops,fine
B9,cease,set,,,,,,ops,unknown borrower
B1,snooze,set,,,,,,ops,unknown flag
B1,deceased,set,sms,,,,,ops,channel on a flag without one
B1,hardship,set,,L2,,,,ops,another borrower's loan
B1,hardship,set,,L9,,,,ops,unknown loan
B1,cease,set,,,,,,,no one
B1,hardship,set,,L1,,2026-02-30,,ops,bad date
B1,cease,set,,,,,2026-01-05T09:00:00,ops,naive instant
B1,hardship,clear,,L1,,2026-05-01,,ops,a clear with an end date
B1,cease,remove,,,,,,ops,unknown action
B1,opt_out,set,,,,,,ops,no channel
B1,work_number,set,,,,,,ops,no value
"""
EXPECTED = [
    (3, "borrower_id", "unknown borrower 'B9'"),
    (4, "flag", "unknown flag 'snooze'"),
    (5, "channel", "the deceased flag takes no channel"),
    (6, "debt", "loan 'L2' is not a debt of borrower 'B1'"),
    (7, "debt", "unknown loan 'L9'"),
    (8, "by", "is required"),
    (9, "until", "bad date '2026-02-30'"),
    (10, "effective_at", "needs a UTC offset"),
    (11, "until", "only a set takes an end date"),
    (12, "action", "unknown action 'remove'"),
    (13, "channel", "the opt_out flag needs a channel"),
    (14, "value", "the work_number flag needs a value"),
]


def test_a_bad_row_writes_nothing_and_every_bad_row_is_named(loaded: str, tmp_path: Path, cli: Cli) -> None:
    path = write(tmp_path, "flags.csv", BAD)
    before = counts(loaded)
    result = cli("import", "flags", str(path))
    assert result.code == 2
    lines = result.stderr.strip().splitlines()
    assert "Traceback" not in result.stderr
    for (row, column, reason), line in zip(EXPECTED, lines, strict=False):
        assert line.startswith(f"{path}:{row}: field '{column}': {reason}"), line
    assert len(lines) == len(EXPECTED) + 1 and "12 bad row(s) of 13; nothing was written" in lines[-1]
    assert counts(loaded) == before  # not the good row either, no audit row, no imports row
    rejected = cli("import", "flags", str(path), "--json")
    summary = json.loads(rejected.stdout)
    assert (rejected.code, summary["written"], summary["rejected"], summary["error_count"]) == (2, 0, 12, 12)


def test_a_file_whose_only_bad_rows_are_found_while_applying_writes_nothing(
    loaded: str, tmp_path: Path, cli: Cli
) -> None:
    """A row the service refuses after earlier rows were applied: those rows are undone too."""
    path = write(
        tmp_path,
        "flags.csv",
        f"{HEADER}\nB1,cease,set,,,,,,ops,stop\nB1,cease,set,,,,,,ops,   \n",
    )
    before = counts(loaded)
    result = cli("import", "flags", str(path))
    assert result.code == 2
    assert f"{path}:3: field 'reason': is required" in result.stderr
    assert counts(loaded) == before


def test_skip_bad_writes_the_good_rows_and_the_rejects_file(loaded: str, tmp_path: Path, cli: Cli) -> None:
    path = write(tmp_path, "flags.csv", BAD)
    result = cli("import", "flags", str(path), "--skip-bad", "--json")
    assert result.code == 1, result.stderr  # rows were rejected
    summary = json.loads(result.stdout)
    assert (summary["rows"], summary["written"], summary["rejected"], summary["duplicates"]) == (13, 1, 12, 0)
    assert summary["rejects_file"] == f"{path}.rejects.csv"
    with open(summary["rejects_file"], encoding="utf-8") as fh:
        rejects = list(csv.DictReader(fh))
    assert [(int(r["reject_row"]), r["reject_column"]) for r in rejects] == [(r, c) for r, c, _ in EXPECTED]
    assert rejects[0]["borrower_id"] == "B9" and "unknown borrower" in rejects[0]["reason"]
    view = _flags(loaded, "B1")
    assert [(r["flag"], r["channel"]) for r in view["history"]] == [("cease", "sms")]
    assert len(_audit(loaded, "borrower:B1")) == 1
    assert cli("audit", "verify").code == 0


def test_an_arrow_table_and_a_missing_column(loaded: str) -> None:
    table = pa.table(
        {
            "borrower_id": ["B1", "B2"],
            "flag": ["opt_out", "bankruptcy"],
            "channel": ["email", None],
            "by": ["ops", "ops"],
            "reason": ["unsubscribed", "court notice"],
        }
    )
    with UnitOfWork(loaded) as uow:
        result = import_file(uow, "flags", table, name="facts", actor="test")
    assert (result.written, result.details) == (2, {"set": 2, "cleared": 0})
    assert [r["flag"] for r in _flags(loaded, "B2")["in_force"]] == ["bankruptcy"]
    with UnitOfWork(loaded) as uow, pytest.raises(InputError) as err:
        import_file(uow, "flags", table.drop(["reason"]), name="facts")
    assert err.value.field == "reason" and "missing column" in str(err.value)


def test_a_rejected_file_leaves_the_callers_transaction_as_it_was(loaded: str) -> None:
    """import_file applies rows before it knows the verdict: a rejection undoes them (a savepoint), so a
    caller that catches ImportRejected and commits its own work commits none of the file's."""
    table = pa.table(
        {"borrower_id": ["B1", "B1"], "flag": ["cease", "cease"], "by": ["ops", "ops"], "reason": ["x", " "]}
    )
    with UnitOfWork(loaded) as uow:
        borrower_facts.set_flag(uow, "B2", "unreachable", by="t", reason="mine", source="cli")
        with pytest.raises(ImportRejected) as err:
            import_file(uow, "flags", table, name="facts")
        assert [(e.row, e.column) for e in err.value.errors] == [(3, "reason")]
        uow.commit()
    assert _flags(loaded, "B1")["history"] == []
    assert [r["flag"] for r in _flags(loaded, "B2")["history"]] == ["unreachable"]
    assert [e.action for e in _audit(loaded, "borrower:B2")] == ["borrower.flag.set"]
    assert _audit(loaded, "borrower:B1") == []
    with UnitOfWork(loaded) as uow:
        assert audit.verify(uow).ok
