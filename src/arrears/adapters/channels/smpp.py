"""SMS over SMPP 3.4 (smpplib): bind_transceiver once, submit_sm per part, UCS-2 with UDH for long text.

Chinese text goes as UCS-2 (data_coding 0x08, UTF-16BE); a message longer than one segment is cut with
arrears.domain.messages.sms_parts (67 units a part, never splitting a surrogate pair) and each part
carries a 6-byte concatenation UDH (esm_class 0x40). SMPP has no idempotency header: the key's hash is the
concatenation reference and the SMSC's message id is recorded, so a re-send is visible in the records.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
from typing import Any

import smpplib.client
import smpplib.consts
import smpplib.exceptions
import smpplib.gsm

from arrears.adapters.channels import ChannelDown, OutgoingMessage, PermanentFailure, SendResult
from arrears.domain.messages import SmsEncoding, sms_encoding, sms_parts

UCS2, GSM_DEFAULT = 0x08, 0x00
UDHI = 0x40
ESME_ROK = 0
# SMSC answers worth retrying: system error, queue full, throttled.
RETRYABLE_STATUSES = frozenset({0x08, 0x14, 0x58})


def encode_parts(text: str, reference: int) -> tuple[int, int, list[bytes]]:
    """(data_coding, esm_class, short_message per part) for `text`; UDH-prefixed when it needs parts."""
    ucs2 = sms_encoding(text) is SmsEncoding.UCS2
    coding = UCS2 if ucs2 else GSM_DEFAULT

    def encode(part: str) -> bytes:
        return part.encode("utf-16-be") if ucs2 else bytes(smpplib.gsm.gsm_encode(part))

    parts = sms_parts(text)
    if len(parts) == 1:
        return coding, 0, [encode(parts[0])]
    total = len(parts)
    udh = [bytes([0x05, 0x00, 0x03, reference & 0xFF, total, i + 1]) for i in range(total)]
    return coding, UDHI, [h + encode(p) for h, p in zip(udh, parts, strict=True)]


class SmppChannel:
    """One bound SMPP session, shared by the dispatcher's threads under a lock."""

    name = "smpp"

    def __init__(
        self,
        host: str,
        port: int = 2775,
        system_id: str = "arrears",
        password: str = "",
        source_addr: str = "arrears",
        *,
        timeout: float = 10.0,
    ) -> None:
        self.host, self.port, self.system_id, self.password = host, port, system_id, password
        self.source_addr, self.timeout = source_addr, timeout
        self._client: Any = None
        self._lock = threading.Lock()

    def after_fork(self, share: float) -> None:
        """In a worker process: bind a session of its own (the parent's stays the parent's)."""
        self._client = None
        self._lock = threading.Lock()

    def _bound(self) -> Any:
        if self._client is None:
            client = smpplib.client.Client(
                self.host, self.port, timeout=self.timeout, allow_unknown_opt_params=True
            )
            client.connect()
            client.bind_transceiver(system_id=self.system_id, password=self.password)
            self._client = client
        return self._client

    def _drop(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):  # a broken socket is being thrown away anyway
                client.disconnect()

    def send(self, message: OutgoingMessage, idempotency_key: str) -> SendResult:
        if not message.to:
            raise PermanentFailure(f"no phone number for {message.borrower_id or 'the borrower'}")
        reference = int.from_bytes(hashlib.sha256(idempotency_key.encode()).digest()[:1], "big")
        coding, esm_class, parts = encode_parts(message.body, reference)
        ids: list[str] = []
        with self._lock:
            try:
                client = self._bound()
                for short_message in parts:
                    client.send_message(
                        source_addr_ton=smpplib.consts.SMPP_TON_ALNUM,
                        source_addr=self.source_addr,
                        dest_addr_ton=smpplib.consts.SMPP_TON_INTL,
                        dest_addr_npi=smpplib.consts.SMPP_NPI_ISDN,
                        destination_addr=message.to,
                        short_message=short_message,
                        data_coding=coding,
                        esm_class=esm_class,
                        registered_delivery=1,
                    )
                    resp = client.read_pdu()
                    status = getattr(resp, "status", ESME_ROK)
                    if status != ESME_ROK:
                        if status in RETRYABLE_STATUSES:
                            raise ChannelDown(f"SMSC status 0x{status:02x}")
                        raise PermanentFailure(f"SMSC refused the message: status 0x{status:02x}")
                    raw = getattr(resp, "message_id", b"") or b""
                    ids.append(raw.decode() if isinstance(raw, bytes) else str(raw))
            except (OSError, smpplib.exceptions.ConnectionError, smpplib.exceptions.PDUError) as exc:
                self._drop()
                raise ChannelDown(f"SMPP {self.host}:{self.port}: {exc}") from None
        return SendResult(",".join(ids), "accepted")

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                with contextlib.suppress(Exception):  # the server may already have dropped the session
                    self._client.unbind()
                self._drop()
