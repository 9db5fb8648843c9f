"""Audit tampering: every way of rewriting the log that someone with write access to the database could try
makes `arrears audit verify` fail (exit 1, naming the first bad row or the checkpoint the log no longer
matches); on PostgreSQL the application role cannot even try (the database refuses). A clean run, dispatch
and checkpoint verify.

Someone with the owner's rights (or the SQLite file) but not the audit key: they drop the guards, edit,
and recompute what they can — the hashes in plain SHA-256 or under the public development key.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from arrears.adapters.store import forget_engines, open_store
from arrears.domain.audit import (
    DEV_KEY,
    GENESIS,
    AuditError,
    AuditKey,
    Checkpoint,
    chained,
)
from arrears.services import audit
from arrears.services.unit_of_work import UnitOfWork
from tests.conftest import CliResult
from tests.dispatch.conftest import World, world  # noqa: F401 - the dispatch tests' world, as a fixture
from tests.store.tampering import append_forged_dev_rows, is_pg, recompute, rows_of, tamper

KEY = "aud-3b8e1f0c6d2a49e7a5c4b9d0e8f1a2b3"
OTHER_KEY = "aud-9f8e7d6c5b4a39281706f5e4d3c2b1a0"
SEND = "2026-03-31T11:00:00+08:00"
Cli = Callable[..., CliResult]


@pytest.fixture(autouse=True)
def keyed(monkeypatch: pytest.MonkeyPatch) -> str:
    """A production key for every test here (a test that wants another changes it)."""
    monkeypatch.delenv("ARREARS_AUDIT_KEY_FILE", raising=False)
    monkeypatch.setenv("ARREARS_AUDIT_KEY", KEY)
    return KEY


@pytest.fixture
def anchored(loaded: str, cli: Cli) -> str:
    """The literal store (4 import rows) plus 6 more rows, checkpointed: 10 rows, head seq 10."""
    with UnitOfWork(loaded) as uow:
        for n in range(6):
            audit.append(uow, "alice", "policy.publish", f"policy:segmented@{n}", {"n": n})
        uow.commit()
    result = cli("audit", "checkpoint", "--json")
    assert result.code == 0, result.stderr
    assert json.loads(result.stdout)["checkpoint"]["head_seq"] == 10
    return loaded


def _broken(cli: Cli, seq: int | None, *words: str) -> dict[str, Any]:
    result = cli("audit", "verify")
    assert result.code == 1, result.stdout
    assert "audit log broken:" in result.stdout
    verdict = json.loads(cli("audit", "verify", "--json").stdout)
    assert (verdict["ok"], verdict["bad_seq"]) == (False, seq), verdict
    for word in words:
        assert word in verdict["reason"], verdict["reason"]
    return dict(verdict)


# --- the tampering cases ------------------------------------------------------------------------------


def test_the_anchored_log_verifies(anchored: str, cli: Cli) -> None:
    result = cli("audit", "verify")
    assert result.code == 0, result.stdout
    assert "audit log intact: 10 row(s)" in result.stdout and "matches the checkpoint" in result.stdout
    verdict = json.loads(cli("audit", "verify", "--json").stdout)
    key_id = AuditKey(KEY.encode()).id
    assert verdict["segments"] == [{"from_seq": 1, "scheme": f"key:{key_id}"}]
    assert verdict["checkpoint"]["head_seq"] == 10 and verdict["checkpoint"]["rows"] == 10
    assert verdict["key_id"] == f"key:{key_id}" and verdict["development_key"] is False


def test_a_payload_edit_is_named(anchored: str, cli: Cli) -> None:
    tamper(anchored, """UPDATE audit_log SET detail = '{"n": 99}' WHERE seq = 7""")
    _broken(cli, 7, "row 7 was changed (hash mismatch)")


def test_a_deleted_middle_row_is_named(anchored: str, cli: Cli) -> None:
    tamper(anchored, "DELETE FROM audit_log WHERE seq = 5")
    _broken(cli, 5, "row 5 is missing (deleted)")


def test_two_swapped_rows_are_named(anchored: str, cli: Cli) -> None:
    tamper(
        anchored,
        "UPDATE audit_log SET seq = -1 WHERE seq = 4",
        "UPDATE audit_log SET seq = 4 WHERE seq = 5",
        "UPDATE audit_log SET seq = 5 WHERE seq = -1",
    )
    _broken(cli, 4, "row 4 does not link to row 3")


def test_a_deleted_tail_with_the_head_moved_back_fails_on_the_checkpoint(anchored: str, cli: Cli) -> None:
    kept = rows_of(anchored)[5]  # seq 6
    tamper(
        anchored,
        "DELETE FROM audit_log WHERE seq > 6",
        f"UPDATE audit_head SET seq = 6, hash = '{kept.hash}' WHERE id = 1",
    )
    verdict = _broken(cli, 7, "rows 7..10 are missing", "the checkpoint of", "saw 10 row(s)", "(truncated)")
    assert verdict["count"] == 6
    # and no later checkpoint blesses the shorter log
    result = cli("audit", "checkpoint")
    assert result.code == 1 and "audit checkpoint refused" in result.stderr
    assert "row 10 is missing" in result.stderr
    _broken(cli, 7, "(truncated)")


def test_a_run_after_a_truncation_commits_but_is_not_anchored_and_exits_1(anchored: str, cli: Cli) -> None:
    kept = rows_of(anchored)[5]
    tamper(
        anchored,
        "DELETE FROM audit_log WHERE seq > 6",
        f"UPDATE audit_head SET seq = 6, hash = '{kept.hash}' WHERE id = 1",
    )
    result = cli("run", "--as-of", "2026-03-31", "--json")
    assert result.code == 1
    assert json.loads(result.stdout)["as_of"] == "2026-03-31"  # the run itself is done
    assert "audit checkpoint refused: row 10 is missing" in result.stderr


def test_a_full_rewrite_in_plain_sha256_fails_on_the_checkpoint(anchored: str, cli: Cli) -> None:
    tamper(anchored, """UPDATE audit_log SET detail = '{"n": 99}' WHERE seq = 7""")
    recompute(anchored, None)
    _broken(cli, 10, "row 10 does not match the checkpoint of", "(the log was rewritten)")
    assert cli("audit", "checkpoint").code == 1  # nor is the rewrite anchored later


def test_a_full_rewrite_under_the_development_key_fails_on_the_checkpoint(anchored: str, cli: Cli) -> None:
    recompute(anchored, DEV_KEY)
    _broken(cli, 10, "(the log was rewritten)")


def test_a_tail_recomputed_without_the_key_is_named(anchored: str, cli: Cli) -> None:
    tamper(anchored, "UPDATE audit_log SET actor = 'mallory' WHERE seq = 8")
    recompute(anchored, None, start=8)
    _broken(
        cli, 8, "row 8 was changed: its hash is a plain SHA-256 where key", "(recomputed without the key)"
    )


def test_rows_appended_under_the_development_key_are_a_downgrade(anchored: str, cli: Cli) -> None:
    """Forged rows after the keyed ones, behind a marker naming the (public) development key."""
    append_forged_dev_rows(anchored, ("payment.reverse", "loan:L1", {}))
    _broken(cli, 11, "row 11 switches from key", "down to the development key")


def test_a_forged_checkpoint_fails(anchored: str, cli: Cli, tmp_path: Path) -> None:
    forged = Checkpoint(3, "f" * 64, 3, datetime.now(UTC), AuditKey(KEY.encode()).id, "0" * 64)
    directory = tmp_path / "audit-checkpoints"
    with (directory / f"checkpoints-{forged.at:%Y-%m-%d}.jsonl").open("a") as f:
        f.write(json.dumps(forged.to_dict()) + "\n")
    verdict = _broken(cli, None, "does not verify with its key (forged or corrupted)")
    assert verdict["checkpoint"]["forged"] is True


def test_without_a_checkpoint_the_log_is_not_anchored(loaded: str, cli: Cli) -> None:
    result = cli("audit", "verify")
    assert result.code == 0 and "not anchored: no checkpoint in" in result.stdout
    result = cli("audit", "verify", "--require-checkpoint", "--json")
    assert result.code == 1 and "no checkpoint in" in json.loads(result.stdout)["reason"]


def test_a_checkpoint_signed_with_the_development_key_is_not_trusted_with_a_real_key(
    store_url: str, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ARREARS_AUDIT_KEY")
    with UnitOfWork(store_url) as uow:
        audit.append(uow, "dev", "policy.publish", "policy:p@1", {})
        uow.commit()
    assert cli("audit", "checkpoint").code == 0  # the development key signs it
    monkeypatch.setenv("ARREARS_AUDIT_KEY", KEY)
    verdict = json.loads(cli("audit", "verify", "--json").stdout)
    assert verdict["ok"] and verdict["checkpoint"] is None
    assert any("development key" in n for n in verdict["notes"])


# --- keys: rows from before keys, the development key, rotation, no downgrade --------------------------


def test_rows_from_before_keys_stay_verifiable_up_to_the_marker(store_url: str, cli: Cli) -> None:
    """A log written before keys (plain SHA-256) goes on keyed from a marker row."""
    legacy = chained(
        None, datetime.now(UTC), "old", [("import.loans", "f.csv", {"rows": n}) for n in range(3)], None
    )
    with UnitOfWork(store_url) as uow:
        uow.audit.add(legacy)
        uow.commit()
        # (a fresh unit of work: the store is upgraded, and the head follows the plain rows)
    with UnitOfWork(store_url) as uow:
        audit.append(uow, "alice", "policy.publish", "policy:p@1", {})
        uow.commit()
    rows = rows_of(store_url)
    assert [r.action for r in rows] == ["import.loans"] * 3 + ["audit.key", "policy.publish"]
    assert rows[3].detail == {"key_id": AuditKey(KEY.encode()).id, "previous": "sha256"}
    verdict = json.loads(cli("audit", "verify", "--json").stdout)
    assert verdict["ok"], verdict
    key_id = AuditKey(KEY.encode()).id
    assert verdict["segments"] == [
        {"from_seq": 1, "scheme": "sha256"},
        {"from_seq": 4, "scheme": f"key:{key_id}"},
    ]


def test_a_store_set_up_with_the_development_key_goes_on_under_the_real_key(
    store_url: str, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    loaded = store_url
    monkeypatch.delenv("ARREARS_AUDIT_KEY")
    with UnitOfWork(loaded) as uow:
        audit.append(uow, "dev", "policy.publish", "policy:p@1", {})
        uow.commit()
    monkeypatch.setenv("ARREARS_AUDIT_KEY", KEY)
    with UnitOfWork(loaded) as uow:
        audit.append(uow, "ops", "policy.publish", "policy:p@2", {})
        uow.commit()
    verdict = json.loads(cli("audit", "verify", "--json").stdout)
    assert verdict["ok"]
    assert [s["scheme"] for s in verdict["segments"]] == ["development", f"key:{AuditKey(KEY.encode()).id}"]
    # a process that lost its key may not append under the development key after keyed rows
    monkeypatch.delenv("ARREARS_AUDIT_KEY")
    with UnitOfWork(loaded) as uow, pytest.raises(AuditError, match="only the development key"):
        audit.append(uow, "dev", "policy.publish", "policy:p@3", {})


def test_a_rotated_key_verifies_with_the_retired_one_in_the_key_file(
    anchored: str, cli: Cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("ARREARS_AUDIT_KEY")
    keys = tmp_path / "audit.keys"
    keys.write_text(f"# current first, retired after\n{OTHER_KEY}\n{KEY}\n", encoding="utf-8")
    monkeypatch.setenv("ARREARS_AUDIT_KEY_FILE", str(keys))
    with UnitOfWork(anchored) as uow:
        audit.append(uow, "ops", "policy.publish", "policy:p@9", {})
        uow.commit()
    assert cli("audit", "checkpoint").code == 0
    verdict = json.loads(cli("audit", "verify", "--json").stdout)
    assert verdict["ok"], verdict
    old, new = AuditKey(KEY.encode()).id, AuditKey(OTHER_KEY.encode()).id
    assert verdict["segments"] == [
        {"from_seq": 1, "scheme": f"key:{old}"},
        {"from_seq": 11, "scheme": f"key:{new}"},
    ]
    assert verdict["checkpoint"]["key_id"] == new and verdict["checkpoint"]["head_seq"] == 12
    # without the retired key, its rows cannot be checked: that fails, it does not pass
    keys.write_text(f"{OTHER_KEY}\n", encoding="utf-8")
    _broken(cli, 1, "verifies under no configured key")


def test_appends_refuse_a_newest_row_no_key_verifies(anchored: str) -> None:
    tamper(anchored, "UPDATE audit_log SET actor = 'mallory' WHERE seq = 10")
    audit._known_tips.clear()  # another process: it has not seen this log's tip
    with UnitOfWork(anchored) as uow, pytest.raises(AuditError, match="verifies under no configured key"):
        audit.append(uow, "alice", "policy.publish", "policy:p@1", {})


def test_the_database_refuses_rows_that_do_not_follow_the_head(anchored: str) -> None:
    tip = rows_of(anchored)[-1]
    stray = {"seq": 12, "prev": tip.hash}, {"seq": 11, "prev": "e" * 64}
    for row in stray:
        with (
            pytest.raises(DBAPIError, match=r"follow the head|link to the row"),
            open_store(anchored).begin() as c,
        ):
            c.execute(
                text(
                    "INSERT INTO audit_log (seq, at, actor, action, subject, detail, prev_hash, hash) "
                    "VALUES (:seq, CURRENT_TIMESTAMP, 'm', 'x', 'y', '{}', :prev, :hash)"
                ),
                {**row, "hash": uuid.uuid4().hex * 2},
            )
    for statement in ("UPDATE audit_head SET seq = 3", "DELETE FROM audit_head"):
        with pytest.raises(DBAPIError, match="audit_head"), open_store(anchored).begin() as c:
            c.execute(text(statement))


# --- PostgreSQL roles ---------------------------------------------------------------------------------


@pytest.fixture
def app_url(store_url: str, cli: Cli, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """`arrears db roles` run as the owner (the test role): the application role's URL."""
    if not is_pg(store_url):
        pytest.skip("SQLite has no roles")
    owner = create_engine(store_url)
    with owner.connect() as c:
        if not c.execute(text("SELECT rolcreaterole FROM pg_roles WHERE rolname = current_user")).scalar():
            why = "the test role lacks CREATEROLE (scripts/postgres.sh grants it)"
            if os.environ.get("CI") == "true":
                pytest.fail(why)
            pytest.skip(why)
    role = f"arrears_app_{uuid.uuid4().hex[:10]}"
    password = uuid.uuid4().hex
    monkeypatch.setenv("TEST_APP_PASSWORD", password)
    result = cli(
        "db",
        "roles",
        "--owner",
        store_url,
        "--app-role",
        role,
        "--app-password-env",
        "TEST_APP_PASSWORD",
        "--json",
    )
    try:
        assert result.code == 0, result.stderr
        report = json.loads(result.stdout)
        assert report["created"] is True
        assert report["tables"]["audit_log"] == ["SELECT", "INSERT"]
        assert report["tables"]["audit_head"] == ["SELECT"]
        assert report["tables"]["ledger_postings"] == ["SELECT", "INSERT"]
        assert report["tables"]["loans"] == ["SELECT", "INSERT", "UPDATE", "DELETE"]
        yield make_url(store_url).set(username=role, password=password).render_as_string(hide_password=False)
    finally:
        forget_engines()
        with owner.begin() as c:  # DROP OWNED needs the role's privileges: CREATEROLE may lend them
            c.execute(text(f'GRANT "{role}" TO current_user'))
            c.execute(text(f'DROP OWNED BY "{role}"'))
            c.execute(text(f'DROP ROLE IF EXISTS "{role}"'))
        owner.dispose()


