"""Personal data at rest (issue 14 item 5): sealed in the store, opened where a role needs it, rotated,
exported, erased and purged — through the CLI, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import text

from arrears.services.receipts import record_reply
from arrears.services.unit_of_work import UnitOfWork
from tests.conftest import CliResult

LOANS = """\
loan_id,borrower_id,product,currency,seq,due_date,principal,interest,fees,opened_on,borrower_name,phone,id_number,email,timezone,region,language,persona
L1,B1,baitiao-3,CNY,1,2026-02-10,333.33,20.00,,2026-01-10,张三,13812345678,110101199003071233,zs@example.com,Asia/Shanghai,Beijing,zh-CN,
L1,B1,baitiao-3,CNY,2,2026-03-10,333.33,20.00,0,2026-01-10,,,,,,,,
L2,B2,baitiao-30d,CNY,1,2026-02-15,800.00,,,2026-01-16,李四,13998765432,220102198511302349,ls@example.com,,,,
"""
PAYMENTS = """\
payment_id,loan_id,paid_on,amount,reverses,source
P1,L1,2026-02-10,353.33,,app
P2,L2,2026-02-14,800.00,,bank
"""
PLAIN = (
    "张三",
    "13812345678",
    "110101199003071233",
    "zs@example.com",
    "李四",
    "13998765432",
    "ls@example.com",
)

Cli = Callable[..., CliResult]


@pytest.fixture
def keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Cli) -> Path:
    """A key file of this test's own (rotation rewrites it)."""
    path = tmp_path / "data-keys"
    result = cli("keys", "generate", "--file", str(path))
    assert result.code == 0, result.stderr
    monkeypatch.setenv("ARREARS_DATA_KEY_FILE", str(path))
    return path


@pytest.fixture
def loaded(store_url: str, keys: Path, tmp_path: Path, cli: Cli) -> str:
    (tmp_path / "loans.csv").write_text(LOANS, encoding="utf-8")
    (tmp_path / "payments.csv").write_text(PAYMENTS, encoding="utf-8")
    for kind in ("loans", "payments"):
        result = cli("import", kind, str(tmp_path / f"{kind}.csv"), "--json")
        assert result.code == 0, result.stderr
    return store_url


def raw(url: str, sql: str) -> list[tuple[object, ...]]:
    with UnitOfWork(url) as uow:
        return [tuple(r) for r in uow.connection.execute(text(sql))]  # type: ignore[attr-defined]


def raw_text(url: str) -> str:
    """Every borrowers' column as stored, as one text (what a stolen database would show)."""
    return json.dumps(raw(url, "SELECT * FROM borrowers ORDER BY id"), default=str, ensure_ascii=False)


def test_the_store_holds_ciphertexts_and_the_repositories_open_them(loaded: str, cli: Cli) -> None:
    stored = raw_text(loaded)
    for value in PLAIN:
        assert value not in stored
    assert stored.count("pd1:") == 8  # name, phone, ID number, e-mail of two borrowers
    with UnitOfWork(loaded) as uow:
        b1 = uow.borrowers.get("B1")
        both = uow.activity.borrowers(["B1", "B2"])
        addresses = uow.contacts.addresses(["B1"])
    assert b1 is not None and (b1.name, b1.phone, b1.id_number) == (
        "张三",
        "13812345678",
        "110101199003071233",
    )
    assert both["B2"].email == "ls@example.com"
    assert addresses["B1"] == ("张三", "13812345678", "zs@example.com")
    shown = cli("account", "show", "L1", "--as-of", "2026-03-01", "--json")
    assert shown.code == 0 and "13812345678" not in shown.stdout and "138****5678" in shown.stdout


def test_an_inbound_reply_finds_its_sender_through_the_phone_hash(loaded: str) -> None:
    with UnitOfWork(loaded) as uow:
        result = record_reply(
            uow, {"from": "+86 138-1234-5678", "text": "退订", "at": "2026-03-01T10:00:00+08:00"}
        )
        uow.commit()
        assert result.borrower_id == "B1" and result.action == "opt_out"
        assert record_reply(uow, {"from": "13800000000", "text": "TD"}).action == "unknown_sender"
    assert raw(loaded, "SELECT count(*) FROM borrowers WHERE phone_hash IS NOT NULL") == [(2,)]


