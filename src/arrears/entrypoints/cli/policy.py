"""`arrears policy validate | explain | features | sql`: collection policies from the shell.

Exit codes: 0 success, 2 bad input (the message names the file, line and field).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.markup import escape

from arrears.adapters.policy_file import load_policy
from arrears.adapters.yamlfile import load_document
from arrears.domain.errors import InputError
from arrears.domain.expressions import DIALECTS
from arrears.domain.features import FEATURES, format_feature_value, parse_feature_row
from arrears.domain.policy import Check, Policy, PolicySql, Treatment, decide
from arrears.entrypoints.cli.console import EXIT_BAD_INPUT, console, fail, print_json
from arrears.entrypoints.cli.language import _
from arrears.entrypoints.cli.output import Column, fitted_table, money

policy_app = typer.Typer(
    help="Collection policies: validate them, explain a decision, list the features conditions can use.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(policy_app, name="policy")


def policy_summary(policy: Policy) -> dict[str, Any]:
    """What a policy holds, for `validate --json` and for run records."""
    return {
        "file": policy.source,
        "ok": True,
        "id": policy.id,
        "name": policy.name,
        "version": policy.version,
        "content_hash": policy.content_hash,
        "description": policy.description,
        "compliance_profile": policy.compliance_profile,
        "currency": policy.currency,
        "products": sorted(policy.products),
        "segments": [
            {
                "name": s.name,
                "when": s.condition.text if s.condition else "",
                "ladder": s.ladder,
                "pause": s.pause,
            }
            for s in policy.segments
        ],
        "ladders": {name: len(ladder.steps) for name, ladder in policy.ladders.items()},
        "jumps": [{"id": j.id, "when": j.condition.text, "channel": j.step.channel} for j in policy.jumps],
        "experiments": [
            {
                "name": e.name,
                "segment": e.segment,
                "arms": [{"name": a.name, "weight": a.weight_bp / 100, "ladder": a.ladder} for a in e.arms],
            }
            for e in policy.experiments
        ],
        "templates": policy.templates(),
        "warnings": policy.warnings(),
    }


@policy_app.command("validate")
def validate(
    files: list[Path] = typer.Argument(..., help="Policy files (YAML or JSON)."),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON list, one object per file."),
) -> None:
    """Check policy files: exit 0 with a summary, or exit 2 naming the file, line and problem."""
    results: list[dict[str, Any]] = []
    for file in files:
        try:
            policy = load_policy(file)
        except InputError as err:
            results.append({"file": str(file), "ok": False, "error": err.to_dict()})
            if not json_out:
                fail(err)
            continue
        results.append(policy_summary(policy))
        if not json_out:
            _render_summary(policy)
    if json_out:
        print_json(results)
    if not all(r["ok"] for r in results):
        raise typer.Exit(EXIT_BAD_INPUT)


def _count(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _render_summary(policy: Policy) -> None:
    steps = sum(len(ladder.steps) for ladder in policy.ladders.values())
    console.print(
        f"[green]ok[/] {escape(policy.source)}  [bold]{escape(policy.id)}[/]  sha256:{policy.content_hash[:12]}  "
        f"{_count(len(policy.segments), 'segment')}, {_count(len(policy.ladders), 'ladder')} "
        f"({_count(steps, 'step')}), {_count(len(policy.jumps), 'jump')}, "
        f"{_count(len(policy.experiments), 'experiment')}",
        highlight=False,
    )
    rows = []
    for seg in policy.segments:
        exp = policy.experiment_for(seg.name)
        treatment = _("pause") if seg.pause else seg.ladder
        if exp is not None:
            treatment = " / ".join(f"{a.name} {a.weight_bp / 100:g}% {a.ladder}" for a in exp.arms)
        condition = seg.condition.text if seg.condition else _("(everyone else)")
        rows.append([escape(seg.name), escape(condition), escape(treatment)])
    columns = [Column(_("segment"), "key"), Column(_("when")), Column(_("treatment"))]
    console.print(fitted_table(columns, rows, console=console, box=None, padding=(0, 2)))
    for warning in policy.warnings():
        console.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False)


FEATURES_FILE_KEYS = {"account_id", "sent", "features"}


@policy_app.command("explain")
def explain(
    file: Path = typer.Argument(..., help="Policy file."),
    features: Path | None = typer.Option(
        None, "--features", help="YAML/JSON: {account_id?, sent?: [step ids], features: {name: value}}."
    ),
    account: str | None = typer.Option(None, "--account", help="Account (loan) id."),
    as_of: str | None = typer.Option(
        None, "--as-of", help="With --account: compute the features of the stored account on this day."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Segment, why, early-warning score, experiment arm and the steps due — for a stored account on a day
    (--account ID --as-of D), or for features given literally (--features FILE)."""
    policy = load_policy(file)
    if as_of is not None or features is None:
        from arrears.entrypoints.cli.console import parse_as_of
        from arrears.services.explain import account_scores, account_treatment
        from arrears.services.unit_of_work import UnitOfWork

        if account is None or as_of is None:
            raise InputError("give --account ID --as-of D, or --features FILE", field="--account")
        day = parse_as_of(as_of)
        with UnitOfWork() as uow:
            treatment = account_treatment(uow, policy, account, day)
            scores = account_scores(uow, policy, account, day)
        if json_out:
            print_json({**treatment.to_dict(policy.currency), "scores": scores})
        else:
            render_treatment(treatment, policy.currency)
            for s in scores:  # the active risk models (docs/models.md)
                reasons = ", ".join(f"{r['feature']}={r['value']}" for r in s["reasons"]) or "none"
                console.print(f"score.{s['target']} = {s['score']:.4f} ({s['model_id']}); reasons: {reasons}")
        return
    doc = load_document(features)
    try:
        account_id, row, sent = _read_features(doc.data, policy.currency)
    except InputError as err:
        raise doc.locate(err) from None
    treatment = decide(policy, account or account_id, row, sent)
    if json_out:
        print_json(treatment.to_dict(policy.currency))
    else:
        render_treatment(treatment, policy.currency)


