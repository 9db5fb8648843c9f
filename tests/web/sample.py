"""A sample store for the console's tests, built through the production paths: loans through the API's
loan import, the jd-baitiao-11day policy's daily runs (a lawyer's letter held for legal review at 11 days
past due, an agent call at 14), a dispatch pass that queues the call as an agent task, cases refreshed,
an agency with one placed loan, and one user per role."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa

from arrears.domain.compliance.clock import zone
from arrears.domain.staff import NewStaffUser
from arrears.services import agencies, cases
from arrears.services import imports as importing
from arrears.services.staff import create_user
from arrears.services.unit_of_work import UnitOfWork

SHANGHAI = zone("Asia/Shanghai")
POLICIES = Path(__file__).resolve().parents[2] / "policies"
PASSWORD = "correct horse battery"
DUE = date(2026, 1, 10)
TODAY = date(2026, 1, 24)  # 14 days past due
LOANS = {
    # loan: (borrower, name, phone, principal per instalment)
    "L1": ("B1", "张三", "13812345678", "3000.00"),
    "L2": ("B2", "李四", "13912345678", "1000.00"),
    "L3": ("B3", "王五", "13712345678", "500.00"),
}
USERS = {
    "agent1": ("agent", None, ("zh",)),
    "super1": ("supervisor", None, ()),
    "strat1": ("strategist", None, ()),
    "comp1": ("compliance", None, ()),
    "admin1": ("admin", None, ()),
    "agency1": ("agency", "AG1", ()),
}


def at(day: date, hour: int, minute: int = 0) -> datetime:
    """An instant at a wall-clock time in Shanghai."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI)


@dataclass
class Clock:
    """The console's injectable clock (app.state.clock)."""

    now: datetime = field(default_factory=lambda: at(TODAY, 10))

    def __call__(self) -> datetime:
        return self.now


def import_loans(uow: UnitOfWork) -> None:
    rows: dict[str, list[str | None]] = {k: [] for k in (
        "loan_id", "borrower_id", "product", "currency", "seq", "due_date", "principal", "interest", "fees",
        "opened_on", "borrower_name", "phone", "id_number", "language", "timezone",
    )}  # fmt: skip
    for loan_id, (borrower, name, phone, principal) in LOANS.items():
        for seq, due in enumerate((DUE, date(2026, 2, 10), date(2026, 3, 10)), start=1):
            values = (
                loan_id, borrower, "baitiao-3", "CNY", str(seq), due.isoformat(), principal, "0.00", "0.00",
                "2025-12-10", name, phone, "110101199003071233", "zh", "Asia/Shanghai",
            )  # fmt: skip
            for key, value in zip(rows, values, strict=True):
                rows[key].append(value)
    table = pa.table({k: pa.array(v, pa.string()) for k, v in rows.items()})
    importing.import_loans(uow, table, name="sample", actor="test")


def build(store_url: str) -> None:
    from arrears.adapters.channels.agent_tasks import AgentTaskChannel
    from arrears.adapters.channels.config import load_channels_config
    from arrears.adapters.policy_file import load_policy
    from arrears.adapters.profile_file import load_profile
    from arrears.bootstrap import make_dispatcher
    from arrears.services.daily_run import run_range
    from arrears.services.dispatch import dispatch

    with UnitOfWork(store_url) as uow:
        import_loans(uow)
        uow.commit()
    policy = load_policy(POLICIES / "jd-baitiao-11day.yaml")
    profile = load_profile("cn")
    run_range(store_url, date(2026, 1, 21), TODAY, policy, profile)
    # Only the agent queue is configured: the call steps become tasks, the rest waits for its channel.
    dispatcher = make_dispatcher(
        store_url,
        {"agent_call": AgentTaskChannel()},
        load_channels_config(None, environ={}),
        profile,
        now=lambda: at(TODAY, 10),
    )
    dispatch(dispatcher, workers=1)
    with UnitOfWork(store_url) as uow:
        cases.refresh_cases(uow, TODAY, cases.CaseworkConfig().recovery)
        agencies.create_agency(uow, "AG1", "催收一号", "0.15", "test")
        agencies.create_agency(uow, "AG2", "催收二号", "0.15", "test")
        agencies.place(uow, "AG1", ["L3"], TODAY, date(2026, 4, 24), "test")
        agencies.place(uow, "AG2", ["L2"], TODAY, date(2026, 4, 24), "test")
        for name, (role, agency, languages) in USERS.items():
            create_user(uow, NewStaffUser(name, role, agency, languages), PASSWORD, "test", datetime.now(UTC))
        uow.commit()
