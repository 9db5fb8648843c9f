"""The payment provider's protocol, as Alipay / WeChat Pay-style providers speak it (docs/portal.md, "Pay now").

Every message is a set of string parameters signed with RSA-SHA256 (PKCS #1 v1.5, "RSA2") over its canonical
form: the parameters other than `sign` and `sign_type` whose value is not empty, sorted by name, written
`name=value` and joined with `&`, UTF-8. The merchant (arrears) signs its requests with its private key; the
provider signs its answers and its asynchronous notifications with its own, and arrears verifies them with
the provider's public key — configured, never defaulted.

- `POST {url}/api/checkout` (form): app_id, out_trade_no, total_amount ("123.45"), currency, subject,
  notify_url, return_url, timestamp, sign_type, sign → JSON {code: "SUCCESS", trade_no, checkout_url, sign}.
- `POST {url}/api/debit` (form): app_id, out_trade_no, total_amount, currency, agreement_no, timestamp,
  sign_type, sign → JSON {code, out_trade_no, trade_no, trade_status (TRADE_SUCCESS | TRADE_CLOSED), reason,
  total_amount, currency, gmt_payment, sign}: a debit under the borrower's agreement (代扣), answered at once.
- `POST {url}/api/refund` (form): app_id, out_trade_no, refund_amount, currency, out_request_no, timestamp,
  sign_type, sign → JSON {code, out_trade_no, trade_no, out_request_no, refund_fee, gmt_refund, sign}: a full
  refund of a paid trade.
- `POST {url}/api/query` (form): app_id, out_trade_no, timestamp, sign_type, sign → JSON {code, out_trade_no,
  trade_no, trade_status (WAIT_BUYER_PAY | TRADE_SUCCESS), total_amount, currency, gmt_payment, sign}.
- the notification: `POST notify_url` (form): notify_id, notify_time, app_id, out_trade_no, trade_no,
  trade_status, total_amount, currency, gmt_payment, sign_type, sign; answered with the body `success`
  (anything else and the provider sends it again).
- the settlement file: CSV `trade_no,out_trade_no,total_amount,currency,gmt_payment` (UTF-8, a header line),
  one line per payment settled that day.

Configuration (environment): ARREARS_PAY_URL, ARREARS_PAY_APP_ID, ARREARS_PAY_PROVIDER_PUBLIC_KEY_FILE and
ARREARS_PAY_MERCHANT_KEY_FILE (PEM files); `arrears payments simulator` writes a development set.
"""

from __future__ import annotations

import base64
import csv
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from arrears.domain.checkout import CheckoutOrder, PaidNotice, SettlementLine
from arrears.domain.compliance.clock import zone
from arrears.domain.errors import ArrearsError, InputError
from arrears.domain.money import format_minor, parse_minor

ENV = {
    "url": "ARREARS_PAY_URL",
    "app_id": "ARREARS_PAY_APP_ID",
    "provider_public_key": "ARREARS_PAY_PROVIDER_PUBLIC_KEY_FILE",
    "merchant_private_key": "ARREARS_PAY_MERCHANT_KEY_FILE",
}
SIGN_TYPE = "RSA2"
# The provider's clock: its times (notify_time, gmt_payment) are written "YYYY-MM-DD HH:MM:SS" in Beijing time.
PROVIDER_ZONE = "Asia/Shanghai"
TIMEOUT_SECONDS = 10.0
SETTLEMENT_COLUMNS = ("trade_no", "out_trade_no", "total_amount", "currency", "gmt_payment")


class ProviderUnavailable(ArrearsError):
    """The provider did not answer, or answered with an error or an answer that is not its own."""


def canonical(params: Mapping[str, str]) -> bytes:
    """The bytes a signature covers: non-empty parameters but sign / sign_type, sorted, `k=v` joined by `&`."""
    kept = sorted((k, v) for k, v in params.items() if k not in ("sign", "sign_type") and v != "")
    return "&".join(f"{k}={v}" for k, v in kept).encode("utf-8")


def sign(key: rsa.RSAPrivateKey, params: Mapping[str, str]) -> str:
    """The base64 RSA-SHA256 (PKCS #1 v1.5) signature of the parameters' canonical form."""
    return base64.b64encode(key.sign(canonical(params), padding.PKCS1v15(), hashes.SHA256())).decode("ascii")


