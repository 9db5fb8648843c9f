"""`arrears audit verify | checkpoint | show | keygen`: the keyed, anchored audit log."""

from __future__ import annotations

import json

import typer

from arrears.domain.audit import AuditVerdict
from arrears.entrypoints.cli.console import EXIT_FINDINGS, console, err_console, print_json
from arrears.entrypoints.cli.output import Column, cell, fitted_table
from arrears.services import audit
from arrears.services.audit_keys import keyring, new_key
from arrears.services.unit_of_work import UnitOfWork

CHECKPOINTS_ENV = "ARREARS_AUDIT_CHECKPOINTS"

audit_app = typer.Typer(
    help="The append-only audit log, hash-chained under a key (ARREARS_AUDIT_KEY) and anchored by signed "
    "checkpoints outside the database (ARREARS_AUDIT_CHECKPOINTS).",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(audit_app, name="audit")


@audit_app.command("verify")
def verify(
    require_checkpoint: bool = typer.Option(
        False, "--require-checkpoint", help="Fail when there is no checkpoint to hold the log to."
    ),
    db: str | None = typer.Option(None, "--db", help="Store URL (default ARREARS_DB_URL or ./arrears.db)."),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Walk the chain and hold it to the latest checkpoint: exit 0 with the row count if intact; exit 1
    naming the first changed or missing row, or the checkpoint the log no longer matches."""
    with UnitOfWork(db) as uow:
        verdict = audit.verify(uow, require_checkpoint=require_checkpoint)
    if json_out:
        print_json(verdict.to_dict())
    else:
        _render(verdict)
    if not verdict.ok:
        raise typer.Exit(EXIT_FINDINGS)


def _render(verdict: AuditVerdict) -> None:
    if verdict.ok:
        console.print(f"audit log intact: {verdict.count:,} row(s)", highlight=False, soft_wrap=True)
    else:
        console.print(f"[bold red]audit log broken:[/] {verdict.reason}", highlight=False, soft_wrap=True)
    for segment in verdict.segments:
        console.print(f"  from seq {segment.from_seq}: {segment.scheme}", highlight=False, soft_wrap=True)
    cp = verdict.checkpoint
    if cp and "head_seq" in cp:
        state = "matches" if verdict.ok else "checked against"
        console.print(
            f"  {state} the checkpoint of {cp['at']} (head seq {cp['head_seq']}, {cp['rows']:,} row(s)) in "
            f"{cp['where']}",
            highlight=False,
            soft_wrap=True,
        )
    if verdict.development_key:
        console.print(
            "  keyed with the development key (no ARREARS_AUDIT_KEY / ARREARS_AUDIT_KEY_FILE): anyone can "
            "recompute it — not for production",
            highlight=False,
            soft_wrap=True,
        )
    for note in verdict.notes:
        console.print(f"  note: {note}", highlight=False, soft_wrap=True)


@audit_app.command("checkpoint")
def checkpoint(
    force: bool = typer.Option(False, "--force", help="Write one even if the head has not moved."),
    db: str | None = typer.Option(None, "--db", help="Store URL (default ARREARS_DB_URL or ./arrears.db)."),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Sign the chain's head (seq, hash, row count, time) and append it to the checkpoint directory, after
    checking that the log still extends the previous checkpoint. Exit 1 (nothing written) if it does not."""
    with UnitOfWork(db) as uow:
        result = audit.write_checkpoint(uow, force=force)
    if json_out:
        print_json(result.to_dict())
    else:
        render_checkpoint(result, quiet=False)
    if not result.ok:
        raise typer.Exit(EXIT_FINDINGS)


def render_checkpoint(result: audit.CheckpointResult, *, quiet: bool) -> None:
    """What a checkpoint did; `quiet` (after a run or a dispatch pass): only a refusal, on stderr."""
    if not result.ok:
        assert result.problem is not None
        err_console.print(
            f"[bold red]audit checkpoint refused:[/] {result.problem.reason} — the audit log does not extend "
            f"the last checkpoint (`arrears audit verify`; a store replaced on purpose needs a checkpoint "
            f"directory of its own: {CHECKPOINTS_ENV})",
            highlight=False,
            soft_wrap=True,
        )
        return
    if quiet or result.checkpoint is None:
        return
    cp = result.checkpoint
    if result.written:
        console.print(
            f"checkpoint written: head seq {cp.head_seq}, {cp.rows:,} row(s), signed with {cp.key_id} → "
            f"{result.where}",
            highlight=False,
            soft_wrap=True,
        )
    else:
        console.print(
            f"head unchanged since the checkpoint of {cp.at:%Y-%m-%d %H:%M:%S} UTC (seq {cp.head_seq}): "
            "nothing written (--force writes one anyway)",
            highlight=False,
            soft_wrap=True,
        )


def checkpoint_after(db: str | None) -> bool:
    """After a daily run or a dispatch pass: checkpoint the log. A refusal is said on stderr; it fails the
    command (False) under a real key — under the development key, which proves nothing, it only warns."""
    with UnitOfWork(db) as uow:
        result = audit.write_checkpoint(uow)
    render_checkpoint(result, quiet=True)
    return result.ok or keyring().current.development


@audit_app.command("keygen")
def keygen() -> None:
    """Print a fresh random audit key (for ARREARS_AUDIT_KEY or a line of ARREARS_AUDIT_KEY_FILE)."""
    typer.echo(new_key())


@audit_app.command("show")
def show(
    subject: str = typer.Option(None, "--subject", help="Only rows about this subject."),
    limit: int = typer.Option(20, "--limit", min=1, help="The newest N rows."),
    json_out: bool = typer.Option(False, "--json", help="Print a JSON list."),
) -> None:
    """The newest audit rows (who did what to which subject, when)."""
    with UnitOfWork() as uow:
        rows = audit.entries(uow, subject=subject, limit=limit)
    if json_out:
        print_json(
            [
                {
                    "seq": r.seq,
                    "at": r.at.isoformat(),
                    "actor": r.actor,
                    "action": r.action,
                    "subject": r.subject,
                    "detail": r.detail,
                    "hash": r.hash,
                }
                for r in rows
            ]
        )
        return
    columns = [
        Column("seq", "key", justify="right"),
        Column("at (UTC)", "key"),
        Column("actor", drop=2),
        Column("action"),
        Column("subject", "key", drop=1),
        Column("detail", drop=3),
    ]
    cells = [
        [
            str(r.seq),
            r.at.strftime("%Y-%m-%d %H:%M:%S"),
            cell(r.actor),
            cell(r.action),
            cell(r.subject),
            cell(json.dumps(r.detail, ensure_ascii=False)),
        ]
        for r in rows
    ]
    console.print(fitted_table(columns, cells, console=console))
