"""`arrears borrower flag|show` end to end on SQLite and PostgreSQL: set → show → clear → show, the JSON
shape, masking (no full phone number anywhere in what is printed), one audit row per change, and the exit-2
cases (one line naming the option, nothing written)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from arrears.services import audit
from arrears.services.unit_of_work import UnitOfWork
from tests.conftest import CliResult
from tests.store.conftest import counts

Cli = Callable[..., CliResult]
PHONE = "13812345678"  # B1's phone (tests/store/conftest.py)
WORK = "02166668888"
ROW_KEYS = {
    "id",
    "flag",
    "channel",
    "debt",
    "value",
    "until",
    "in_force",
    "effective_at",
    "set_at",
    "set_by",
    "reason",
    "source",
    "cleared_at",
    "cleared_by",
    "clear_reason",
}


def _json(result: CliResult) -> Any:
    assert result.code == 0, result.stderr
    return json.loads(result.stdout)


def _flag(cli: Cli, *args: str) -> CliResult:
    return cli("borrower", "flag", *args)


def _subject(url: str, borrower: str = "B1") -> list[audit.AuditEntry]:
    with UnitOfWork(url) as uow:
        return audit.entries(uow, subject=f"borrower:{borrower}")


def test_set_show_clear_show(loaded: str, cli: Cli) -> None:
    by = ("--by", "ops.wang", "--reason", "borrower said so on the phone")
    work = _json(_flag(cli, "B1", "--set", "work_number", "--value", WORK, *by, "--json"))
    assert work == {"action": "set", "borrower_id": "B1", "flag": "work_number", "ids": [1], "changed": True}
    cease = _flag(cli, "B1", "--set", "cease", "--channel", "sms", *by)
    assert cease.code == 0 and "borrower B1: set cease on sms (flag 2)" in cease.stdout
    hardship = _flag(cli, "B1", "--set", "hardship", "--debt", "L1", "--until", "2199-12-31", *by)
    assert hardship.code == 0, hardship.stderr
    past = _flag(cli, "B1", "--set", "attorney", "--value", "金诚律师事务所", "--effective-at",
                 "2026-01-05T09:00:00+08:00", *by)  # fmt: skip
    assert past.code == 0, past.stderr

    view = _json(cli("borrower", "show", "B1", "--json"))
    assert set(view) == {"borrower", "at", "in_force", "history"}
    assert view["borrower"]["id"] == "B1"
    assert view["borrower"]["name"] == "张*" and view["borrower"]["phone"] == "138****5678"
    assert [r["flag"] for r in view["in_force"]] == ["attorney", "work_number", "cease", "hardship"]
    for row in view["history"]:
        assert set(row) == ROW_KEYS
        assert (row["set_by"], row["source"], row["in_force"]) == ("ops.wang", "cli", True)
    by_flag = {r["flag"]: r for r in view["in_force"]}
    assert by_flag["work_number"]["value"] == "021****8888"
    assert (by_flag["cease"]["channel"], by_flag["cease"]["debt"]) == ("sms", None)
    assert (by_flag["hardship"]["debt"], by_flag["hardship"]["until"]) == ("L1", "2199-12-31")
    assert by_flag["attorney"]["effective_at"] == "2026-01-05T01:00:00+00:00"
    table = cli("borrower", "show", "B1")
    assert table.code == 0 and "In force" in table.stdout and "History" in table.stdout
    for text in (json.dumps(view, ensure_ascii=False), table.stdout):
        assert PHONE not in text and WORK not in text and "张三" not in text

    again = _json(_flag(cli, "B1", "--set", "cease", "--channel", "sms", *by, "--json"))
    assert (again["changed"], again["ids"]) == (False, [2])  # already in force: nothing new, no audit row
    cleared = _json(_flag(cli, "B1", "--clear", "cease", "--channel", "sms", "--by", "sup.li",
                          "--reason", "consent to SMS recorded", "--json"))  # fmt: skip
    assert cleared == {"action": "clear", "borrower_id": "B1", "flag": "cease", "ids": [2], "changed": True}

    view = _json(cli("borrower", "show", "B1", "--json"))
    assert [r["flag"] for r in view["in_force"]] == ["attorney", "work_number", "hardship"]
    cease_row = next(r for r in view["history"] if r["flag"] == "cease")
    assert cease_row["in_force"] is False
    assert (cease_row["cleared_by"], cease_row["clear_reason"]) == ("sup.li", "consent to SMS recorded")
    assert cease_row["cleared_at"] is not None

    entries = _subject(loaded)
    assert [e.action for e in entries] == ["borrower.flag.set"] * 4 + ["borrower.flag.clear"]
    assert [e.actor for e in entries] == ["ops.wang"] * 4 + ["sup.li"]
    assert entries[0].detail["value"] == "021****8888"  # the audit log holds no full work number
    assert all(e.detail["source"] == "cli" for e in entries)
    verify = cli("audit", "verify")
    assert verify.code == 0, verify.stdout


def test_show_of_a_borrower_without_facts_and_of_an_unknown_one(loaded: str, cli: Cli) -> None:
    view = _json(cli("borrower", "show", "B2", "--json"))
    assert (view["in_force"], view["history"]) == ([], [])
    assert "no facts recorded" in cli("borrower", "show", "B2").stdout
    unknown = cli("borrower", "show", "B9")
    assert unknown.code == 2 and "B9" in unknown.stderr and "Traceback" not in unknown.stderr


BY = ("--by", "ops", "--reason", "why")


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (("B1", "--set", "snooze", *BY), "unknown flag 'snooze'"),
        (("B1", "--set", "deceased", "--channel", "sms", *BY), "--channel"),
        (("B1", "--set", "opt_out", *BY), "--channel"),
        (("B1", "--set", "opt_out", "--channel", "pigeon", *BY), "--channel"),
        (("B1", "--set", "cease", "--reason", "why"), "--by"),
        (("B1", "--set", "cease", "--by", "ops"), "--reason"),
        (("B1", "--set", "cease", "--by", " ", "--reason", "why"), "--by"),
        (("B9", "--set", "cease", *BY), "no borrower 'B9'"),
        (("B1", "--set", "cease", "--clear", "cease", *BY), "--set/--clear"),
        (("B1", *BY), "--set/--clear"),
        (("B1", "--clear", "cease", *BY), "no cease in force"),
        (("B1", "--set", "work_number", *BY), "--value"),
        (("B1", "--set", "cease", "--until", "2026-05-01", *BY), "--until"),
        (("B1", "--set", "hardship", "--until", "2026-02-30", *BY), "--until"),
        (("B1", "--clear", "hardship", "--until", "2026-05-01", *BY), "--until"),
        (("B1", "--set", "hardship", "--debt", "L9", *BY), "--debt"),
        (("B1", "--set", "hardship", "--debt", "L2", *BY), "--debt"),  # B2's loan
        (("B1", "--set", "cease", "--effective-at", "2026-01-05T09:00", *BY), "--effective-at"),
        (("B1", "--set", "cease", "--effective-at", "tomorrow", *BY), "--effective-at"),
    ],
)
def test_bad_input_exits_2_naming_the_field(loaded: str, cli: Cli, args: tuple[str, ...], named: str) -> None:
    before = counts(loaded)
    result = _flag(cli, *args)
    assert result.code == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert named in lines[0], lines[0]
    assert counts(loaded) == before  # nothing written, no audit row


def test_a_value_set_again_with_spaces_around_it_is_the_fact_already_on_file(loaded: str, cli: Cli) -> None:
    by = ("--by", "ops.wang", "--reason", "the employer's switchboard")
    first = _json(_flag(cli, "B1", "--set", "work_number", "--value", WORK, *by, "--json"))
    again = _json(_flag(cli, "B1", "--set", "work_number", "--value", f"  {WORK} ", *by, "--json"))
    assert (first["changed"], again["changed"], again["ids"]) == (True, False, first["ids"])
    assert len(_subject(loaded)) == 1  # one change, one audit row
