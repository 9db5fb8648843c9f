"""PostgreSQL roles: the owner runs the migrations and owns every table; the application role only uses them.

`setup_roles(owner_url, app_role)` (`arrears db roles`), connected as the owner:
1. brings the schema to the newest migration (as the owner, so the owner owns what the migrations create,
   including the SECURITY DEFINER function that advances audit_head);
2. creates the application role (LOGIN, optional password) if it does not exist — the owner needs
   CREATEROLE for that; otherwise a DBA creates it first and this only grants;
3. grants it CONNECT, USAGE on the schema (never CREATE), the sequences, and per table:
   - audit_log, ledger_postings: SELECT, INSERT (append-only: no UPDATE, DELETE, TRUNCATE);
   - audit_head, alembic_version: SELECT (the database moves the audit head; only the owner migrates);
   - every other table: SELECT, INSERT, UPDATE, DELETE (no TRUNCATE, REFERENCES or TRIGGER);
   and sets default privileges so tables later migrations create get the last line's rights;
4. checks the outcome: the application role is no superuser, no member of the owner, owns nothing of the
   schema, and has none of the refused rights (has_table_privilege).

ALTER TABLE (… DISABLE TRIGGER) and DROP TRIGGER need ownership, which the application role never has.
Re-run it after `arrears db upgrade` when a migration adds an append-only table (it is idempotent).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from arrears.adapters.store.connection import create_store_engine, display_url, store_url
from arrears.adapters.store.migrating import upgrade
from arrears.domain.errors import InputError

OWNER_URL_ENV = "ARREARS_DB_OWNER_URL"
APPEND_ONLY = ("audit_log", "ledger_postings")
READ_ONLY = ("audit_head", "alembic_version")
DML = ("SELECT", "INSERT", "UPDATE", "DELETE")
REFUSED = ("UPDATE", "DELETE", "TRUNCATE", "TRIGGER", "REFERENCES")
_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


@dataclass
class RolesReport:
    owner: str
    app_role: str
    created: bool
    schema: str
    tables: dict[str, list[str]] = field(default_factory=dict)  # table → the app role's rights
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {
            "owner": self.owner,
            "app_role": self.app_role,
            "created": self.created,
            "schema": self.schema,
            "tables": self.tables,
            "warnings": self.warnings,
        }


def rights_for(table: str) -> tuple[str, ...]:
    if table in APPEND_ONLY:
        return ("SELECT", "INSERT")
    if table in READ_ONLY:
        return ("SELECT",)
    return DML


def setup_roles(owner_url: str, app_role: str, password: str | None = None) -> RolesReport:
    if not _NAME.match(app_role):
        raise InputError(
            f"not a role name: {app_role!r} (lower-case letters, digits and _, up to 63)", field="--app-role"
        )
    url = store_url(owner_url)
    engine = create_store_engine(url)
    try:
        if engine.dialect.name != "postgresql":
            raise InputError(
                "SQLite has no roles: anyone who can write the file can write every table. There the audit "
                "log's guarantee is its key and the checkpoints outside the database (docs/store.md)",
                field="--owner",
            )
        upgrade(engine)
        return _grant(engine, app_role, password, url)
    finally:
        engine.dispose()


def _grant(engine: Engine, app: str, password: str | None, url: str) -> RolesReport:
    with engine.begin() as c:
        owner, schema, database = c.execute(
            text("SELECT current_user, current_schema(), current_database()")
        ).one()
        if app == owner:
            raise InputError(
                f"the application role must not be the owner ({owner} runs the migrations: {display_url(url)})",
                field="--app-role",
            )
        created = _ensure_role(c, app, password)
        su, member = c.execute(
            text("SELECT rolsuper, pg_has_role(:app, :owner, 'MEMBER') FROM pg_roles WHERE rolname = :app"),
            {"app": app, "owner": owner},
        ).one()
        if su or member:
            why = "a superuser" if su else f"a member of {owner}"
            raise InputError(f"{app} is {why}: it could change the audit log", field="--app-role")
        tables = _tables(c, schema)
        foreign = [t for t, o in tables.items() if o != owner]
        if foreign:
            raise InputError(
                f"table(s) {', '.join(sorted(foreign))} belong to {tables[foreign[0]]}, not {owner}: run "
                f"`arrears db roles` as that role, or ALTER TABLE … OWNER TO {owner}",
                field="--owner",
            )
        q = _quote(c, app)
        qs = _quote(c, schema)
        c.execute(text(f"GRANT CONNECT ON DATABASE {_quote(c, database)} TO {q}"))
        c.execute(text(f"GRANT USAGE ON SCHEMA {qs} TO {q}"))
        c.execute(text(f"REVOKE CREATE ON SCHEMA {qs} FROM {q}"))
        report = RolesReport(owner, app, created, schema)
        for table in sorted(tables):
            qt = f"{qs}.{_quote(c, table)}"
            c.execute(text(f"REVOKE ALL ON TABLE {qt} FROM {q}"))
            c.execute(text(f"GRANT {', '.join(rights_for(table))} ON TABLE {qt} TO {q}"))
            if table in APPEND_ONLY or table in READ_ONLY:
                c.execute(text(f"REVOKE ALL ON TABLE {qt} FROM PUBLIC"))
        c.execute(text(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {qs} TO {q}"))
        c.execute(
            text(
                f"ALTER DEFAULT PRIVILEGES FOR ROLE {_quote(c, owner)} IN SCHEMA {qs} "
                f"GRANT {', '.join(DML)} ON TABLES TO {q}"
            )
        )
        c.execute(
            text(
                f"ALTER DEFAULT PRIVILEGES FOR ROLE {_quote(c, owner)} IN SCHEMA {qs} "
                f"GRANT USAGE, SELECT ON SEQUENCES TO {q}"
            )
        )
        _check(c, report, tables)
    return report


def _ensure_role(c: Connection, app: str, password: str | None) -> bool:
    """Create the role (LOGIN), or set its password; True if it was created."""
    exists = c.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": app}).first() is not None
    if exists and password is None:
        return False
    verb = "ALTER" if exists else "CREATE"
    spec = c.execute(
        # PASSWORD NULL: none (peer, certificate or another authentication method)
        text("SELECT format('ROLE %I LOGIN PASSWORD %L', CAST(:r AS text), CAST(:p AS text))"),
        {"r": app, "p": password},
    ).scalar_one()
    try:
        with c.begin_nested():
            c.execute(text(f"{verb} {spec}"))
    except DBAPIError as err:  # the driver's error, named in one line
        raise InputError(
            f"cannot {verb.lower()} role {app} as the owner ({str(getattr(err, 'orig', err)).splitlines()[0]}): "
            f"give the owner CREATEROLE, or have a DBA create the role first (CREATE ROLE {app} LOGIN PASSWORD …)",
            field="--app-role",
        ) from None
    return not exists


def _tables(c: Connection, schema: str) -> dict[str, str]:
    rows = c.execute(
        text(
            "SELECT c.relname, pg_get_userbyid(c.relowner) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = :s AND c.relkind IN ('r', 'p')"
        ),
        {"s": schema},
    ).all()
    return {name: owner for name, owner in rows}


def _quote(c: Connection, name: str) -> str:
    return str(c.execute(text("SELECT quote_ident(CAST(:n AS text))"), {"n": name}).scalar_one())


def _check(c: Connection, report: RolesReport, tables: dict[str, str]) -> None:
    for table in sorted(tables):
        rights = [
            r
            for r in (*DML, *REFUSED[2:])
            if c.execute(
                text("SELECT has_table_privilege(:r, :t, :p)"),
                {"r": report.app_role, "t": f"{report.schema}.{table}", "p": r},
            ).scalar_one()
        ]
        report.tables[table] = rights
        extra = set(rights) - set(rights_for(table))
        if extra:  # e.g. granted to PUBLIC by hand
            raise InputError(
                f"{report.app_role} still has {', '.join(sorted(extra))} on {table} (granted to PUBLIC or a "
                "group it belongs to): revoke it there",
                field="--app-role",
            )
    can_create = c.execute(
        text("SELECT has_schema_privilege(:r, :s, 'CREATE')"), {"r": report.app_role, "s": report.schema}
    ).scalar_one()
    if can_create:
        report.warnings.append(
            f"{report.app_role} may CREATE in schema {report.schema} (granted to PUBLIC): "
            f"REVOKE CREATE ON SCHEMA {report.schema} FROM PUBLIC"
        )
