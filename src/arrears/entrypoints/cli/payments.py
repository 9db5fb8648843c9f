"""`arrears payments reconcile|query|simulator`: the payment provider behind the portal's pay now
(docs/portal.md, "Pay now")."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from arrears.entrypoints.cli.console import console, parse_as_of, print_json

if TYPE_CHECKING:
    from arrears.adapters.payment_provider import ProviderClient

payments_app = typer.Typer(
    help="The payment provider: reconcile its settlement file, query an order, a local simulator.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(payments_app, name="payments")


@payments_app.command("reconcile")
def reconcile(
    file: Path = typer.Argument(..., help="The provider's settlement file (CSV, docs/portal.md)."),
    day: list[str] = typer.Option(
        [], "--day", help="A day the file covers even with no line of it (repeatable)."
    ),
    json_out: bool = typer.Option(False, "--json", help='Print {"lines": N, "breaks": [...]}.'),
) -> None:
    """Match the provider's settlement file against the orders booked here; exit 1 when there are breaks."""
    from arrears.adapters.payment_provider import read_settlement
    from arrears.domain.money import format_minor
    from arrears.services.checkout import reconcile_settlement
    from arrears.services.unit_of_work import UnitOfWork

    lines = read_settlement(file)
    days = tuple(parse_as_of(d, "--day") for d in day)
    with UnitOfWork() as uow:
        breaks = reconcile_settlement(uow, lines, days)
    currency = {line.order_id: line.currency for line in lines}

    def money(value: int | None, order_id: str) -> str | None:
        return None if value is None else format_minor(value, currency.get(order_id, "CNY"))

    found = [
        {
            **asdict(b),
            "file_amount": money(b.file_amount, b.order_id),
            "store_amount": money(b.store_amount, b.order_id),
        }
        for b in breaks
    ]
    if json_out:
        print_json({"lines": len(lines), "breaks": found})
    else:
        console.print(f"{len(lines)} settlement line(s), {len(found)} break(s)", highlight=False)
        for b in found:
            where = f"line {b['line']}: " if b["line"] else ""
            console.print(
                f"{where}{b['kind']} order {b['order_id']} (file {b['file_amount']}, here {b['store_amount']})",
                highlight=False,
            )
    if found:
        raise typer.Exit(1)