def _read_features(data: object, currency: str) -> tuple[str, dict[str, Any], list[str]]:
    if not isinstance(data, dict):
        raise InputError("a features file must be a mapping with a `features:` mapping")
    unknown = sorted(set(data) - FEATURES_FILE_KEYS)
    if unknown:
        raise InputError(f"unknown key {unknown[0]!r} (use: account_id, sent, features)", field=unknown[0])
    raw = data.get("features") or {}
    if not isinstance(raw, dict):
        raise InputError("must be a mapping of feature names to values", field="features")
    for name in raw:
        feature = FEATURES.get(str(name))
        if feature is not None and feature.computed_by_policy:
            raise InputError(
                f"{name} is computed by the policy's points table: leave it out", field=f"features.{name}"
            )
    try:
        row = parse_feature_row(raw, currency)
    except InputError as err:
        raise InputError(err.message, field=f"features.{err.field}") from None
    sent = data.get("sent") or []
    if not isinstance(sent, list) or not all(isinstance(s, str) for s in sent):
        raise InputError("must be a list of step ids", field="sent")
    return str(data.get("account_id", "account")), row, sent


def _mark(held: bool) -> str:
    return "[green]✓[/]" if held else "[red]✗[/]"


def _render_check(check: Check, indent: str = "  ") -> None:
    text = check.condition or "(no condition: everyone else)"
    console.print(
        f"{indent}{_mark(check.held)} [bold]{escape(check.name)}[/]: {escape(text)}", highlight=False
    )
    if len(check.parts) > 1:
        for part, held in check.parts:
            console.print(f"{indent}    {_mark(held)} {escape(part)}", highlight=False)


def render_treatment(treatment: Treatment, currency: str = "CNY") -> None:
    """A readable account of one decision: segment and why, score, arm, steps due (for people)."""
    t = treatment
    offset = t.features.get("day_offset")
    console.print(
        f"policy [bold]{escape(t.policy_id)}[/] · account {escape(t.account_id)} · day offset {offset} · "
        f"dpd {t.features.get('dpd')} · overdue {money(int(t.features.get('overdue_total', 0)), currency)}",
        highlight=False,
    )
    where = "[yellow]paused: no collection actions[/]" if t.paused else f"ladder [bold]{escape(t.ladder)}[/]"
    if t.experiment:
        where += f" (experiment {escape(t.experiment)}, arm [bold]{escape(t.arm)}[/])"
    console.print(f"segment [bold]{escape(t.segment)}[/] → {where}", highlight=False)
    console.print("why (segments in order, the first that holds wins):")
    for check in t.segment_checks:
        _render_check(check)
    console.print(f"early warning: score [bold]{t.ews_score}[/], level [bold]{t.ews_level}[/]")
    for line in t.ews_lines:
        console.print(f"  {_mark(line.check.held)} {line.points:+d}  {escape(line.label)}", highlight=False)
    if not t.actions:
        console.print("due today: nothing")
    else:
        console.print("due today:")
        for action in t.actions:
            s = action.step
            extra = f" · requires {', '.join(s.requires)}" if s.requires else ""
            console.print(
                f"  [bold]{escape(s.id)}[/] ({action.kind}) {s.channel} · {escape(s.template)} · {s.tone}{escape(extra)}",
                highlight=False,
            )
            if action.check.condition:
                _render_check(action.check, "      ")


@policy_app.command("features")
def features_command(json_out: bool = typer.Option(False, "--json", help="Print one JSON list.")) -> None:
    """The features conditions can read: type, default when unknown, meaning."""
    rows = [
        {
            "name": f.name,
            "type": f.type.value,
            "default": format_feature_value(f.name, f.default),
            "default_when": f.default_when,
            "values": list(f.values),
            "computed_by_policy": f.computed_by_policy,
            "description": f.description,
        }
        for f in FEATURES.values()
    ]
    if json_out:
        print_json(rows)
        return
    columns = [
        Column(_("feature"), "key"),
        Column(_("type"), drop=2),
        Column(_("default"), drop=1),
        Column(_("description")),
    ]
    cells = [
        [r["name"], r["type"], escape(f"{r['default']} ({r['default_when']})"), escape(r["description"])]
        for r in rows
    ]
    console.print(fitted_table(columns, cells, console=console, box=None, padding=(0, 2)))


@policy_app.command("sql")
def sql_command(
    file: Path = typer.Argument(..., help="Policy file."),
    dialect: str = typer.Option("duckdb", "--dialect", help="duckdb or spark."),
    query: str = typer.Option("actions", "--query", help="assignment (one row per account) or actions."),
    source: str = typer.Option(
        "features", "--source", help="Relation holding one row of features per account."
    ),
    account_column: str = typer.Option(
        "account_id", "--account-column", help="Account id column of the source."
    ),
    history: str | None = typer.Option(None, "--history", help="Relation (account, step_id) already sent."),
) -> None:
    """Print the SQL the vectorised engines run for this policy."""
    if dialect not in DIALECTS:
        raise InputError(f"--dialect must be one of {', '.join(DIALECTS)}", field="--dialect")
    if query not in ("assignment", "actions"):
        raise InputError("--query must be assignment or actions", field="--query")
    plan = PolicySql(load_policy(file), DIALECTS[dialect], account_column)
    text = plan.assignment_query(source) if query == "assignment" else plan.actions_query(source, history)
    typer.echo(text)