REFUSED = {
    "update audit_log": "UPDATE audit_log SET actor = 'mallory'",
    "delete audit_log": "DELETE FROM audit_log WHERE seq = 2",
    "truncate audit_log": "TRUNCATE audit_log",
    "disable audit_log's triggers": "ALTER TABLE audit_log DISABLE TRIGGER USER",
    "drop audit_log's trigger": "DROP TRIGGER audit_log_append_only ON audit_log",
    "update audit_head": "UPDATE audit_head SET seq = 1",
    "delete audit_head": "DELETE FROM audit_head",
    "truncate audit_head": "TRUNCATE audit_head",
    "insert audit_head": f"INSERT INTO audit_head (id, seq, hash) VALUES (2, 0, '{GENESIS}')",
    "disable audit_head's triggers": "ALTER TABLE audit_head DISABLE TRIGGER USER",
    "lock audit_head's row": "SELECT seq FROM audit_head FOR UPDATE",
    "replica mode (triggers off)": "SET session_replication_role = replica",
    "a trigger of its own": (
        "CREATE TRIGGER mine BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION arrears_append_only()"
    ),
    "update ledger_postings": "UPDATE ledger_postings SET amount = 0",
    "change the schema revision": "UPDATE alembic_version SET version_num = 'x'",
}


