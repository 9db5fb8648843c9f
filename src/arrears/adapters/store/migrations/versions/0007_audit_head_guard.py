"""The audit chain's head kept by the database: rows must follow it, and only the database moves it.

- audit_head gets its genesis row (seq 0, 64 zeros) when the log is empty, so every insert is checked the
  same way.
- An insert into audit_log must extend the head: the first new row's seq is the head's + 1 and its
  prev_hash the head's hash, the new rows are contiguous and linked among themselves; the head then moves
  to the last of them. PostgreSQL: an AFTER INSERT statement trigger (transition table) whose function is
  SECURITY DEFINER, owned by the role running this migration (the schema's owner), so an application role
  granted only SELECT on audit_head still advances it through its inserts — and cannot write it otherwise.
  SQLite: row triggers doing the same.
- audit_head itself only moves forward, to a row audit_log holds with that hash; it cannot be deleted or
  truncated (a guard against the owner's own mistakes: the owner may drop triggers, which is why the chain
  is also keyed and anchored outside the database).

Revision ID: 0007_audit_head_guard
Revises: 0006_jobs
Create Date: 2027-01-15
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0007_audit_head_guard"
down_revision: str | None = "0006_jobs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GENESIS = "0" * 64

PG_ADVANCE = """
CREATE OR REPLACE FUNCTION arrears_audit_advance() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = {schema}, pg_temp AS $$
DECLARE
  head_seq bigint; head_hash text; lo bigint; hi bigint; n bigint; top text;
BEGIN
  SELECT min(seq), max(seq), count(*) INTO lo, hi, n FROM new_rows;
  IF n = 0 THEN RETURN NULL; END IF;
  SELECT seq, hash INTO head_seq, head_hash FROM audit_head WHERE id = 1 FOR UPDATE;
  IF NOT FOUND THEN RAISE EXCEPTION 'audit_head is missing'; END IF;
  IF lo <> head_seq + 1 OR hi - lo + 1 <> n THEN
    RAISE EXCEPTION 'audit_log rows must follow the head: expected seq %, got % to %', head_seq + 1, lo, hi;
  END IF;
  IF EXISTS (
    SELECT 1 FROM (SELECT prev_hash, coalesce(lag(hash) OVER (ORDER BY seq), head_hash) AS before FROM new_rows) r
    WHERE r.prev_hash IS DISTINCT FROM r.before
  ) THEN
    RAISE EXCEPTION 'audit_log rows must link to the row before them (prev_hash)';
  END IF;
  SELECT hash INTO top FROM new_rows WHERE seq = hi;
  UPDATE audit_head SET seq = hi, hash = top WHERE id = 1;
  RETURN NULL;
END $$
"""

PG_HEAD_GUARD = """
CREATE OR REPLACE FUNCTION arrears_audit_head_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = {schema}, pg_temp AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN RAISE EXCEPTION 'audit_head cannot be deleted'; END IF;
  IF TG_OP = 'INSERT' THEN
    IF EXISTS (SELECT 1 FROM audit_head) THEN RAISE EXCEPTION 'audit_head holds one row'; END IF;
    RETURN NEW;
  END IF;
  IF NEW.id <> OLD.id OR NEW.seq < OLD.seq
     OR (NEW.seq > 0 AND NOT EXISTS (SELECT 1 FROM audit_log WHERE seq = NEW.seq AND hash = NEW.hash)) THEN
    RAISE EXCEPTION 'audit_head only moves forward, to a row audit_log holds';
  END IF;
  RETURN NEW;
END $$
"""

SQLITE = (
    "CREATE TRIGGER audit_log_follows_head BEFORE INSERT ON audit_log "
    "WHEN NEW.seq IS NOT (SELECT seq + 1 FROM audit_head WHERE id = 1) "
    "OR NEW.prev_hash IS NOT (SELECT hash FROM audit_head WHERE id = 1) "
    "BEGIN SELECT RAISE(ABORT, 'audit_log rows must follow the head (seq, prev_hash)'); END",
    "CREATE TRIGGER audit_log_advance_head AFTER INSERT ON audit_log "
    "BEGIN UPDATE audit_head SET seq = NEW.seq, hash = NEW.hash WHERE id = 1; END",
    "CREATE TRIGGER audit_head_forward BEFORE UPDATE ON audit_head "
    "WHEN NEW.id IS NOT OLD.id OR NEW.seq < OLD.seq "
    "OR (NEW.seq > 0 AND NOT EXISTS (SELECT 1 FROM audit_log WHERE seq = NEW.seq AND hash = NEW.hash)) "
    "BEGIN SELECT RAISE(ABORT, 'audit_head only moves forward, to a row audit_log holds'); END",
    "CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_head "
    "BEGIN SELECT RAISE(ABORT, 'audit_head cannot be deleted'); END",
    "CREATE TRIGGER audit_head_one_row BEFORE INSERT ON audit_head "
    "WHEN EXISTS (SELECT 1 FROM audit_head) "
    "BEGIN SELECT RAISE(ABORT, 'audit_head holds one row'); END",
)


def upgrade() -> None:
    # The head of a log written before this migration is its newest row; an empty log starts at genesis.
    op.execute(
        "INSERT INTO audit_head (id, seq, hash) "
        f"SELECT 1, 0, '{GENESIS}' WHERE NOT EXISTS (SELECT 1 FROM audit_head WHERE id = 1) "
        "AND NOT EXISTS (SELECT 1 FROM audit_log)"
    )
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        for statement in SQLITE:
            op.execute(statement)
        return
    schema = bind.exec_driver_sql("SELECT quote_ident(current_schema())").scalar()
    op.execute(PG_ADVANCE.format(schema=schema))
    op.execute(PG_HEAD_GUARD.format(schema=schema))
    op.execute("REVOKE ALL ON FUNCTION arrears_audit_advance() FROM PUBLIC")
    op.execute(
        "CREATE TRIGGER audit_log_advance_head AFTER INSERT ON audit_log REFERENCING NEW TABLE AS new_rows "
        "FOR EACH STATEMENT EXECUTE FUNCTION arrears_audit_advance()"
    )
    op.execute(
        "CREATE TRIGGER audit_head_guard BEFORE INSERT OR UPDATE OR DELETE ON audit_head "
        "FOR EACH ROW EXECUTE FUNCTION arrears_audit_head_guard()"
    )
    op.execute(
        "CREATE TRIGGER audit_head_no_truncate BEFORE TRUNCATE ON audit_head "
        "FOR EACH STATEMENT EXECUTE FUNCTION arrears_append_only()"
    )


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        for name in (
            "audit_head_one_row",
            "audit_head_no_delete",
            "audit_head_forward",
            "audit_log_advance_head",
            "audit_log_follows_head",
        ):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        return
    op.execute("DROP TRIGGER IF EXISTS audit_head_no_truncate ON audit_head")
    op.execute("DROP TRIGGER IF EXISTS audit_head_guard ON audit_head")
    op.execute("DROP TRIGGER IF EXISTS audit_log_advance_head ON audit_log")
    op.execute("DROP FUNCTION IF EXISTS arrears_audit_head_guard()")
    op.execute("DROP FUNCTION IF EXISTS arrears_audit_advance()")
