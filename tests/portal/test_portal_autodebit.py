"""Auto-debit retries after a failed debit: on the product's days (+1, +3 by default), never more than N, none
after the borrower chose to pay by hand in the portal; each try a contact attempt (channel autodebit), a paid
one booked as a payment; the ladder held (a hardship hold on the loan) while a retry is pending."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from arrears.domain.autodebit import DebitCycle, RetryRules, next_retry, retry_due
from arrears.domain.records import AccountEvent
from arrears.services.accounts import show_account
from arrears.services.unit_of_work import UnitOfWork
from tests.conftest import CliResult
from tests.portal.provider import PayWorld, pay_world
from tests.web.sample import TODAY, Clock

FAILED_ON = TODAY - timedelta(days=1)


@given(
    days=st.lists(st.integers(0, 30), min_size=1, max_size=5, unique=True).map(sorted),
    max_attempts=st.integers(0, 6),
    outcomes=st.lists(st.booleans(), max_size=40),
    manual_after=st.one_of(st.none(), st.integers(0, 30)),
)
def test_retries_follow_the_schedule_and_stop_when_paid_used_up_or_the_borrower_pays_by_hand(
    days: list[int], max_attempts: int, outcomes: list[bool], manual_after: int | None
) -> None:
    rules = RetryRules(tuple(days), max_attempts)
    failed_on = date(2026, 3, 1)
    cycle = DebitCycle(failed_on)
    results = iter(outcomes)
    for offset in range(31):
        today = failed_on + timedelta(days=offset)
        if manual_after is not None and offset == manual_after:
            cycle = DebitCycle(cycle.failed_on, cycle.retries, today)
        if retry_due(cycle, rules, today):
            assert cycle.manual_on is None  # never after the borrower chose to pay by hand
            assert today - failed_on == timedelta(days=rules.schedule[len(cycle.retries)])
            cycle = DebitCycle(
                cycle.failed_on, [*cycle.retries, (today, next(results, False))], cycle.manual_on
            )
    assert len(cycle.retries) <= min(max_attempts, len(days))
    assert sum(paid for _, paid in cycle.retries) <= 1 and all(not p for _, p in cycle.retries[:-1])
    assert next_retry(cycle, rules) is None or cycle.manual_on is None


@pytest.fixture
def world(
    sample_store: str, clock: Clock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[PayWorld]:
    with pay_world(sample_store, clock, tmp_path) as found:
        for name, value in found.env.items():
            monkeypatch.setenv(name, value)
        with UnitOfWork(sample_store) as uow:  # the lender's file says L1's debit failed yesterday
            uow.events.add(
                AccountEvent("imp:L1:adf", "L1", "autodebit_failed", FAILED_ON, detail={"source": "import"})
            )
            uow.commit()
        yield found


def retry(cli: Callable[..., CliResult], day: date) -> list[dict[str, object]]:
    done = cli("payments", "autodebit", "--as-of", day.isoformat(), "--json")
    assert done.code == 0, done.stderr
    return list(json.loads(done.stdout)["retries"])


def holds(store_url: str) -> list[tuple[str, object]]:
    """L1's open auto-debit holds: (loan, until)."""
    with UnitOfWork(store_url) as uow:
        return [
            (row["debt"], row["until"])
            for row in uow.flags.history("B1")
            if row["source"] == "autodebit" and row["cleared_at"] is None
        ]


def attempts(store_url: str) -> list[str]:
    with UnitOfWork(store_url) as uow:
        history = uow.activity.contact_history(
            ["B1"], Clock().now - timedelta(days=30), Clock().now + timedelta(days=30)
        )
    return [c.outcome for c in history["B1"] if c.channel == "autodebit"]


def test_a_failed_retry_holds_the_ladder_until_the_next_and_the_next_one_pays(
    world: PayWorld, sample_store: str, cli: Callable[..., CliResult]
) -> None:
    world.sim.debit_results = [False]  # day +1 fails, day +3 pays
    first = retry(cli, TODAY)
    assert [(r["loan_id"], r["paid"]) for r in first] == [("L1", False)]
    assert holds(sample_store) == [("L1", TODAY + timedelta(days=2))]
    assert retry(cli, TODAY + timedelta(days=1)) == []  # nothing due between the retries
    assert holds(sample_store) == [("L1", TODAY + timedelta(days=2))]
    with UnitOfWork(sample_store) as uow:
        owed = show_account(uow, "L1", TODAY + timedelta(days=2)).position.to_dict()["overdue"]["total"]  # type: ignore[index]
    second = retry(cli, TODAY + timedelta(days=2))
    assert [(r["loan_id"], r["paid"], r["amount"]) for r in second] == [("L1", True, owed)]
    assert owed == "3024.00"
    assert holds(sample_store) == []  # nothing pending: the ladder goes on (with nothing overdue)
    assert retry(cli, TODAY + timedelta(days=3)) == []
    assert attempts(sample_store) == ["failed", "paid"]
    assert [d["total_amount"] for d in world.sim.debits] == ["3021.00", "3024.00"]
    with UnitOfWork(sample_store) as uow:
        after = show_account(uow, "L1", TODAY + timedelta(days=2)).position.to_dict()
    assert after["overdue"]["total"] == "0.00"  # type: ignore[index]
    assert [p["amount"] for p in after["payments"] if p["id"].startswith("autodebit:")] == ["3024.00"]  # type: ignore[union-attr]


def test_never_more_than_the_products_attempts(
    world: PayWorld, sample_store: str, cli: Callable[..., CliResult], tmp_path: Path
) -> None:
    world.sim.debit_results = [False] * 10
    rules = tmp_path / "autodebit.yaml"
    rules.write_text("default: {retry_days: [1, 2, 3, 5], max_attempts: 3}\n")
    for offset in range(8):
        cli(
            "payments",
            "autodebit",
            "--as-of",
            (TODAY + timedelta(days=offset)).isoformat(),
            "--rules",
            str(rules),
        )
    assert attempts(sample_store) == ["failed"] * 3
    assert holds(sample_store) == []


def test_no_retry_after_the_borrower_chose_to_pay_by_hand(
    world: PayWorld, sample_store: str, cli: Callable[..., CliResult]
) -> None:
    with UnitOfWork(sample_store) as uow:  # "my auto-debit failed" in the portal
        uow.events.add(AccountEvent("p:L1", "L1", "autodebit_failed", TODAY, detail={"source": "portal"}))
        uow.commit()
    for offset in range(4):
        assert retry(cli, TODAY + timedelta(days=offset)) == []
    assert world.sim.debits == [] and attempts(sample_store) == []


def test_bad_rules_name_the_file_and_field(
    world: PayWorld, cli: Callable[..., CliResult], tmp_path: Path
) -> None:
    rules = tmp_path / "bad.yaml"
    rules.write_text("products:\n  BT: {retry_days: [3, 1]}\n")
    done = cli("payments", "autodebit", "--as-of", TODAY.isoformat(), "--rules", str(rules))
    assert done.code == 2 and "bad.yaml" in done.stderr and "products.BT.retry_days" in done.stderr