def test_rotation_rewraps_every_data_key_and_the_retired_key_reads_until_it_is_done(
    loaded: str, keys: Path, cli: Cli
) -> None:
    before = raw(loaded, "SELECT id, key_id, data_key, phone FROM borrowers ORDER BY id")
    old_file = keys.read_text(encoding="utf-8")
    assert cli("keys", "generate", "--file", str(keys), "--rotate").code == 0
    # Not rotated yet: the data keys are still under the retired KEK, which reads them.
    status = json.loads(cli("keys", "status", "--json").stdout)
    assert status["current_kek"] not in status["sealed"] and sum(status["sealed"].values()) == 2
    assert json.loads(cli("privacy", "export", "B1", "--json").stdout)["contact"]["phone"] == "13812345678"
    rotated = cli("keys", "rotate", "--json")
    assert rotated.code == 0, rotated.stderr
    assert json.loads(rotated.stdout)["rows"] == 2
    after = raw(loaded, "SELECT id, key_id, data_key, phone FROM borrowers ORDER BY id")
    assert {r[1] for r in after} == {status["current_kek"]}
    assert [r[3] for r in after] == [r[3] for r in before]  # a re-wrap leaves the ciphertexts
    assert all(a[2] != b[2] for a, b in zip(after, before, strict=True))
    # The retired KEK can go now: only the new one (and the same look-up key) is needed.
    current = next(line for line in keys.read_text(encoding="utf-8").splitlines() if line.startswith("kek"))
    keys.write_text(
        "\n".join([line for line in old_file.splitlines() if line.startswith("lookup")] + [current])
    )
    assert json.loads(cli("privacy", "export", "B2", "--json").stdout)["identity"]["name"] == "李四"
    assert cli("keys", "rotate", "--json").stdout.count('"rows": 0') == 1  # nothing left: idempotent
    with UnitOfWork(loaded) as uow:
        assert record_reply(uow, {"from": "13998765432", "text": "hi"}).borrower_id == "B2"


def test_reencryption_draws_new_data_keys_and_new_ciphertexts(loaded: str, cli: Cli) -> None:
    before = raw(loaded, "SELECT data_key, name, phone FROM borrowers ORDER BY id")
    assert cli("keys", "rotate", "--reencrypt").code == 0
    after = raw(loaded, "SELECT data_key, name, phone FROM borrowers ORDER BY id")
    assert all(x != y for a, b in zip(after, before, strict=True) for x, y in zip(a, b, strict=True))
    assert json.loads(cli("privacy", "export", "B1", "--json").stdout)["identity"]["name"] == "张三"


def test_a_key_file_that_lacks_the_kek_is_a_clear_error(
    loaded: str, cli: Cli, tmp_path: Path, monkeypatch
) -> None:
    other = tmp_path / "other-keys"
    assert cli("keys", "generate", "--file", str(other)).code == 0
    monkeypatch.setenv("ARREARS_DATA_KEY_FILE", str(other))
    result = cli("privacy", "export", "B1")
    assert result.code == 2 and "Traceback" not in result.stderr
    assert "retired kek" in result.stderr and "13812345678" not in result.stderr


def test_plain_text_from_before_is_read_then_sealed_by_encrypt_existing(loaded: str, cli: Cli) -> None:
    with UnitOfWork(loaded) as uow:
        uow.connection.execute(  # type: ignore[attr-defined]
            text(
                "INSERT INTO borrowers (id, name, phone, id_number, created_at) "
                "VALUES ('B9', '王五', '13700001111', '310101197001011112', '2026-01-01 00:00:00+00')"
            )
        )
        uow.commit()
    with UnitOfWork(loaded) as uow:
        b9 = uow.borrowers.get("B9")
        assert b9 is not None and b9.name == "王五"
        assert record_reply(uow, {"from": "13700001111", "text": "hi"}).borrower_id == "B9"
    assert json.loads(cli("keys", "status", "--json").stdout)["plain"] == 1
    result = cli("keys", "encrypt-existing", "--json")
    assert result.code == 0 and json.loads(result.stdout)["rows"] == 1
    assert "王五" not in raw_text(loaded) and "13700001111" not in raw_text(loaded)
    with UnitOfWork(loaded) as uow:
        assert uow.borrowers.get("B9").id_number == "310101197001011112"  # type: ignore[union-attr]
        assert record_reply(uow, {"from": "13700001111", "text": "hi"}).borrower_id == "B9"


