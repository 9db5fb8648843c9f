"""One decision everywhere: for generated debtors with stored facts and contact histories, the decision the
daily run writes on the outbox row (plan time), the dispatcher's send-time decision at the same instant,
and `arrears compliance check` on the equivalent document agree.

The store is real (SQLite): facts go in as borrower_flags rows, the history as contact_attempts rows; the
plan side is `daily_run.compliance_statuses` (the run's filter), the send side `dispatch.read_facts` +
`dispatch.send_time_decision` (what `dispatch_row` calls under the borrower lock).
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, insert

from arrears.adapters.channels.config import load_channels_config
from arrears.adapters.store.dispatch_models import BorrowerFlagRow, ContactAttemptRow
from arrears.adapters.store.snapshot import snapshot
from arrears.bootstrap import make_dispatcher
from arrears.domain.compliance.clock import at_local_time, zone
from arrears.engine.evaluation import ACTION_SCHEMA, ASSIGNMENT_SCHEMA, Evaluation
from arrears.entrypoints.cli.compliance import load_profile
from arrears.entrypoints.cli.run import load_run_policy
from arrears.services.daily_run import PLANNED_LOCAL_TIME, compliance_statuses
from arrears.services.dispatch import read_facts, send_time_decision
from arrears.services.imports import import_file
from arrears.services.unit_of_work import UnitOfWork

DAY = date(2026, 3, 10)
PEOPLE = {  # borrower → (zone, phone)
    "B0": ("Asia/Shanghai", "13800000000"),
    "B1": ("America/New_York", "13800000001"),
    "B2": (None, "13800000002"),
}
WORK = "13900000009"
STATUS = {"pending": "allow", "deferred": "defer", "blocked": "block"}

flag = st.sampled_from(
    [
        ("cease", "", "", ""),
        ("cease", "sms", "", ""),
        ("opt_out", "sms", "", ""),
        ("opt_out", "robocall", "", ""),
        ("consent", "sms", "", ""),
        ("dispute", "", "", ""),
        ("dispute", "", "other", ""),  # a dispute of another debt holds nothing here
        ("identity_theft", "", "", ""),
        ("hardship", "", "", "until"),
        ("unreachable", "", "", ""),
        ("validation_notice", "", "", ""),
        ("work_number", "", "", "phone"),
        ("employer_prohibits_contact", "", "", ""),
        ("time_barred", "", "", ""),
        ("deceased", "", "", ""),
        ("bankruptcy", "", "", ""),
        ("attorney", "", "", "value"),
    ]
)
event = st.tuples(
    st.integers(min_value=-5 * 24 * 60, max_value=-1),  # minutes before the planned instant
    st.sampled_from(["call", "robocall", "agent_call", "sms", "email"]),
    st.sampled_from(["connected", "conversation", "no_answer", "busy", "delivered", "sent", "unknown"]),
    st.sampled_from(["reminder", "validation_notice", None]),
    st.booleans(),  # to the phone on file (else the work number)
)
person = st.tuples(
    st.lists(st.tuples(flag, st.integers(min_value=1, max_value=20 * 24 * 60)), max_size=3),
    st.lists(event, max_size=8),
    st.sampled_from(["sms", "robocall", "agent_call", "email"]),
)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('one') / 'one.db'}"
    rows = [
        {
            "loan_id": f"L{b[1]}",
            "borrower_id": b,
            "product": "baitiao-3",
            "currency": "CNY",
            "seq": "1",
            "due_date": "2026-02-20",
            "principal": "1000.00",
            "phone": phone,
            "email": f"{b.lower()}@example.test",
            "borrower_name": "王小明",
            "timezone": tz or "",
        }
        for b, (tz, phone) in PEOPLE.items()
    ] + [
        {
            "loan_id": "Lother",
            "borrower_id": "B0",
            "product": "baitiao-3",
            "currency": "CNY",
            "seq": "1",
            "due_date": "2026-02-20",
            "principal": "10.00",
            "phone": PEOPLE["B0"][1],
            "email": "b0@example.test",
            "borrower_name": "王小明",
            "timezone": "Asia/Shanghai",
        }
    ]
    table = pa.Table.from_pylist(rows)
    with UnitOfWork(url) as uow:
        import_file(uow, "loans", table, name="people.csv")
    return url


def _evaluation(channels: dict[str, str]) -> Evaluation:
    assignments, actions = [], []
    for b in sorted(PEOPLE):
        loan = f"L{b[1]}"
        base = {k: None for k in ASSIGNMENT_SCHEMA.names}
        base.update(loan_id=loan, borrower_id=b, disputed=False, identity_dispute=False, hardship=False)
        assignments.append(base)
        channel = channels[b]
        actions.append(
            {
                "loan_id": loan,
                "kind": "step",
                "step_id": "remind",
                "position": 0,
                "channel": channel,
                "template": f"{channel}/reminder",
                "tone": "regular",
                "requires": "",
                "segment": "s",
                "experiment": "",
                "arm": "",
                "ladder": "l",
            }
        )
    return Evaluation(
        pa.Table.from_pylist(assignments, schema=ASSIGNMENT_SCHEMA),
        pa.Table.from_pylist(actions, schema=ACTION_SCHEMA),
    )


def _document(profile: str, b: str, flags: list, history: list, channel: str, at: datetime) -> dict[str, Any]:
    """The `compliance check` document a compliance officer would write for the same situation."""
    tz, phone = PEOPLE[b]
    debtor: dict[str, Any] = {"id": b, "timezones": [tz] if tz else [], "opted_out": [], "work_numbers": []}
    latest: dict[str, tuple[datetime, str]] = {}
    for (name, ch, debt, _value), set_at in flags:
        if debt:
            continue  # about another debt
        if name == "cease" and ch:
            debtor["opted_out"].append(ch)
        elif name in ("opt_out", "consent"):
            if ch not in latest or set_at >= latest[ch][0]:
                latest[ch] = (set_at, name)
        elif name == "dispute":
            debtor["disputed"] = True
        elif name == "hardship":
            debtor["hardship_until"] = (DAY + timedelta(days=3)).isoformat()
        elif name == "validation_notice":
            debtor["validation_notice_sent_at"] = set_at.isoformat()
        elif name == "work_number":
            debtor["work_numbers"].append(phone)
        elif name == "attorney":
            debtor["represented_by_attorney"] = True
        else:
            debtor[name] = True
    debtor["opted_out"] += [ch for ch, (_, name) in latest.items() if name == "opt_out"]
    target = {"email": f"{b.lower()}@example.test"}.get(channel, phone)
    return {
        "profile": profile,
        "debtor": debtor,
        "history": [
            {
                "channel": c,
                "at": t.isoformat(),
                "outcome": o,
                "target": tg,
                "message_type": m,
                "debt": f"L{b[1]}",
            }
            for c, t, o, m, tg in history
        ],
        "attempt": {
            "channel": channel,
            "at": at.isoformat(),
            "target": target,
            "message_type": "reminder",
            "debt": f"L{b[1]}",
        },
    }


@settings(
    max_examples=25,
    deadline=None,
    phases=(Phase.explicit, Phase.reuse, Phase.generate),  # a store per example: shrinking would take minutes
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(st.sampled_from(["cn", "us-reg-f"]), st.tuples(person, person, person))
def test_plan_dispatch_and_check_agree(
    store: str, cli: Any, tmp_path: Path, profile_name: str, people: tuple
) -> None:
    profile = load_profile(profile_name)
    policy = load_run_policy(None)
    config = load_channels_config(environ={})
    dispatcher = make_dispatcher(store, {}, config, profile)
    docs: dict[str, dict[str, Any]] = {}
    with UnitOfWork(store) as uow:
        uow.connection.execute(delete(BorrowerFlagRow))
        uow.connection.execute(delete(ContactAttemptRow))
        instants: dict[str, datetime] = {}
        for b, (flags, events, channel) in zip(sorted(PEOPLE), people, strict=True):
            tz, phone = PEOPLE[b]
            at = at_local_time(DAY, PLANNED_LOCAL_TIME, zone(tz or profile.unknown_timezones[0]))
            instants[b] = at
            stored_flags = []
            for (name, ch, debt, value), minutes in flags:
                set_at = at - timedelta(minutes=minutes)
                uow.connection.execute(
                    insert(BorrowerFlagRow).values(
                        borrower_id=b,
                        name=name,
                        channel=ch,
                        debt="Lother" if debt else "",
                        value={"phone": phone, "value": "Counsel LLP"}.get(value, ""),
                        until=DAY + timedelta(days=3) if value == "until" else None,
                        effective_at=set_at,
                        set_at=set_at,
                        set_by="t",
                        reason="t",
                        source="test",
                    )
                )
                stored_flags.append(((name, ch, debt, value), set_at))
            history = []
            for minutes, ch, outcome, mtype, on_phone in events:
                when = at + timedelta(minutes=minutes)
                target = phone if on_phone else WORK
                if ch == "email":
                    target = f"{b.lower()}@example.test"
                uow.connection.execute(
                    insert(ContactAttemptRow).values(
                        loan_id=f"L{b[1]}", borrower_id=b, channel=ch, target=target, at=when,
                        outcome=outcome, message_type=mtype or "",
                    )
                )  # fmt: skip
                history.append((ch, when, outcome, mtype, target))
            docs[b] = _document(profile_name, b, stored_flags, history, channel, at)
        evaluation = _evaluation({b: p[2] for b, p in zip(sorted(PEOPLE), people, strict=True)})
        borrowers = snapshot(uow.connection, DAY, ("borrowers",))["borrowers"]
        planned = compliance_statuses(uow, evaluation, borrowers, profile, DAY, policy)
        for b, plan in zip(sorted(PEOPLE), planned, strict=True):
            channel = docs[b]["attempt"]["channel"]
            row = SimpleNamespace(
                id=0, loan_id=f"L{b[1]}", borrower_id=b, channel=channel, template=f"{channel}/reminder",
                as_of=DAY, anchor=None, kind="step", expires_at=None, valid_days=3,
            )  # fmt: skip
            facts = read_facts(uow, [row], instants[b], profile)
            sent = send_time_decision(dispatcher, row, facts.borrowers.get(b), facts, instants[b])
            file = tmp_path / f"{b}.json"
            file.write_text(json.dumps(docs[b]), encoding="utf-8")
            code, out, err = cli("compliance", "check", str(file), "--json")
            assert code in (0, 1), err
            checked = json.loads(out)
            assert STATUS[plan.status] == sent.decision == checked["decision"], (b, plan, sent.rules, docs[b])
            assert list(sent.rules) == checked["rules"], (b, docs[b])
            assert (plan.rules.split(",") if plan.rules else []) == list(sent.rules), (plan, sent)
            assert plan.next_allowed_at == sent.next_allowed_at
        uow.rollback()
