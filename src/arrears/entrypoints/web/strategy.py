"""Strategy (`/strategy`, strategists, supervisors, admins): the policies with their validation errors at
their line, one policy explained for one account, a dry-run comparison of two policies on the portfolio
(actions per step and channel, lawyer's letters to accidental late payers), the run history, and the KPIs
of a date range with charts (`arrears kpi`)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

import arrears
from arrears.domain.errors import ArrearsError
from arrears.entrypoints.web.charts import bars, line
from arrears.entrypoints.web.desk import profile_of
from arrears.entrypoints.web.rendering import render
from arrears.entrypoints.web.session import PageError, Viewer, page
from arrears.services.daily_run import run_range
from arrears.services.explain import account_treatment
from arrears.services.kpi import compute_kpis

router = APIRouter()
Strategist = Annotated[Viewer, Depends(page("strategy"))]
MAX_COMPARE_DAYS = 14
MAX_KPI_DAYS = 366


def policies_dir() -> Path:
    """./policies, else the policies shipped with the source."""
    here = Path.cwd() / "policies"
    return here if here.is_dir() else Path(arrears.__file__).resolve().parents[2] / "policies"


def policy_files() -> list[Path]:
    return sorted(policies_dir().glob("*.yaml"))


def _load(name: str) -> Any:
    from arrears.adapters.policy_file import load_policy

    files = {p.name: p for p in policy_files()}
    if name not in files:
        raise PageError(400, f"policy: unknown policy {name!r}")
    return load_policy(files[name])


def _validated() -> list[dict[str, Any]]:
    """Each policy file with its id or its first error (file, line, message)."""
    from arrears.adapters.policy_file import load_policy

    out = []
    for path in policy_files():
        try:
            policy = load_policy(path)
            out.append({"file": path.name, "id": policy.id, "error": None, "line": None})
        except ArrearsError as err:
            out.append({"file": path.name, "id": None, "error": str(err), "line": getattr(err, "line", None)})
    return out


def _day(value: str | None, default: date, field: str) -> date:
    if not value:
        return default
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise PageError(400, f"{field}: not a date (YYYY-MM-DD)") from None


def _kpis(who: Viewer, start: date, end: date) -> dict[str, Any] | None:
    if end < start or (end - start).days > MAX_KPI_DAYS:
        raise PageError(400, f"to: at most {MAX_KPI_DAYS} days after from, and not before it")
    found = compute_kpis(who.uow, start, end)
    roll = found.get("roll_rates") or {}
    recovered = found.get("recovered_by_day") or {}
    return {
        "data": found,
        "roll_chart": bars(
            [(k, float((v or {}).get("rate") or 0)) for k, v in roll.items()], percent=True, label="roll rate"
        ),
        "recovery_chart": line(
            [(k, float(v)) for k, v in sorted(recovered.items())], label="recovered by day"
        ),
    }


def _page(request: Request, who: Viewer, **extra: Any) -> Response:
    today = who.now.date()
    start = _day(request.query_params.get("from"), today - timedelta(days=30), "from")
    end = _day(request.query_params.get("to"), today, "to")
    return render(
        request,
        "strategy.html",
        who=who,
        policies=_validated(),
        runs=who.uow.run_log.runs(20),
        kpi=_kpis(who, start, end),
        start=start,
        end=end,
        today=today,
        **extra,
    )


@router.get("/strategy")
def strategy_page(request: Request, who: Strategist) -> Response:
    return _page(request, who)


@router.post("/strategy/compare")
def compare(
    request: Request,
    who: Strategist,
    first: Annotated[str, Form(max_length=200)],
    second: Annotated[str, Form(max_length=200)],
    as_of: Annotated[str, Form(max_length=10)] = "",
    days: Annotated[int, Form(ge=1, le=MAX_COMPARE_DAYS)] = 1,
    csrf: Annotated[str, Form()] = "",
) -> Response:
    """Both policies over the last `days` days up to as_of, planned but not written (a dry run)."""
    who.check_csrf(csrf)
    end = _day(as_of, who.now.date(), "as_of")
    start = end - timedelta(days=days - 1)
    profile = profile_of(request)
    results = []
    for name in (first, second):
        policy = _load(name)
        ran = run_range(request.app.state.store_url, start, end, policy, profile, dry_run=True)
        steps: dict[str, int] = {}
        channels: dict[str, int] = {}
        for d in ran:
            for k, v in d.counts["steps"].items():
                steps[k] = steps.get(k, 0) + v
            for k, v in d.counts["channels"].items():
                channels[k] = channels.get(k, 0) + v
        results.append(
            {
                "file": name,
                "id": policy.id,
                "planned": sum(d.planned for d in ran),
                "steps": dict(sorted(steps.items())),
                "channels": dict(sorted(channels.items())),
                "letters": channels.get("lawyer_letter", 0),
                "accidental": sum(d.counts["accidental_late_payers"]["lawyer_letter"] for d in ran),
            }
        )
    return _page(request, who, comparison={"start": start, "end": end, "results": results})


@router.post("/strategy/explain")
def explain(
    request: Request,
    who: Strategist,
    policy: Annotated[str, Form(max_length=200)],
    loan_id: Annotated[str, Form(max_length=64)],
    as_of: Annotated[str, Form(max_length=10)] = "",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    """What the policy decides for one account on a day, and why (the reference engine)."""
    who.check_csrf(csrf)
    day = _day(as_of, who.now.date(), "as_of")
    try:
        treatment = account_treatment(who.uow, _load(policy), loan_id.strip(), day)
    except ArrearsError as err:
        return _page(request, who, explain_error=str(err))
    return _page(request, who, explained=treatment.to_dict())