def test_export_holds_the_person_decrypted_and_is_audited(loaded: str, cli: Cli) -> None:
    with UnitOfWork(loaded) as uow:
        record_reply(uow, {"from": "13812345678", "text": "退订", "at": "2026-03-01T10:00:00+08:00"})
        uow.commit()
    result = cli("privacy", "export", "B1", "--json", "--by", "dpo", "--as-of", "2026-03-01")
    assert result.code == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["identity"] == {"name": "张三", "id_number": "110101199003071233", "region": "Beijing"}
    assert out["contact"]["phone"] == "13812345678" and out["contact"]["email"] == "zs@example.com"
    [loan] = out["loans"]
    assert loan["id"] == "L1" and [p["id"] for p in loan["payments"]] == ["P1"]
    assert loan["payments"][0]["amount"] == "353.33"
    assert loan["position"]["outstanding"]["total"] == "353.33"
    assert [f["name"] for f in out["flags"]] == ["opt_out"]
    text_out = cli("privacy", "export", "B1")
    assert text_out.code == 0 and "张三" in text_out.stdout
    views = raw(loaded, "SELECT actor, action, subject FROM audit_log WHERE action = 'pii.export'")
    assert ("dpo", "pii.export", "borrower:B1") in views and len(views) == 2


def test_erase_keeps_ledger_and_audit_and_makes_the_person_unreadable(loaded: str, cli: Cli) -> None:
    with UnitOfWork(loaded) as uow:
        words = "分期 please, I am 李四 at 13998765432"
        assert record_reply(uow, {"from": "13998765432", "text": words}).action == "none"
        assert record_reply(uow, {"from": "13998765432", "text": "分期"}).action == "plan_request"
        uow.commit()
    postings = raw(loaded, "SELECT count(*), sum(amount) FROM ledger_postings")
    open_loan = cli("privacy", "erase", "B1", "--reason", "borrower request", "--by", "dpo")
    assert open_loan.code == 2 and "still open" in open_loan.stderr
    early = cli(
        "privacy", "erase", "B2", "--reason", "borrower request", "--by", "dpo", "--as-of", "2026-06-01"
    )
    assert (
        early.code == 2
        and "retention runs until" in early.stderr
        and "--force-before-retention" in early.stderr
    )
    result = cli(
        "privacy", "erase", "B2", "--reason", "PIPL §47 request", "--by", "dpo",
        "--force-before-retention", "--json",
    )  # fmt: skip
    assert result.code == 0, result.stderr
    assert json.loads(result.stdout)["erased"] is True
    row = raw(
        loaded,
        "SELECT name, phone, id_number, email, data_key, key_id, phone_hash FROM borrowers WHERE id = 'B2'",
    )
    assert row == [(None,) * 7]
    assert "李四" not in raw_text(loaded) and "13998765432" not in raw_text(loaded)
    assert raw(loaded, "SELECT count(*), sum(amount) FROM ledger_postings") == postings
    assert "分期" not in json.dumps(
        raw(loaded, "SELECT detail FROM account_events"), default=str, ensure_ascii=False
    )
    assert raw(loaded, "SELECT id, amount FROM payments WHERE loan_id = 'L2'") == [("P2", 80000)]
    verify = cli("audit", "verify")
    assert verify.code == 0, verify.stdout + verify.stderr
    erased = raw(loaded, "SELECT actor, detail FROM audit_log WHERE action = 'pii.erase'")
    assert len(erased) == 1 and erased[0][0] == "dpo" and "李四" not in str(erased[0][1])
    out = json.loads(cli("privacy", "export", "B2", "--json").stdout)
    assert out["erased_at"] and out["identity"]["name"] is None and out["contact"]["phone"] is None
    assert out["loans"][0]["payments"][0]["id"] == "P2"
    with UnitOfWork(loaded) as uow:
        assert record_reply(uow, {"from": "13998765432", "text": "hi"}).action == "unknown_sender"
        assert uow.borrowers.get("B1").name == "张三"  # type: ignore[union-attr]