@payments_app.command("query")
def query(
    order_id: str = typer.Argument(..., help="Our order id (out_trade_no)."),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Ask the provider about an order and book it if it was paid and its notification never came."""
    from arrears.adapters.casework_file import load_config
    from arrears.adapters.payment_provider import paid_notice
    from arrears.services.checkout import book_notice
    from arrears.services.unit_of_work import UnitOfWork

    found = _client().query(order_id)
    notice = paid_notice({**found, "notify_id": f"query:{order_id}"})
    out: dict[str, object] = {
        "order_id": order_id,
        "trade_status": found.get("trade_status"),
        "recorded": False,
    }
    if notice is not None:
        with UnitOfWork() as uow:
            out |= book_notice(uow, notice, load_config())
            uow.commit()
    if json_out:
        print_json(out)
    else:
        console.print(f"{order_id}: {out['trade_status']}, booked now: {out['recorded']}", highlight=False)


@payments_app.command("refund")
def refund(
    order_id: str = typer.Argument(..., help="Our order id (out_trade_no) of a paid order."),
    on: str = typer.Option(None, "--on", help="The ledger day of the reversal, YYYY-MM-DD (default today)."),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Refund a paid order in full at the provider and reverse its payment in the ledger (audited)."""
    from arrears.domain.compliance.clock import zone
    from arrears.domain.money import format_minor
    from arrears.services.audit import default_actor
    from arrears.services.checkout import SETTLEMENT_ZONE, refund_order
    from arrears.services.unit_of_work import UnitOfWork

    client = _client()
    today = parse_as_of(on, "--on") if on else datetime.now(UTC).astimezone(zone(SETTLEMENT_ZONE)).date()
    with UnitOfWork() as uow:
        out = refund_order(uow, order_id, today, client, default_actor())
        uow.commit()
    out["amount"] = format_minor(out["amount"])
    if json_out:
        print_json(out)
    else:
        console.print(
            f"{order_id}: {out['amount']} refunded, payment reversed ({out['reversal_id']})", highlight=False
        )


@payments_app.command("autodebit")
def autodebit(
    as_of: str = typer.Option(..., "--as-of", help="The day, YYYY-MM-DD (run it before `arrears run`)."),
    rules: Path = typer.Option(
        None, "--rules", help="Retry rules per product (YAML; ARREARS_AUTODEBIT_RULES)."
    ),
    json_out: bool = typer.Option(False, "--json", help='Print {"as_of": ..., "retries": [...]}.'),
) -> None:
    """Retry failed auto-debits due today through the provider (per product: days after the failure, at most N;
    none once the borrower chose to pay by hand); hold the ladder while a retry is pending."""
    from arrears.adapters.autodebit_rules import load_retry_rules
    from arrears.adapters.casework_file import load_config
    from arrears.domain.compliance.clock import zone
    from arrears.domain.money import format_minor
    from arrears.services.autodebit import LOCAL_ZONE, run_retries
    from arrears.services.unit_of_work import UnitOfWork

    day = parse_as_of(as_of, "--as-of")
    retry_rules = load_retry_rules(rules)
    debit = _client()
    local = zone(LOCAL_ZONE)
    # Today: now. Another day (a catch-up or a replay): that morning, before the day's collections run.
    now = datetime.now(UTC)
    if now.astimezone(local).date() != day:
        now = datetime.combine(day, time(8), local)
    with UnitOfWork() as uow:
        done = run_retries(uow, day, now, retry_rules, debit, load_config())
        uow.commit()
    shown = [{**row, "amount": format_minor(row["amount"])} for row in done]
    if json_out:
        print_json({"as_of": day.isoformat(), "retries": shown})
    else:
        paid = sum(1 for row in done if row["paid"])
        console.print(
            f"{day}: {len(done)} retr{'y' if len(done) == 1 else 'ies'}, {paid} paid", highlight=False
        )


def _client() -> ProviderClient:
    from arrears.adapters.payment_provider import ProviderClient, ProviderConfig
    from arrears.domain.errors import InputError

    config = ProviderConfig.from_env()
    if config is None:
        raise InputError(
            "no payment provider is configured (ARREARS_PAY_URL and the others)", field="ARREARS_PAY_URL"
        )
    return ProviderClient(config)


@payments_app.command("simulator")
def simulator(
    keys: Path = typer.Option(
        ..., "--keys", help="Directory for the simulator's and the merchant's key pairs."
    ),
    port: int = typer.Option(8100, "--port", min=1, max=65535, help="TCP port on 127.0.0.1."),
    duplicates: int = typer.Option(
        0, "--duplicates", min=0, max=10, help="Extra copies of each notification."
    ),
    app_id: str = typer.Option("sim-app", "--app-id", help="The merchant's app id at the simulator."),
) -> None:
    """Serve the payment provider simulator on 127.0.0.1 (development and tests only); prints the settings."""
    import uvicorn

    from arrears.adapters import payment_provider as pp
    from arrears.adapters.payment_provider_sim import Simulator, simulator_app

    keys.mkdir(parents=True, exist_ok=True)
    pairs = {}
    for name in ("provider", "merchant"):
        private = keys / f"{name}.pem"
        if not private.exists():
            private.write_bytes(pp.private_pem(pp.generate_key()))
            private.chmod(0o600)
        key = pp.load_private_key(private)
        (keys / f"{name}.pub.pem").write_bytes(pp.public_pem(key.public_key()))
        pairs[name] = key
    sim = Simulator(app_id, pairs["provider"], pairs["merchant"].public_key(), duplicates=duplicates)
    settings = {
        pp.ENV["url"]: f"http://127.0.0.1:{port}",
        pp.ENV["app_id"]: app_id,
        pp.ENV["provider_public_key"]: str((keys / "provider.pub.pem").resolve()),
        pp.ENV["merchant_private_key"]: str((keys / "merchant.pem").resolve()),
    }
    for name, value in settings.items():
        console.print(f"export {name}={value}", highlight=False, soft_wrap=True)
    console.print(f"(simulator started {datetime.now(UTC).isoformat(timespec='seconds')})", highlight=False)
    uvicorn.run(simulator_app(sim), host="127.0.0.1", port=port, log_level="warning")
