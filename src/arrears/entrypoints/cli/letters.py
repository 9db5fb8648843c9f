"""`arrears letters batch|returned`: the print vendor's batches and returned mail (docs/letters.md)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import typer

from arrears.entrypoints.cli.console import console, print_json

letters_app = typer.Typer(
    help="Letters for the post: print-vendor batches (folder or SFTP), returned mail.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    app.add_typer(letters_app, name="letters")


@letters_app.command("batch")
def batch(
    spool: Path = typer.Option(
        Path("out/letters"), "--spool", help="The letter channel's folder (channels.yaml letters.folder)."
    ),
    out: Path = typer.Option(Path("out/print"), "--out", help="Where batch folders are made."),
    sftp: str = typer.Option(None, "--sftp", help="Upload to sftp://user@host[:port]/folder as well."),
    key: Path = typer.Option(None, "--key", help="The SSH private key for --sftp."),
    known_hosts: Path = typer.Option(
        None, "--known-hosts", help="The vendor's host key (known_hosts) for --sftp."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Put every letter not yet printed into a new batch (one PDF per letter + manifest.csv) and deliver it."""
    from arrears.adapters.print_batch import parse_sftp_url, spooled, upload, write_batch
    from arrears.domain.errors import InputError
    from arrears.services import letters
    from arrears.services.audit import default_actor
    from arrears.services.unit_of_work import UnitOfWork

    target = parse_sftp_url(sftp) if sftp else None
    if target is not None and (key is None or known_hosts is None):
        raise InputError("--sftp needs --key and --known-hosts", field="--sftp")
    found = spooled(spool) if spool.is_dir() else []
    actor = default_actor()
    with UnitOfWork() as uow:
        todo_ids = letters.unprinted(uow, [s.letter_id for s in found])
        todo = [s for s in found if s.letter_id in todo_ids]
        if not todo:
            console.print("no letters to print", highlight=False)
            return
        letters.check_signed([(s.letter_id, s.template, s.signed) for s in todo])
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        batch_id = f"batch-{stamp}-{hashlib.sha256(''.join(sorted(todo_ids)).encode()).hexdigest()[:8]}"
        people = letters.recipients(uow, [s.borrower_id for s in todo], actor, batch_id)
        folder = write_batch(out / batch_id, todo, people)
        where = upload(folder, target, key, known_hosts) if target is not None else str(folder)
        rows = [
            {"letter_id": s.letter_id, "loan_id": s.loan_id, "borrower_id": s.borrower_id, "template": s.template,
             "file": s.pdf.name, "sha256": s.sha256, "pages": s.pages}
            for s in todo
        ]  # fmt: skip
        result = letters.record_batch(uow, batch_id, rows, where, actor)
        uow.commit()
    if json_out:
        print_json(result)
    else:
        console.print(f"{result['letters']} letter(s) in {batch_id} → {where}", highlight=False)


@letters_app.command("returned")
def returned(
    file: Path = typer.Argument(..., help="The vendor's returned-mail CSV: letter_id, returned_on, reason."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Mark returned letters: their borrowers' addresses are returned, and letters to them are blocked."""
    from arrears.services import letters
    from arrears.services.audit import default_actor
    from arrears.services.unit_of_work import UnitOfWork

    with UnitOfWork() as uow:
        result = letters.mark_returned(uow, file, default_actor())
        uow.commit()
    if json_out:
        print_json(result)
    else:
        console.print(
            f"{result['returned']} letter(s) returned; addresses marked: {', '.join(result['borrowers'])}",
            highlight=False,
        )