def test_purge_erases_each_kind_when_its_retention_ends(loaded: str, cli: Cli, tmp_path: Path) -> None:
    config = tmp_path / "privacy.yaml"
    config.write_text("retention:\n  identity: 5y\n  contact: 400d\n", encoding="utf-8")
    # L2 closed on 2026-02-14 (paid in full, on time); L1 is open.
    partial = cli("privacy", "purge", "--as-of", "2027-04-01", "--config", str(config), "--json")
    assert partial.code == 0, partial.stderr
    out = json.loads(partial.stdout)
    assert out["borrowers_changed"] == 1 and out["fully_erased"] == 0 and out["per_kind"]["contact"] == 1
    assert raw(loaded, "SELECT name IS NULL, phone IS NULL FROM borrowers WHERE id = 'B2'") == [(False, True)]
    full = json.loads(
        cli("privacy", "purge", "--as-of", "2031-03-01", "--config", str(config), "--json").stdout
    )
    assert full["fully_erased"] == 1
    assert raw(loaded, "SELECT id FROM borrowers WHERE erased_at IS NOT NULL") == [("B2",)]
    assert raw(loaded, "SELECT count(*) FROM borrowers WHERE id = 'B1' AND data_key IS NOT NULL") == [(1,)]
    again = json.loads(
        cli("privacy", "purge", "--as-of", "2031-03-01", "--config", str(config), "--json").stdout
    )
    assert again["borrowers_changed"] == 0
    assert cli("audit", "verify").code == 0


def test_a_bad_retention_setting_names_the_file_and_the_kind(
    store_url: str, cli: Cli, tmp_path: Path
) -> None:
    config = tmp_path / "privacy.yaml"
    config.write_text("retention:\n  identity: forever\n", encoding="utf-8")
    result = cli("privacy", "retention", "--config", str(config))
    assert result.code == 2 and "privacy.yaml" in result.stderr and "identity" in result.stderr


def test_find_and_duplicates_compare_through_the_keyed_hashes(loaded: str, cli: Cli, tmp_path: Path) -> None:
    found = cli("privacy", "find", "--phone", "+86 138 1234 5678", "--by", "desk-1", "--json")
    assert found.code == 0, found.stderr
    assert json.loads(found.stdout) == {"kind": "phone", "borrowers": ["B1"]}
    assert json.loads(cli("privacy", "find", "--email", " ZS@Example.com", "--json").stdout)["borrowers"] == [
        "B1"
    ]
    audited = raw(loaded, "SELECT actor, subject, detail FROM audit_log WHERE action = 'pii.find'")
    assert audited[0][:2] == ("desk-1", "lookup:phone") and "13812345678" not in str(audited)
    assert cli("privacy", "duplicates").code == 0
    again = tmp_path / "again.csv"
    again.write_text(  # the same person under a second borrower id
        LOANS.splitlines()[0] + "\nL3,B3,baitiao-30d,CNY,1,2026-02-15,100.00,,,2026-01-16,张三,138-1234-5678,"
        "110101199003071233,,,,,\n",
        encoding="utf-8",
    )
    assert cli("import", "loans", str(again)).code == 0
    dupes = cli("privacy", "duplicates", "--json")
    assert dupes.code == 1
    assert json.loads(dupes.stdout) == {"phone": [["B1", "B3"]], "id_number": [["B1", "B3"]], "email": []}


def test_a_work_number_is_sealed_and_still_compared_and_opened(loaded: str, cli: Cli) -> None:
    def flag(*args: str) -> CliResult:
        return cli("borrower", "flag", "B1", *args, "--by", "agent-7", "--reason", "told us", "--json")

    assert flag("--set", "work_number", "--value", "01088886666").code == 0
    stored = raw(loaded, "SELECT value FROM borrower_flags")
    assert len(stored) == 1 and "01088886666" not in str(stored) and str(stored[0][0]).startswith("pdv1:")
    again = flag("--set", "work_number", "--value", " 01088886666 ")
    assert again.code == 0 and json.loads(again.stdout)["changed"] is False  # the same fact, found sealed
    with UnitOfWork(loaded) as uow:
        assert [f.value for f in uow.flags.for_borrowers(["B1"])["B1"]] == ["01088886666"]
    shown = cli("borrower", "show", "B1", "--json")
    assert shown.code == 0 and "01088886666" not in shown.stdout
    assert cli("keys", "rotate", "--reencrypt").code == 0  # new data keys: the value is sealed again
    with UnitOfWork(loaded) as uow:
        assert [f.value for f in uow.flags.for_borrowers(["B1"])["B1"]] == ["01088886666"]
    assert flag("--clear", "work_number", "--value", "01088886666").code == 0
    export = json.loads(cli("privacy", "export", "B1", "--json").stdout)
    assert [f["value"] for f in export["flags"]] == ["01088886666"]
