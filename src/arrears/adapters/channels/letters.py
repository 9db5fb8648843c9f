"""Letters and lawyer's letters: PDF files (adapters/letters.py) written to an output folder for the print
house. The file is named by the idempotency key, so a re-send rewrites the same letter, never a second one."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from arrears.adapters.channels import OutgoingMessage, PermanentFailure, SendResult
from arrears.adapters.letters import render_letter_pdf
from arrears.domain.messages import MessageChannel

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class PdfLetterChannel:
    """Writes `<folder>/<key>.pdf`; an existing file for the key counts as already sent."""

    name = "pdf-letters"

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

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
        partial = target.with_suffix(".pdf.part")
        partial.write_bytes(render_letter_pdf(rendered))
        partial.replace(target)  # atomic: the print house never picks up half a letter
        return SendResult(target.name, "written")  # the file's name in the folder
