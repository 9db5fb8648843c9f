"""`arrears outbox list|show` end to end through the CLI on a store with a real run and a real dispatch:
filters, order, the JSON shape, and no full name or phone number anywhere in what is printed."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import pytest
from sqlalchemy import create_engine, select

from arrears.adapters.store.models import BorrowerRow
from tests.conftest import CliResult
from tests.dispatch.conftest import World

SEND = "2026-03-31T11:00:00+08:00"
ROW_KEYS = {
    "id",
    "loan_id",
    "borrower_id",
    "borrower_name",
    "day",
    "step",
    "channel",
    "template",
    "segment",
    "status",
    "rules",
    "attempts",
    "next_allowed_at",
    "last_error",
    "created_at",
    "updated_at",
    "approval",
}


@pytest.fixture
def outbox_cli(
    world: World, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., CliResult]
) -> Callable[..., CliResult]:
    for key, value in world.env.items():
        monkeypatch.setenv(key, value)
    return cli


def _json(result: CliResult) -> Any:
    assert result.code == 0, result.stderr
    return json.loads(result.stdout)


def _people(url: str) -> list[tuple[str, str]]:
    """Every borrower's full name and phone: none may appear in what the outbox commands print."""
    engine = create_engine(url)
    try:
        with engine.connect() as c:
            rows = c.execute(select(BorrowerRow.name, BorrowerRow.phone)).all()
    finally:
        engine.dispose()
    return [(r.name, r.phone) for r in rows]


def _no_personal_data(text: str, people: list[tuple[str, str]]) -> None:
    for name, phone in people:
        if name and len(name) > 1:
            assert name not in text
        if phone:
            assert phone not in text


def test_list_filters_orders_and_masks(world: World, outbox_cli: Callable[..., CliResult]) -> None:
    cli = outbox_cli
    people = _people(world.url)
    everything = _json(cli("outbox", "list", "--limit", "100000", "--json"))
    assert len(everything) == len(world.rows()) > 60
    assert [r["id"] for r in everything] == sorted(r["id"] for r in everything)  # stable order: by id
    for row in everything:
        assert set(row) >= ROW_KEYS
        assert row["day"] == "2026-03-31"
        assert isinstance(row["rules"], list) and all(isinstance(rule, str) and rule for rule in row["rules"])
        datetime.fromisoformat(row["created_at"])
        assert row["approval"] is None
        assert row["borrower_name"] is None or "*" in row["borrower_name"]
    stored = {r.id: r for r in world.rows()}
    assert all(row["rules"] == [x for x in stored[row["id"]].rules.split(",") if x] for row in everything)
    assert any(row["rules"] for row in everything)  # blocked / deferred rows carry the rules that decided

    first = _json(cli("outbox", "list", "--limit", "3", "--json"))
    assert [r["id"] for r in first] == [r["id"] for r in everything[:3]]
    default = _json(cli("outbox", "list", "--json"))
    assert len(default) == min(100, len(everything))

    sent = _json(cli("dispatch", "--once", "--dev", "--as-of-time", SEND, "--json"))
    assert sent["sent"] > 0 and sent["unconfigured_channels"] == []
    rows = _json(cli("outbox", "list", "--status", "sent", "--limit", "100000", "--json"))
    assert len(rows) == sent["sent"] and {r["status"] for r in rows} == {"sent"}
    assert all(r["attempts"] == 1 and datetime.fromisoformat(r["updated_at"]) for r in rows)

    some = everything[0]
    by_borrower = _json(cli("outbox", "list", "--borrower", some["borrower_id"], "--json"))
    assert by_borrower and {r["borrower_id"] for r in by_borrower} == {some["borrower_id"]}
    assert len(by_borrower) == sum(r["borrower_id"] == some["borrower_id"] for r in everything)
    by_loan = _json(cli("outbox", "list", "--loan", some["loan_id"], "--status", some["status"], "--json"))
    assert by_loan and all(r["loan_id"] == some["loan_id"] and r["status"] == some["status"] for r in by_loan)
    on_day = _json(cli("outbox", "list", "--day", "2026-03-31", "--limit", "100000", "--json"))
    assert len(on_day) == len(everything)
    assert _json(cli("outbox", "list", "--day", "2026-03-30", "--json")) == []
    by_channel = _json(cli("outbox", "list", "--channel", "sms", "--json"))
    assert by_channel and {r["channel"] for r in by_channel} == {"sms"}

    table = cli("outbox", "list", "--limit", "100000")
    assert table.code == 0, table.stderr
    assert "Outbox" in table.stdout and str(everything[-1]["id"]) in table.stdout
    for text in (json.dumps(everything, ensure_ascii=False), table.stdout):
        _no_personal_data(text, people)


def test_show_a_sent_row_with_its_delivery_attempt_and_audit(
    world: World, outbox_cli: Callable[..., CliResult]
) -> None:
    cli = outbox_cli
    people = _people(world.url)
    assert cli("dispatch", "--once", "--dev", "--as-of-time", SEND, "--json").code == 0
    sms = _json(cli("outbox", "list", "--status", "sent", "--channel", "sms", "--json"))[0]
    shown = cli("outbox", "show", str(sms["id"]), "--json")
    view = _json(shown)
    assert set(view) >= ROW_KEYS
    assert view["id"] == sms["id"] and view["status"] == "sent" and view["day"] == "2026-03-31"
    assert view["borrower"]["id"] == sms["borrower_id"] and "*" in view["borrower"]["phone"]
    (delivery,) = view["deliveries"]
    assert delivery["status"] and datetime.fromisoformat(delivery["sent_at"])
    (attempt,) = view["contact_attempts"]
    assert attempt["channel"] == "sms" and "*" in attempt["target"]
    assert [e["action"] for e in view["audit"]] == ["contact"]
    assert view["audit"][0]["detail"]["outbox_id"] == sms["id"]
    table = cli("outbox", "show", str(sms["id"]))
    assert table.code == 0, table.stderr
    assert "Deliveries" in table.stdout and "Contact attempts" in table.stdout
    for text in (shown.stdout, table.stdout):
        _no_personal_data(text, people)


def test_show_the_approval_of_a_lawyers_letter(world: World, outbox_cli: Callable[..., CliResult]) -> None:
    cli = outbox_cli
    (letter,) = _json(cli("outbox", "list", "--status", "awaiting_approval", "--json"))
    assert letter["channel"] == "lawyer_letter" and letter["approval"] is None
    assert cli("outbox", "approve", str(letter["id"]), "--by", "王律师", "--ref", "LR-7").code == 0
    view = _json(cli("outbox", "show", str(letter["id"]), "--json"))
    assert view["status"] == "pending"
    assert view["approval"]["approved_by"] == "王律师" and view["approval"]["ref"] == "LR-7"
    assert date.fromisoformat(view["approval"]["at"][:10])
    (listed,) = _json(
        cli("outbox", "list", "--loan", letter["loan_id"], "--channel", "lawyer_letter", "--json")
    )
    assert listed["approval"] == view["approval"]


def test_bad_input_names_the_flag_and_an_unknown_id_is_one_line(
    world: World, outbox_cli: Callable[..., CliResult]
) -> None:
    cli = outbox_cli
    for args, flag in (
        (("--day", "31/03/2026"), "--day"),
        (("--status", "bogus"), "--status"),
    ):
        result = cli("outbox", "list", *args)
        assert result.code == 2 and flag in result.stderr and "Traceback" not in result.stderr
    result = cli("outbox", "show", "99999999")
    assert result.code == 2
    assert result.stderr.strip().count("\n") == 0 and "no outbox row 99999999" in result.stderr
    assert result.stdout == ""
