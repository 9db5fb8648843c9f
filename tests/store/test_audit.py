"""The audit log's hash chain: intact, a changed row, a deleted row, deleted newest rows."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from sqlalchemy import text

from arrears.adapters.store import open_store
from arrears.services import audit
from arrears.services.unit_of_work import UnitOfWork


def _tamper(url: str, statement: str) -> None:
    """What someone with write access to the database could do: drop the guard, then edit."""
    engine = open_store(url)
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("DROP TRIGGER audit_log_append_only ON audit_log"))
        else:
            connection.execute(text("DROP TRIGGER audit_log_no_update"))
            connection.execute(text("DROP TRIGGER audit_log_no_delete"))
        connection.execute(text(statement))


def test_an_intact_chain_verifies(loaded: str, cli) -> None:
    result = cli("audit", "verify")
    assert result.code == 0
    assert "audit log intact: 4 row(s)" in result.stdout
    verdict = json.loads(cli("audit", "verify", "--json").stdout)
    assert {k: verdict[k] for k in ("ok", "count", "bad_seq", "reason")} == {
        "ok": True,
        "count": 4,
        "bad_seq": None,
        "reason": None,
    }
    # no key configured: the development key, from the first row on; no checkpoint yet
    assert verdict["segments"] == [{"from_seq": 1, "scheme": "development"}]
    assert verdict["development_key"] is True and verdict["checkpoint"] is None


def test_each_hash_covers_the_row_and_the_previous_hash(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = "k" * 40
    monkeypatch.setenv("ARREARS_AUDIT_KEY", key)
    with UnitOfWork(store_url) as uow:
        first = audit.append(uow, "alice", "policy.publish", "policy:segmented@3", {"n": 1, "名": "值"})
        second = audit.append(uow, "bob", "policy.publish", "policy:segmented@4", {})
        uow.commit()
    body = {
        "seq": 1,
        "at": first.at.isoformat(timespec="microseconds"),
        "actor": "alice",
        "action": "policy.publish",
        "subject": "policy:segmented@3",
        "detail": {"n": 1, "名": "值"},
        "prev_hash": "0" * 64,
    }
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    assert first.hash == hmac.new(key.encode(), canonical, hashlib.sha256).hexdigest()
    assert first.hash != hashlib.sha256(canonical).hexdigest()
    assert second.prev_hash == first.hash
    with UnitOfWork(store_url) as uow:
        assert [e.hash for e in audit.entries(uow)] == [first.hash, second.hash]


@pytest.mark.parametrize(
    ("statement", "seq", "reason"),
    [
        ("UPDATE audit_log SET actor = 'mallory' WHERE seq = 2", 2, "row 2 was changed (hash mismatch)"),
        ("DELETE FROM audit_log WHERE seq = 2", 2, "row 2 is missing (deleted)"),
        ("DELETE FROM audit_log WHERE seq = 4", 4, "row 4 is missing (deleted)"),
    ],
    ids=["changed", "deleted", "newest-deleted"],
)
def test_a_changed_or_deleted_row_is_named(loaded: str, cli, statement: str, seq: int, reason: str) -> None:
    _tamper(loaded, statement)
    result = cli("audit", "verify")
    assert result.code == 1
    assert f"audit log broken: {reason}" in result.stdout
    verdict = json.loads(cli("audit", "verify", "--json").stdout)
    assert (verdict["ok"], verdict["bad_seq"], verdict["reason"]) == (False, seq, reason)


def test_imports_write_one_audit_row_each(loaded: str) -> None:
    with UnitOfWork(loaded) as uow:
        rows = audit.entries(uow)
    assert [(r.actor, r.action) for r in rows] == [
        ("test", "import.loans"),
        ("test", "import.payments"),
        ("test", "import.payments"),
        ("test", "import.events"),
    ]
    assert rows[0].subject.endswith("loans.csv")
    assert {k: rows[0].detail[k] for k in ("rows", "written", "duplicates", "rejected", "loans")} == {
        "rows": 4,
        "written": 4,
        "duplicates": 0,
        "rejected": 0,
        "loans": 2,
    }
