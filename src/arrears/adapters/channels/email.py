"""E-mail over SMTP (smtplib). The idempotency key becomes the Message-ID, which mail systems de-duplicate on."""

from __future__ import annotations

import hashlib
import smtplib
from email.message import EmailMessage
from email.utils import formataddr

from arrears.adapters.channels import ChannelDown, OutgoingMessage, PermanentFailure, SendResult
from arrears.domain.masking import mask_email


class SmtpChannel:
    """Sends each message in its own SMTP session (a collections mailer sends few, long messages)."""

    name = "smtp"

    def __init__(
        self,
        host: str,
        port: int = 25,
        sender: str = "noreply@example.cn",
        sender_name: str = "",
        *,
        starttls: bool = False,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.host, self.port, self.sender, self.sender_name = host, port, sender, sender_name
        self.starttls, self.username, self.password, self.timeout = starttls, username, password, timeout

    def message_id(self, idempotency_key: str) -> str:
        digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]
        domain = self.sender.rpartition("@")[2] or "arrears.local"
        return f"<{digest}@{domain}>"

    def build(self, message: OutgoingMessage, idempotency_key: str) -> EmailMessage:
        """The MIME message: UTF-8 text, Message-ID and X-Idempotency-Key from the key."""
        mail = EmailMessage()
        mail["From"] = formataddr((self.sender_name, self.sender)) if self.sender_name else self.sender
        mail["To"] = message.to
        mail["Subject"] = message.subject or ""
        mail["Message-ID"] = self.message_id(idempotency_key)
        mail["X-Idempotency-Key"] = idempotency_key
        mail.set_content(message.body, charset="utf-8")
        return mail

    def send(self, message: OutgoingMessage, idempotency_key: str) -> SendResult:
        if "@" not in message.to:
            raise PermanentFailure(f"no e-mail address for {message.borrower_id or 'the borrower'}")
        mail = self.build(message, idempotency_key)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls()
                if self.username:
                    smtp.login(self.username, self.password or "")
                refused = smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused as exc:
            raise PermanentFailure(f"recipient refused: {_masked(exc.recipients)}") from None
        except smtplib.SMTPResponseException as exc:
            # 5xx is the server's final word; 4xx (and anything odd) is worth another try.
            text = (
                exc.smtp_error.decode(errors="replace")
                if isinstance(exc.smtp_error, bytes)
                else exc.smtp_error
            )
            text = text.replace(message.to, mask_email(message.to) or "") if message.to else text
            if 500 <= exc.smtp_code < 600:
                raise PermanentFailure(f"SMTP {exc.smtp_code}: {text}") from None
            raise ChannelDown(f"SMTP {exc.smtp_code}: {text}") from None
        except (OSError, smtplib.SMTPException) as exc:
            raise ChannelDown(f"SMTP {self.host}:{self.port}: {exc}") from None
        if refused:
            raise PermanentFailure(f"recipient refused: {_masked(refused)}")
        return SendResult(self.message_id(idempotency_key), "accepted")


def _masked(recipients: object) -> list[str]:
    """Refused recipients for an error text that is stored and shown: masked, never the full address."""
    return sorted(mask_email(str(r)) or "" for r in (recipients or {}))
