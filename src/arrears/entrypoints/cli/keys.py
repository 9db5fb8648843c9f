"""`arrears keys generate | status | rotate | encrypt-existing`: the personal-data keys (docs/privacy.md)."""

from __future__ import annotations

from pathlib import Path

import typer

from arrears.adapters.crypto import cipher
from arrears.domain.errors import InputError
from arrears.entrypoints.cli.console import console, err_console, print_json
from arrears.services import audit, privacy
from arrears.services.data_keys import (
    KEY_FILE_ENV,
    key_file_text,
    key_id,
    new_key,
    parse_key_file,
    write_key_file,
)
from arrears.services.unit_of_work import UnitOfWork

keys_app = typer.Typer(
    help="The personal-data keys: a key-encryption key (KEK) wraps each borrower's data key; a separate "
    "look-up key hashes phones, ID numbers and e-mails (ARREARS_DATA_KEY_FILE; docs/privacy.md).",
    no_args_is_help=True,
)

DB_HELP = "Store URL (default ARREARS_DB_URL or ./arrears.db)."


def register(app: typer.Typer) -> None:
    app.add_typer(keys_app, name="keys")


@keys_app.command("generate")
def generate(
    file: Path | None = typer.Option(None, "--file", help="Write the keys to this file (mode 0600)."),
    rotate: bool = typer.Option(
        False, "--rotate", help="Add a new current KEK to the existing --file; the old one is kept, retired."
    ),
) -> None:
    """A fresh key file: a look-up key and a KEK. With --rotate, a new KEK goes first in the existing file
    (then run `arrears keys rotate`); the look-up key is kept."""
    if rotate:
        if file is None:
            raise InputError("--rotate needs the --file to add a KEK to", field="--file")
        try:
            keks, lookup = parse_key_file(file.read_text(encoding="utf-8"), str(file))
        except OSError as err:
            raise InputError(f"cannot read: {err.strerror}", file=str(file)) from None
        if lookup is None:
            raise InputError("the key file has no lookup line", file=str(file))
        kek = new_key()
        write_key_file(file, [kek, *keks], lookup, replace=True)
        console.print(
            f"{file}: new current KEK {key_id(kek)}; {len(keks)} retired KEK(s) kept. "
            "Now run `arrears keys rotate`; remove a retired kek line only after `arrears keys status` "
            "shows no data key under it.",
            highlight=False,
            soft_wrap=True,
        )
        return
    kek, lookup = new_key(), new_key()
    if file is None:
        typer.echo(key_file_text([kek], lookup), nl=False)
        return
    try:
        write_key_file(file, [kek], lookup)
    except FileExistsError:
        raise InputError("already exists (use --rotate to add a KEK to it)", file=str(file)) from None
    except OSError as err:
        raise InputError(f"cannot write: {err.strerror}", file=str(file)) from None
    console.print(
        f"wrote {file} (KEK {key_id(kek)}); set {KEY_FILE_ENV}={file}", highlight=False, soft_wrap=True
    )


@keys_app.command("status")
def status(
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Where the keys come from, and how many borrowers are sealed under each KEK, still plain, erased."""
    keks = cipher().keks
    with UnitOfWork(db) as uow:
        counts = uow.personal_data.status()
    out = {
        "provider": keks.describe,
        "development": keks.development,
        "current_kek": keks.current_id,
        "known_keks": list(keks.known_ids()),
        **counts,
    }
    if json_out:
        print_json(out)
        return
    dev = " [bold yellow](development keys: not for production)[/]" if keks.development else ""
    console.print(f"keys: {keks.describe}{dev}", highlight=False, soft_wrap=True)
    console.print(f"current KEK: {keks.current_id}", highlight=False)
    for kid, n in sorted(counts["sealed"].items()):
        state = "current" if kid == keks.current_id else ("retired" if kid in keks.known_ids() else "UNKNOWN")
        console.print(f"  {n:,} borrower(s) under {kid} ({state})", highlight=False)
    console.print(
        f"{counts['borrowers']:,} borrower(s): {counts['plain']:,} still plain text, {counts['erased']:,} erased",
        highlight=False,
    )
    if counts["plain"]:
        err_console.print("run `arrears keys encrypt-existing` to seal the plain-text rows", highlight=False)


@keys_app.command("rotate")
def rotate(
    reencrypt: bool = typer.Option(
        False, "--reencrypt", help="Draw new data keys and encrypt every field again (not only re-wrap)."
    ),
    by: str | None = typer.Option(None, "--by", help="Who rotates (the audit log's actor)."),
    batch: int = typer.Option(500, "--batch", min=1, help="Borrowers per transaction."),
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Re-wrap every borrower's data key under the current KEK, a batch per transaction: interrupted, run it
    again; until it has finished the retired KEKs still read what they wrapped."""
    with UnitOfWork(db) as uow:
        out = privacy.rotate(uow, by=by or audit.default_actor(), reencrypt=reencrypt, batch=batch)
    if json_out:
        print_json(out)
        return
    console.print(
        f"{out['mode']}: {out['rows']:,} borrower(s); now under {out['status']['sealed']}",
        highlight=False,
        soft_wrap=True,
    )


@keys_app.command("encrypt-existing")
def encrypt_existing(
    by: str | None = typer.Option(None, "--by", help="Who runs it (the audit log's actor)."),
    batch: int = typer.Option(500, "--batch", min=1, help="Borrowers per transaction."),
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Seal the borrowers a store from before encryption holds in plain text (resumable, a batch per
    transaction)."""
    with UnitOfWork(db) as uow:
        out = privacy.encrypt_existing(uow, by=by or audit.default_actor(), batch=batch)
    if json_out:
        print_json(out)
        return
    console.print(
        f"sealed {out['rows']:,} borrower(s); {out['status']['plain']:,} left in plain text", highlight=False
    )
