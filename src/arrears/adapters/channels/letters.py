"""Letters and lawyer's letters: PDF files (adapters/letters.py) spooled in a folder for the print vendor, each
with a small JSON note beside it (letter id, loan, borrower, template, pages, SHA-256) that the print batch
(`arrears letters batch`, adapters/print_batch.py) turns into the vendor's manifest. The file is named by the
idempotency key, so a re-send rewrites the same letter, never a second one.

A lawyer's letter names a real firm and lawyer, never a placeholder: its note says whether the lender's
configuration named the signing lawyer and the firm's registration (domain.messages.unsigned_letter), and the
print batch refuses to post one that is not signed. The dispatcher stops such a letter before it is rendered,
so an unsigned one reaches this folder only when sent by other means."""

from __future__ import annotations

import hashlib
import io
import json
import re
from pathlib import Path

from pypdf import PdfReader

from arrears.adapters.channels import OutgoingMessage, PermanentFailure, SendResult
from arrears.adapters.letters import render_letter_pdf
from arrears.domain.messages import MessageChannel, unsigned_letter
from arrears.domain.outbox import message_type

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class PdfLetterChannel:
    """Writes `<folder>/<key>.pdf` and its note `<key>.json`; an existing file for the key counts as sent."""

    name = "pdf-letters"

    def __init__(self, folder: str | Path, *, signing_lawyer: str = "", firm_registration: str = "") -> None:
        self.folder = Path(folder)
        self.signing_lawyer = signing_lawyer.strip()
        self.firm_registration = firm_registration.strip()

    def path_for(self, idempotency_key: str) -> Path:
        safe = _UNSAFE.sub("_", idempotency_key)
        digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:8]
        return self.folder / f"{safe}-{digest}.pdf"

    def send(self, message: OutgoingMessage, idempotency_key: str) -> SendResult:
        rendered = message.rendered
        if rendered is None or rendered.channel is not MessageChannel.LETTER:
            raise PermanentFailure(f"{message.channel}: a letter needs a rendered letter template")
        target = self.path_for(idempotency_key)
        if target.exists():
            return SendResult(target.name, "written")
        self.folder.mkdir(parents=True, exist_ok=True)
        pdf = render_letter_pdf(rendered)
        note = {
            "letter_id": idempotency_key,
            "loan_id": message.loan_id,
            "borrower_id": message.borrower_id,
            "template": rendered.template,
            "language": rendered.language,
            "file": target.name,
            "pages": len(PdfReader(io.BytesIO(pdf)).pages),
            "sha256": hashlib.sha256(pdf).hexdigest(),
            "signed": unsigned_letter(
                message_type(rendered.template), self.signing_lawyer, self.firm_registration
            )
            is None,
        }
        target.with_suffix(".json").write_text(json.dumps(note, ensure_ascii=False), encoding="utf-8")
        partial = target.with_suffix(".pdf.part")
        partial.write_bytes(pdf)
        partial.replace(target)  # atomic, and after its note: the batch never picks up half a letter
        return SendResult(target.name, "written")  # the file's name in the folder