def signed(key: rsa.RSAPrivateKey, params: Mapping[str, str]) -> dict[str, str]:
    """The parameters with sign_type and sign added."""
    out = {**params, "sign_type": SIGN_TYPE}
    return {**out, "sign": sign(key, out)}


def verify(key: rsa.RSAPublicKey, params: Mapping[str, str]) -> bool:
    """Whether `sign` is the key's RSA-SHA256 signature of the parameters (False for anything malformed)."""
    given = params.get("sign", "")
    if params.get("sign_type", SIGN_TYPE) != SIGN_TYPE or not given or len(given) > 2048:
        return False
    try:
        key.verify(
            base64.b64decode(given, validate=True), canonical(params), padding.PKCS1v15(), hashes.SHA256()
        )
    except (InvalidSignature, ValueError):
        return False
    return True


def generate_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def private_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def public_pem(key: rsa.RSAPublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def load_public_key(path: str | Path) -> rsa.RSAPublicKey:
    """An RSA public key from a PEM file (InputError naming the file otherwise)."""
    try:
        key = serialization.load_pem_public_key(Path(path).read_bytes())
    except (OSError, ValueError) as exc:
        raise InputError(
            f"not a readable PEM public key ({exc.__class__.__name__})", file=str(path)
        ) from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise InputError("not an RSA public key", file=str(path))
    return key


def load_private_key(path: str | Path) -> rsa.RSAPrivateKey:
    """An RSA private key from a PEM file (InputError naming the file otherwise)."""
    try:
        key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise InputError(
            f"not a readable PEM private key ({exc.__class__.__name__})", file=str(path)
        ) from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise InputError("not an RSA private key", file=str(path))
    return key


def provider_time(text: str, field: str) -> datetime:
    """The provider's "YYYY-MM-DD HH:MM:SS" (Beijing time) as an aware instant."""
    try:
        naive = datetime.strptime(text, "%Y-%m-%d %H:%M:%S")
    except ValueError:
        raise InputError("not a time YYYY-MM-DD HH:MM:SS", field=field) from None
    return naive.replace(tzinfo=zone(PROVIDER_ZONE))


def provider_time_text(at: datetime) -> str:
    return at.astimezone(zone(PROVIDER_ZONE)).strftime("%Y-%m-%d %H:%M:%S")


def paid_notice(params: Mapping[str, str]) -> PaidNotice | None:
    """A verified notification as a PaidNotice; None when it does not say the trade was paid (InputError naming
    the field when one is missing or malformed)."""
    for name in ("notify_id", "out_trade_no", "trade_no", "trade_status", "total_amount", "currency"):
        if not params.get(name):
            raise InputError("missing", field=name)
    if params["trade_status"] != "TRADE_SUCCESS":
        return None
    currency = params["currency"]
    return PaidNotice(
        order_id=params["out_trade_no"],
        provider_ref=params["trade_no"],
        amount=parse_minor(params["total_amount"], currency, field="total_amount"),
        currency=currency,
        paid_at=provider_time(params.get("gmt_payment", ""), "gmt_payment"),
        notify_id=params["notify_id"],
    )


@dataclass(frozen=True, slots=True)
class ProviderConfig:
    url: str
    app_id: str
    provider_public_key: rsa.RSAPublicKey
    merchant_private_key: rsa.RSAPrivateKey

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ProviderConfig | None:
        """The provider from the environment; None when none of it is set, InputError when only part is."""
        env = os.environ if environ is None else environ
        values = {name: env.get(var, "").strip() for name, var in ENV.items()}
        if not any(values.values()):
            return None
        for name, value in values.items():
            if not value:
                raise InputError("is not set (the payment provider needs all four settings)", field=ENV[name])
        if not values["url"].startswith(("https://", "http://")):
            raise InputError("must start with https:// or http://", field=ENV["url"])
        return cls(
            values["url"].rstrip("/"),
            values["app_id"],
            load_public_key(values["provider_public_key"]),
            load_private_key(values["merchant_private_key"]),
        )


class ProviderClient:
    """Talks to the provider: create a hosted checkout, query an order, verify what it sends."""

    def __init__(self, config: ProviderConfig, *, timeout: float = TIMEOUT_SECONDS) -> None:
        self.config = config
        self.timeout = timeout

    def verify(self, params: Mapping[str, str]) -> bool:
        """A notification or answer signed by the provider, for this merchant."""
        return verify(self.config.provider_public_key, params) and params.get("app_id") == self.config.app_id

    def _call(self, path: str, params: dict[str, str]) -> dict[str, str]:
        body = signed(
            self.config.merchant_private_key,
            {**params, "app_id": self.config.app_id, "timestamp": provider_time_text(datetime.now(UTC))},
        )
        try:
            answer = httpx.post(f"{self.config.url}{path}", data=body, timeout=self.timeout)
            found: Any = answer.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise ProviderUnavailable(
                f"the payment provider did not answer ({exc.__class__.__name__})"
            ) from None
        if not isinstance(found, dict) or not self.verify({str(k): str(v) for k, v in found.items()}):
            raise ProviderUnavailable("the payment provider's answer is not signed by it")
        if found.get("code") != "SUCCESS":
            raise ProviderUnavailable(f"the payment provider refused: {found.get('msg', found.get('code'))}")
        return {str(k): str(v) for k, v in found.items()}

    def create_checkout(
        self, order: CheckoutOrder, subject: str, notify_url: str, return_url: str
    ) -> tuple[str, str]:
        """A hosted checkout for the order: (the provider's trade_no, the page to send the borrower to)."""
        found = self._call(
            "/api/checkout",
            {
                "out_trade_no": order.order_id,
                "total_amount": format_minor(order.amount, order.currency),
                "currency": order.currency,
                "subject": subject,
                "notify_url": notify_url,
                "return_url": return_url,
            },
        )
        return found["trade_no"], found["checkout_url"]

    def debit(self, order_id: str, amount: int, currency: str, agreement: str) -> tuple[bool, str]:
        """A debit under the borrower's agreement (代扣): (paid, the provider's trade_no or its reason).
        A provider that does not answer is a failed try (ProviderUnavailable is not raised)."""
        try:
            found = self._call(
                "/api/debit",
                {
                    "out_trade_no": order_id,
                    "total_amount": format_minor(amount, currency),
                    "currency": currency,
                    "agreement_no": agreement,
                },
            )
        except ProviderUnavailable as err:
            return False, str(err)
        paid = found.get("trade_status") == "TRADE_SUCCESS" and found.get("total_amount") == format_minor(
            amount, currency
        )
        return paid, found.get("trade_no", "") if paid else found.get("reason", found.get("trade_status", ""))

    def refund(self, order_id: str, amount: int, currency: str, request_no: str) -> str:
        """Refund the order's payment in full (the provider keeps one refund per request_no); the provider's
        time of the refund. ProviderUnavailable when it refuses or does not answer."""
        found = self._call(
            "/api/refund",
            {
                "out_trade_no": order_id,
                "refund_amount": format_minor(amount, currency),
                "currency": currency,
                "out_request_no": request_no,
            },
        )
        return found.get("gmt_refund", "")

    def query(self, order_id: str) -> dict[str, str]:
        """The provider's view of an order (trade_status, trade_no, total_amount, currency, gmt_payment)."""
        return self._call("/api/query", {"out_trade_no": order_id})


def read_settlement(path: str | Path) -> list[SettlementLine]:
    """The provider's settlement file (CSV, header line); InputError naming the file, line and field."""
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the file ({exc.__class__.__name__})", file=name) from None
    rows = csv.DictReader(text.splitlines())
    missing = [c for c in SETTLEMENT_COLUMNS if c not in (rows.fieldnames or ())]
    if missing:
        raise InputError(f"the header lacks {', '.join(missing)}", file=name, line=1)
    out = []
    for number, row in enumerate(rows, start=2):
        try:
            for column in SETTLEMENT_COLUMNS:
                if not (row.get(column) or "").strip():
                    raise InputError("missing", field=column)
            currency = row["currency"].strip()
            out.append(
                SettlementLine(
                    number,
                    row["trade_no"].strip(),
                    row["out_trade_no"].strip(),
                    parse_minor(row["total_amount"].strip(), currency, field="total_amount"),
                    currency,
                    provider_time(row["gmt_payment"].strip(), "gmt_payment").date(),
                )
            )
        except InputError as err:
            raise InputError(err.message, file=name, line=number, field=err.field) from None
    return out
