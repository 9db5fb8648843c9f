"""The print vendor's batch: the letters the letter channel spooled (one PDF each, with its JSON note), copied
into a batch folder with a manifest CSV, and delivered to a folder or uploaded by SFTP (asyncssh; the host key
is checked against a known_hosts file, never accepted blindly).

    manifest.csv: letter_id, file, pages, sha256, template, loan_id, borrower_id, recipient, address
"""

from __future__ import annotations

import asyncio
import csv
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from arrears.domain.errors import InputError

MANIFEST = "manifest.csv"
MANIFEST_COLUMNS = (
    "letter_id", "file", "pages", "sha256", "template", "loan_id", "borrower_id", "recipient", "address",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class SpooledLetter:
    """One letter the channel wrote: its PDF and what its note says."""

    pdf: Path
    letter_id: str
    loan_id: str
    borrower_id: str
    template: str
    pages: int
    sha256: str
    signed: bool


def spooled(folder: Path) -> list[SpooledLetter]:
    """The letters in the spool folder whose PDF is complete (its note beside it), by file name."""
    out = []
    for note_path in sorted(folder.glob("*.json")):
        pdf = note_path.with_suffix(".pdf")
        if not pdf.is_file():
            continue  # still being written
        note = json.loads(note_path.read_text(encoding="utf-8"))
        out.append(
            SpooledLetter(
                pdf, note["letter_id"], note["loan_id"], note["borrower_id"], note["template"],
                int(note["pages"]), note["sha256"], bool(note.get("signed", True)),
            )
        )  # fmt: skip
    return out


def write_batch(folder: Path, letters: list[SpooledLetter], recipients: dict[str, tuple[str, str]]) -> Path:
    """Copy the letters into `folder` (made) with the manifest; `recipients`: borrower → (name, address)."""
    folder.mkdir(parents=True, exist_ok=False)
    with (folder / MANIFEST).open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(MANIFEST_COLUMNS)
        for letter in letters:
            shutil.copyfile(letter.pdf, folder / letter.pdf.name)
            name, address = recipients.get(letter.borrower_id, ("", ""))
            writer.writerow(
                (letter.letter_id, letter.pdf.name, letter.pages, letter.sha256, letter.template,
                 letter.loan_id, letter.borrower_id, name, address)
            )  # fmt: skip
    return folder


@dataclass(frozen=True, slots=True)
class SftpTarget:
    host: str
    port: int
    username: str
    path: str


def parse_sftp_url(url: str) -> SftpTarget:
    """sftp://user@host[:port]/path → its parts; bad input names the option."""
    parts = urlsplit(url)
    if parts.scheme != "sftp" or not parts.hostname or not parts.username:
        raise InputError(f"not an SFTP address: {url!r} (sftp://user@host[:port]/folder)", field="--sftp")
    return SftpTarget(parts.hostname, parts.port or 22, unquote(parts.username), unquote(parts.path) or ".")


def upload(batch: Path, target: SftpTarget, key_file: Path, known_hosts: Path, timeout: float = 30.0) -> str:
    """Upload the batch folder (its PDFs, then the manifest last: the vendor starts on the manifest) to
    target.path/<batch name>; returns where it went."""
    import asyncssh  # only the upload needs it

    for path, option in ((key_file, "--key"), (known_hosts, "--known-hosts")):
        if not path.is_file():
            raise InputError(f"{path}: no such file", field=option)

    async def run() -> None:
        async with asyncssh.connect(
            target.host, target.port, username=target.username, client_keys=[str(key_file)],
            known_hosts=str(known_hosts), connect_timeout=timeout,
        ) as conn, conn.start_sftp_client() as sftp:  # fmt: skip
            remote = f"{target.path.rstrip('/')}/{batch.name}"
            await sftp.makedirs(remote, exist_ok=True)
            files = sorted(p for p in batch.iterdir() if p.name != MANIFEST)
            for path in [*files, batch / MANIFEST]:
                await sftp.put(str(path), f"{remote}/{path.name}")

    try:
        asyncio.run(asyncio.wait_for(run(), timeout * 4))
    except (OSError, asyncssh.Error, TimeoutError) as err:
        raise InputError(
            f"SFTP upload to {target.host}:{target.port} failed: {err}", field="--sftp"
        ) from None
    return f"sftp://{target.username}@{target.host}:{target.port}{target.path.rstrip('/')}/{batch.name}"
