"""`arrears privacy export | erase | purge | find | duplicates | retention`: what we hold about a person (PIPL)."""

from __future__ import annotations

import typer

from arrears.adapters.privacy_config import CONFIG_ENV, load_retention
from arrears.domain.errors import InputError
from arrears.domain.personal_data import DATA_KINDS
from arrears.entrypoints.cli.console import EXIT_FINDINGS, console, parse_as_of, print_json
from arrears.services import audit, privacy
from arrears.services.unit_of_work import UnitOfWork

privacy_app = typer.Typer(
    help="Personal data (PIPL): export what we hold about a borrower, erase it, purge what is past its "
    "retention (docs/privacy.md).",
    no_args_is_help=True,
)

DB_HELP = "Store URL (default ARREARS_DB_URL or ./arrears.db)."
CONFIG_HELP = f"Privacy settings file with the retention periods (default {CONFIG_ENV}, else the defaults)."


def register(app: typer.Typer) -> None:
    app.add_typer(privacy_app, name="privacy")


@privacy_app.command("export")
def export(
    borrower: str = typer.Argument(..., help="The borrower's id."),
    by: str | None = typer.Option(None, "--by", help="Who asks (the audit log's actor)."),
    as_of: str | None = typer.Option(None, "--as-of", help="Loans' positions as of YYYY-MM-DD (today)."),
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Everything held about the borrower, decrypted: identity, contact data, loans, payments, contacts,
    facts, disputes, complaints, promises, plans, case notes. The access is audited (pii.export)."""
    day = parse_as_of(as_of) if as_of else None
    with UnitOfWork(db) as uow:
        out = privacy.export(uow, borrower, actor=by or audit.default_actor(), as_of=day)
    if json_out:
        print_json(out)
        return
    console.print(f"[bold]borrower {out['borrower_id']}[/]" + (" (erased)" if out["erased_at"] else ""))
    for section in ("identity", "contact", "preferences"):
        values = ", ".join(f"{k}: {v if v is not None else '—'}" for k, v in out[section].items())
        console.print(f"  {section}: {values}", highlight=False, soft_wrap=True)
    for loan in out["loans"]:
        pos = loan["position"]
        console.print(
            f"  loan {loan['id']} ({loan['product']}): outstanding {pos['outstanding']['total']} "
            f"{loan['currency']}, DPD {pos['dpd']}, {len(loan['payments'])} payment(s)",
            highlight=False,
            soft_wrap=True,
        )
    counts = ", ".join(
        f"{len(out[k])} {k.replace('_', ' ')}"
        for k in ("contacts", "flags", "disputes", "complaints", "promises", "plans", "case_notes", "audit")
    )
    console.print(f"  {counts}", highlight=False, soft_wrap=True)
    console.print("  (--json for every record)", style="dim")


@privacy_app.command("erase")
def erase(
    borrower: str = typer.Argument(..., help="The borrower's id."),
    reason: str = typer.Option(..., "--reason", help="Why: the request or the retention that ended."),
    by: str = typer.Option(..., "--by", help="Who asked for the erasure (recorded in the audit log)."),
    force_before_retention: bool = typer.Option(
        False,
        "--force-before-retention",
        help="Erase although the retention period has not ended (a valid request under PIPL §47).",
    ),
    as_of: str | None = typer.Option(None, "--as-of", help="Judge the retention as of YYYY-MM-DD (today)."),
    config: str | None = typer.Option(None, "--config", help=CONFIG_HELP),
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Pseudonymise the borrower: identity and contact data, where contacts went, free-text notes erased,
    the data key destroyed. Loans, payments, the ledger and the audit chain stay (audited pii.erase)."""
    retention = load_retention(config)
    day = parse_as_of(as_of) if as_of else None
    with UnitOfWork(db) as uow:
        result = privacy.erase(
            uow,
            borrower,
            reason=reason,
            by=by,
            retention=retention,
            as_of=day,
            force_before_retention=force_before_retention,
        )
    if json_out:
        print_json(result.to_dict())
        return
    changed = ", ".join(f"{k} {v}" for k, v in result.changed.items())
    state = "erased (data key destroyed)" if result.erased else "partly erased"
    console.print(f"borrower {borrower}: {state}; rows changed: {changed}", highlight=False, soft_wrap=True)


@privacy_app.command("purge")
def purge(
    as_of: str = typer.Option(..., "--as-of", help="Erase what is past its retention on YYYY-MM-DD."),
    by: str | None = typer.Option(None, "--by", help="Who runs it (the audit log's actor)."),
    config: str | None = typer.Option(None, "--config", help=CONFIG_HELP),
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """For every borrower whose loans all closed, erase each data kind whose retention has ended (resumable:
    committed every 200 borrowers)."""
    retention = load_retention(config)
    day = parse_as_of(as_of)
    with UnitOfWork(db) as uow:
        result = privacy.purge(uow, day, by=by or audit.default_actor(), retention=retention)
    out = result.to_dict()
    if json_out:
        print_json(out)
        return
    kinds = ", ".join(f"{k} {n}" for k, n in out["per_kind"].items())
    console.print(
        f"purge as of {out['as_of']}: {out['borrowers_looked_at']:,} borrower(s) looked at, "
        f"{out['borrowers_changed']:,} changed, {out['fully_erased']:,} fully erased; rows: {kinds}",
        highlight=False,
        soft_wrap=True,
    )


@privacy_app.command("find")
def find(
    phone: str | None = typer.Option(
        None, "--phone", help="A phone number (+86, spaces and dashes allowed)."
    ),
    id_number: str | None = typer.Option(None, "--id-number", help="A resident ID number."),
    email: str | None = typer.Option(None, "--email", help="An e-mail address."),
    by: str | None = typer.Option(None, "--by", help="Who searches (the audit log's actor)."),
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """The borrowers with this phone, ID number or e-mail, found by the keyed hash (audited pii.find)."""
    given = [(k, v) for k, v in (("phone", phone), ("id_number", id_number), ("email", email)) if v]
    if len(given) != 1:
        raise InputError("give one of --phone, --id-number, --email", field="--phone")
    kind, value = given[0]
    with UnitOfWork(db) as uow:
        found = privacy.find(uow, kind, value, actor=by or audit.default_actor())
    if json_out:
        print_json({"kind": kind, "borrowers": found})
        return
    console.print(", ".join(found) if found else "no borrower", highlight=False, soft_wrap=True)


@privacy_app.command("duplicates")
def duplicates(
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Borrower ids sharing a phone, an ID number or an e-mail (one person imported twice?); exit 1 if any."""
    with UnitOfWork(db) as uow:
        groups = privacy.duplicates(uow)
    if json_out:
        print_json(groups)
    else:
        for kind, found in groups.items():
            for group in found:
                console.print(f"{kind}: {', '.join(group)}", highlight=False, soft_wrap=True)
        if not any(groups.values()):
            console.print("no shared phone, ID number or e-mail")
    if any(groups.values()):
        raise typer.Exit(EXIT_FINDINGS)


@privacy_app.command("retention")
def retention(
    config: str | None = typer.Option(None, "--config", help=CONFIG_HELP),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """The retention period of each data kind (days after the borrower's last loan closed)."""
    periods = load_retention(config)
    if json_out:
        print_json({"retention_days": periods.days})
        return
    for kind, what in DATA_KINDS.items():
        console.print(f"{kind:16} {periods.days[kind]:>5} days  {what}", highlight=False, soft_wrap=True)
