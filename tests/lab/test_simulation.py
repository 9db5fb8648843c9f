"""`sim run` end to end on a small portfolio: production services, determinism, arms, the CLI."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select

from arrears.adapters.policy_file import load_policy
from arrears.adapters.profile_file import load_profile
from arrears.adapters.store import forget_engines
from arrears.adapters.store.casework_models import DisputeRow, PromiseRow
from arrears.adapters.store.dispatch_models import ContactAttemptRow
from arrears.adapters.store.models import PaymentRow
from arrears.adapters.store.run_models import OutboxRow
from arrears.sim.behaviour import AccountDay, BehaviourModel, Contact, load_behaviour
from arrears.sim.simulation import simulate

ROOT = Path(__file__).resolve().parents[2]
SEGMENTED = ROOT / "policies" / "segmented.yaml"
JD = ROOT / "policies" / "jd-baitiao-11day.yaml"


def _simulate(tmp_path: Path, name: str, seed: int, policy: Path = SEGMENTED) -> dict:
    chosen = load_policy(policy)
    url = f"sqlite:///{tmp_path / name}.db"
    result = simulate(
        chosen, load_profile(chosen.compliance_profile), days=12, seed=seed, borrowers=120, url=url
    )
    forget_engines()
    return {"kpis": result.kpis, "days": [d.to_dict() for d in result.days], "url": url}


def _count(url: str, query: object) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as c:
            return int(c.execute(query).scalar_one())  # type: ignore[call-overload]
    finally:
        engine.dispose()


def test_same_seed_same_numbers_and_everything_went_through_the_store(tmp_path: Path) -> None:
    first = _simulate(tmp_path, "a", 7)
    again = _simulate(tmp_path, "b", 7)
    other = _simulate(tmp_path, "c", 8)
    assert first["kpis"] == again["kpis"] and first["days"] == again["days"]
    assert first["kpis"] != other["kpis"]
    k, url = first["kpis"], first["url"]
    assert k["from"] == "2026-03-02" and k["to"] == "2026-03-13"
    # the KPIs read what the services wrote
    sim_payments = _count(
        url, select(func.count()).select_from(PaymentRow).where(PaymentRow.paid_on >= date(2026, 3, 2))
    )
    assert sim_payments == sum(d["payments"] for d in first["days"]) > 0
    assert _count(url, select(func.count()).select_from(ContactAttemptRow)) >= k["contacts"] > 0
    assert k["outbox_statuses"]["sent"] == sum(d["sent"] for d in first["days"])
    complaints = _count(
        url, select(func.count()).select_from(DisputeRow).where(DisputeRow.kind == "complaint")
    )
    assert complaints == k["complaints"] == sum(d["complaints"] for d in first["days"])
    promises = _count(url, select(func.count()).select_from(PromiseRow).where(PromiseRow.created_by == "sim"))
    assert promises == sum(d["promises"] for d in first["days"])
    # champion / challenger: the outbox rows of the experiment's segment carry their arm
    arms = _count(url, select(func.count(func.distinct(OutboxRow.arm))).where(OutboxRow.arm != ""))
    assert arms == 2
    assert k["arms"]["accidental-self-serve-2026/champion"]["loans"] > 0


def test_legal_threats_reach_accidental_late_payers_only_under_the_11_day_ladder(tmp_path: Path) -> None:
    jd = _simulate(tmp_path, "jd", 3, JD)["kpis"]
    segmented = _simulate(tmp_path, "seg", 3, SEGMENTED)["kpis"]
    assert jd["accidental_late_payers"] > 0
    assert jd["accidental_with_legal_threat"] > segmented["accidental_with_legal_threat"]


def test_behaviour_reacts_to_tone_and_persona() -> None:
    params = load_behaviour()
    model = BehaviourModel(params, 1, {f"L{i}": i for i in range(4000)})
    legal = (Contact("sms", "legal"),)
    gentle = (Contact("sms", "gentle"),)

    def pay_share(persona: str, contacts: tuple[Contact, ...]) -> float:
        accounts = [AccountDay(f"L{i}", f"B{i}", persona, 20, 10000, contacts=contacts) for i in range(4000)]
        paid = [r for r in model.react(date(2026, 3, 5), accounts) if r.kind == "pay"]
        return len(paid) / len(accounts)

    # strategic defaulters move for a legal threat, barely for a gentle reminder
    assert pay_share("strategic", legal) > 5 * pay_share("strategic", gentle)
    # accidental late payers pay after a plain reminder about as well as after a threat ...
    assert pay_share("forgetful", gentle) >= pay_share("forgetful", legal)
    # ... but complain far more after the threat
    b = params.personas["forgetful"]
    day = AccountDay("L1", "B1", "forgetful", 11, 10000)
    threat = model.complaint_chance(AccountDay(**{**_fields(day), "contacts": legal}), b)[0]
    plain = model.complaint_chance(AccountDay(**{**_fields(day), "contacts": gentle}), b)[0]
    assert threat == pytest.approx(0.02) and plain == pytest.approx(0.0005)
    # over-contact: 10 contacts this week (4 over the free 6) raise the complaint chance by 4 × 35 %
    busy = model.complaint_chance(AccountDay(**{**_fields(day), "contacts": gentle, "contacts_7d": 10}), b)[0]
    assert busy == pytest.approx(0.0005 * 2.4)


def _fields(a: AccountDay) -> dict:
    return {f: getattr(a, f) for f in AccountDay.__slots__}


def test_cli_sim_run_then_kpi(lab_cli: Callable[..., tuple[int, str, str]], tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    code, out, err = lab_cli(
        "sim", "run", "--policy", str(SEGMENTED), "--days", "5", "--seed", "2", "--borrowers", "50",
        "--db", url, "--json",
    )  # fmt: skip
    assert code == 0, err
    result = json.loads(out)
    assert result["db"] == url and len(result["days"]) == 5
    forget_engines()
    code, out, err = lab_cli(
        "kpi", "--from", "2026-03-02", "--to", "2026-03-06", "--db", url, "--policy", str(SEGMENTED), "--json"
    )
    assert code == 0, err
    assert json.loads(out) == result["kpis"]
    # bad input: one line, exit 2
    code, _, err = lab_cli("kpi", "--from", "2026-03-10", "--to", "2026-03-01", "--db", url)
    assert code == 2 and "before --from" in err
    code, _, err = lab_cli("sim", "run", "--days", "0")
    assert code == 2 and "--days" in err
    code, _, err = lab_cli("sim", "compare", str(SEGMENTED), "--seeds", "1")
    assert code == 2 and "at least two" in err
