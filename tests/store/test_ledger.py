"""Account show on a stored loan, a reversal's effect on the ledger, and the postings check."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from sqlalchemy import insert

from arrears.adapters.store import open_store
from arrears.adapters.store.models import PostingRow
from arrears.adapters.store.repositories import now
from arrears.services import audit
from arrears.services.unit_of_work import UnitOfWork


def test_account_show_json_for_a_stored_loan(loaded: str, cli) -> None:
    result = cli("account", "show", "L1", "--as-of", "2026-03-20", "--json")
    assert result.code == 0, result.stderr
    shown = json.loads(result.stdout)
    assert {k: shown[k] for k in ("loan_id", "dpd", "delinquent_days", "bucket", "oldest_unpaid_due")} == {
        "loan_id": "L1",
        "dpd": 10,
        "delinquent_days": 7,
        "bucket": "M1",
        "oldest_unpaid_due": "2026-03-10",
    }
    # 353.33 overdue × 0.05 % = 0.18 a day, from 11 to 20 March (grace passed unpaid): 1.80
    assert shown["overdue"] == {
        "principal": "333.33",
        "interest": "20.00",
        "fees": "0.00",
        "late_fee": "1.80",
        "total": "355.13",
    }
    assert shown["outstanding"]["total"] == "708.47"
    assert shown["paid"]["total"] == "353.33"
    assert shown["borrower"] == {
        "id": "B1",
        "name": "张*",
        "phone": "138****5678",
        "id_number": "110***********1233",
        "email": "z*@example.com",
        "address": None,  # the file has no address column
        "timezone": "Asia/Shanghai",
        "region": "Beijing",
        "language": "zh-CN",
    }
    assert (shown["product"], shown["pii"], shown["postings_check"]) == (
        "baitiao-3",
        "masked",
        {"ok": True, "problems": []},
    )


def test_account_show_for_people_masks_and_explains(loaded: str, cli) -> None:
    result = cli("account", "show", "L1", "--as-of", "2026-03-20")
    assert result.code == 0
    assert "138****5678" in result.stdout and "13812345678" not in result.stdout
    assert "张*" in result.stdout and "postings: agree with the ledger" in result.stdout


def test_an_unmasked_view_is_audited(loaded: str, cli) -> None:
    result = cli(
        "account", "show", "L1", "--as-of", "2026-03-20", "--json", "--unmasked", "--actor", "agent7"
    )
    shown = json.loads(result.stdout)
    assert (shown["borrower"]["name"], shown["borrower"]["phone"], shown["pii"]) == (
        "张三",
        "13812345678",
        "unmasked",
    )
    with UnitOfWork(loaded) as uow:
        last = audit.entries(uow, limit=1)[0]
        assert audit.verify(uow).ok
    assert (last.actor, last.action, last.subject) == ("agent7", "pii.view", "borrower:B1")
    assert last.detail == {
        "loan_id": "L1",
        "fields": ["name", "phone", "id_number", "email", "address"],
        "view": "account show",
    }


def test_an_unknown_loan_exits_2(loaded: str, cli) -> None:
    result = cli("account", "show", "L404", "--as-of", "2026-03-20")
    assert result.code == 2
    assert "unknown loan 'L404'" in result.stderr


def test_a_reversal_import_changes_the_ledger(store_url: str, files: dict[str, Path], cli) -> None:
    for kind, name in (("loans", "loans"), ("payments", "payments")):
        assert cli("import", kind, str(files[name])).code == 0

    def l2() -> dict:
        return json.loads(cli("account", "show", "L2", "--as-of", "2026-03-01", "--json").stdout)

    before = l2()
    # 800.00 due 15 Feb: 0.40 a day for 16–20 Feb (2.00), paid first from the 500.00 on 20 Feb;
    # then 0.15 a day on the 302.00 left for 21 Feb – 1 Mar (9 days): 1.35
    assert (
        before["outstanding"]["principal"],
        before["outstanding"]["late_fee"],
        before["paid"]["total"],
    ) == (
        "302.00",
        "1.35",
        "500.00",
    )
    reversal = cli("import", "payments", str(files["reversal"]), "--json")
    assert json.loads(reversal.stdout)["reversals"] == 1
    after = l2()
    # the payment never counted: 0.40 a day for 14 days
    assert (after["outstanding"]["principal"], after["outstanding"]["late_fee"], after["paid"]["total"]) == (
        "800.00",
        "5.60",
        "0.00",
    )
    assert after["reversed_payments"] == ["P2"]
    assert after["postings_check"]["ok"] is True


def test_db_check_passes_then_finds_a_posting_that_disagrees(loaded: str, cli) -> None:
    ok = cli("db", "check")
    assert ok.code == 0
    assert "2 loan(s) checked: postings agree with the ledger" in ok.stdout
    with open_store(loaded).begin() as connection:  # a stray posting, as a bad writer would leave it
        connection.execute(
            insert(PostingRow).values(
                loan_id="L1",
                posted_at=now(),
                effective_on=date(2026, 3, 1),
                kind="payment",
                component="payment",
                amount=-100,
                ref="ghost",
            )
        )
    bad = cli("db", "check", "--json")
    assert bad.code == 1
    problems = json.loads(bad.stdout)["problems"]
    assert problems == [
        {"loan_id": "L1", "check": "payment postings", "expected": "-353.33", "found": "-354.33"},
        {"loan_id": "L1", "check": "balance (postings + waivers)", "expected": "706.67", "found": "705.67"},
    ]
    assert cli("db", "check", "--loan", "L2").code == 0
