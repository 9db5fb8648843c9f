"""`arrears compliance check FILE` and `arrears compliance profiles`: the rules engine from the shell.

Exit codes of `check`: 0 allow, 1 defer or block, 2 bad input (the message names file, line and field).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from arrears.adapters.check_document import parse_check_document
from arrears.adapters.profile_file import DEFAULT_PROFILE, load_profile, profiles_dir
from arrears.adapters.yamlfile import load_document
from arrears.domain.compliance import ComplianceDecision, ComplianceProfile, decide
from arrears.domain.compliance.clock import zone
from arrears.domain.errors import InputError
from arrears.entrypoints.cli.console import EXIT_FINDINGS, EXIT_OK, console, print_json
from arrears.entrypoints.cli.language import _, language
from arrears.entrypoints.cli.output import count

compliance_app = typer.Typer(
    help="Check contacts against a jurisdiction's collection rules.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    app.add_typer(compliance_app, name="compliance")


@compliance_app.command("check")
def check(
    file: Path = typer.Argument(
        ..., help="Check document (YAML or JSON): profile, debtor, history, attempt."
    ),
    profile: str | None = typer.Option(
        None, "--profile", help="Profile name or file; overrides the document's."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object (the documented contract)."),
) -> None:
    """Decide one contact attempt: allow (exit 0), defer with the next allowed instant, or block (exit 1)."""
    doc = load_document(file)
    try:
        request = parse_check_document(doc.data, DEFAULT_PROFILE)
    except InputError as err:
        raise doc.locate(err) from None
    try:
        rules = load_profile(profile or request.profile)
    except InputError as err:
        if err.file is None:  # e.g. an unknown name given in the document: point at its line
            raise doc.locate(InputError(err.message, field="profile")) from None
        raise
    decision = decide(rules, request.debtor, request.history, request.attempt)
    if json_out:
        print_json(decision.to_dict())
    else:
        render_decision(decision)
    raise typer.Exit(EXIT_OK if decision.allowed else EXIT_FINDINGS)


def render_decision(decision: ComplianceDecision) -> None:
    """A readable decision: verdict, next allowed instant, and each deciding rule with its own reason, the
    instant it judged and its until, all in the debtor's zone (as the JSON prints them)."""
    colour = {"allow": "green", "defer": "yellow", "block": "red"}[decision.decision]
    tz = zone(decision.timezones[0])

    def local(instant: datetime) -> str:
        return instant.astimezone(tz).isoformat()

    verdict = _(decision.decision.upper())
    console.print(
        f"[bold {colour}]{verdict}[/]  "
        + _("profile {profile}  at {at}").format(profile=escape(decision.profile), at=local(decision.at)),
        highlight=False,
    )
    if decision.next_allowed_at:
        console.print(_("next allowed at {at}").format(at=local(decision.next_allowed_at)), highlight=False)
    if not decision.verdicts:
        console.print(_("all {n} rules of the profile allow it").format(n=count(len(decision.checked))))
        return
    judged = decision.judged_at or (decision.at,) * len(decision.verdicts)
    shown_at = decision.at
    for row, at in zip(decision.verdicts, judged, strict=True):
        if at != shown_at:
            shown_at = at
            console.print(
                _("then at {at}, the first instant the rules above allow:").format(at=local(at)),
                highlight=False,
            )
        until = " " + _("until {at}").format(at=local(row.until)) if row.until else ""
        console.print(f"[bold]{escape(row.rule)}[/] ({_(row.effect)}{until})", highlight=False)
        reason = row.zh if language() == "zh-CN" else row.en
        console.print(f"  {reason}", highlight=False, markup=False)


@compliance_app.command("profiles")
def profiles(
    name: str | None = typer.Argument(
        None, help="One profile (name or file); all shipped profiles when omitted."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """List the compliance profiles and their rules (id, kind, what it says, where it comes from)."""
    refs = [name] if name else sorted(p.stem for p in profiles_dir().glob("*.yaml"))
    loaded = [load_profile(ref) for ref in refs]
    if json_out:
        print_json([profile_to_dict(p) for p in loaded])
        return
    for p in loaded:
        base = f" (extends {p.extends})" if p.extends else ""
        table = Table(title=f"{p.name}{base} — {p.title.get('en', p.name)}", title_justify="left")
        table.add_column("rule", no_wrap=True)
        table.add_column("kind", no_wrap=True)
        table.add_column("rule says", overflow="fold")
        table.add_column("source", overflow="fold")
        for rule in p.rules:
            table.add_row(rule.id, rule.kind, rule.describe(), rule.source)
        console.print(table)
        console.print(f"unknown time zone → {', '.join(p.unknown_timezones)}")


def profile_to_dict(p: ComplianceProfile) -> dict[str, object]:
    """A profile as JSON: name, base chain, unknown-zone candidates and rules."""
    return {
        "name": p.name,
        "title": dict(p.title),
        "extends": p.extends,
        "lineage": list(p.lineage),
        "unknown_timezones": list(p.unknown_timezones),
        "templates": {"opt_out_electronic": p.templates.opt_out_electronic},
        "rules": [
            {"id": r.id, "kind": r.kind, "describe": r.describe(), "source": r.source} for r in p.rules
        ],
    }