@pytest.mark.postgres
@pytest.mark.parametrize("statement", list(REFUSED.values()), ids=list(REFUSED))
def test_the_application_role_is_refused(anchored: str, app_url: str, statement: str) -> None:
    engine = create_engine(app_url)
    try:
        with pytest.raises(DBAPIError) as refused, engine.begin() as c:
            c.execute(text(statement))
        assert getattr(refused.value.orig, "sqlstate", None) == "42501", (
            refused.value
        )  # insufficient_privilege
    finally:
        engine.dispose()
    assert len(rows_of(anchored)) == 10


@pytest.mark.postgres
def test_the_application_role_runs_the_product_and_a_row_it_forges_is_caught(
    anchored: str, app_url: str, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARREARS_DB_URL", app_url)
    forget_engines()
    with UnitOfWork(app_url) as uow:  # appends: the database moves the head it may only read
        audit.append(uow, "alice", "policy.publish", "policy:p@1", {})
        uow.commit()
    assert cli("audit", "checkpoint").code == 0
    assert cli("audit", "verify").code == 0
    # INSERT is granted: a row that follows the head is taken, but without the key its hash gives it away
    tip = rows_of(app_url)[-1]
    forged = chained(
        (tip.seq, tip.hash), datetime.now(UTC), "mallory", [("payment.reverse", "loan:L1", {})], None
    )
    with UnitOfWork(app_url) as uow:
        uow.audit.add(forged)
        uow.commit()
    _broken(cli, 12, "row 12 was changed: its hash is a plain SHA-256 where key")


def test_db_roles_on_sqlite_says_why_not(store_url: str, cli: Cli) -> None:
    if is_pg(store_url):
        pytest.skip("PostgreSQL has roles")
    result = cli("db", "roles", "--owner", store_url, "--app-role", "arrears_app")
    assert result.code == 2 and "SQLite has no roles" in result.stderr


# --- a clean run, dispatch and checkpoint ---------------------------------------------------------------


def test_a_clean_run_dispatch_and_checkpoint_verify(
    world: World,  # noqa: F811 - the fixture imported above
    cli: Cli,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    for name, value in world.env.items():
        monkeypatch.setenv(name, value)
    result = cli("run", "--as-of", str(date(2026, 4, 1)), "--json")
    assert result.code == 0, result.stderr
    after_run = _checkpoints(tmp_path)
    assert len(after_run) == 1
    result = cli("dispatch", "--once", "--dev", "--as-of-time", SEND, "--json")
    assert result.code == 0, result.stderr
    assert json.loads(result.stdout)["sent"] > 0
    after_dispatch = _checkpoints(tmp_path)
    assert len(after_dispatch) == 2 and after_dispatch[1]["head_seq"] > after_run[0]["head_seq"]
    result = cli("audit", "checkpoint")
    assert result.code == 0 and "head unchanged" in result.stdout
    assert len(_checkpoints(tmp_path)) == 2
    result = cli("audit", "verify", "--require-checkpoint", "--json")
    assert result.code == 0, result.stdout
    verdict = json.loads(result.stdout)
    assert verdict["count"] == after_dispatch[1]["head_seq"] == verdict["checkpoint"]["head_seq"]
    assert verdict["checkpoint"]["rows"] == verdict["count"]


def _checkpoints(tmp_path: Path) -> list[dict[str, Any]]:
    return [
        json.loads(line)
        for path in sorted((tmp_path / "audit-checkpoints").glob("checkpoints-*.jsonl"))
        for line in path.read_text().splitlines()
    ]


# --- production refuses the development key ------------------------------------------------------------


def test_serve_and_dispatch_refuse_a_missing_placeholder_or_short_audit_key(tmp_path: Path) -> None:
    from arrears.entrypoints.startup_checks import audit_key_problems

    def reasons(env: dict[str, str]) -> list[str]:
        return [f"{p.setting} {p.reason}" for p in audit_key_problems(env)]

    assert reasons({}) == ["audit_key is not set (the public development key would be used)"]
    assert "placeholder" in reasons({"ARREARS_AUDIT_KEY": "change-me-audit-key"})[0]
    assert "too short" in reasons({"ARREARS_AUDIT_KEY": "s3cr3t"})[0]
    assert reasons({"ARREARS_AUDIT_KEY": KEY}) == []
    keys = tmp_path / "audit.keys"
    keys.write_text(f"{KEY}\n", encoding="utf-8")
    assert reasons({"ARREARS_AUDIT_KEY_FILE": str(keys)}) == []
    assert "cannot be read" in reasons({"ARREARS_AUDIT_KEY_FILE": str(tmp_path / "missing")})[0]
