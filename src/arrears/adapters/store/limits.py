"""Limits on how the store is used: the connection pool's size, and a time budget per request.

An entrypoint that serves requests (the API) runs each request under a `RequestBudget`
(`with budget_scope(budget):`, a context variable, so the worker threads FastAPI hands the request to see
it too). Every transaction begun under a budget

- gets `SET LOCAL statement_timeout` = what is left of the budget (PostgreSQL; SQLite: a progress
  handler that interrupts the statement), so no single statement outlives the request;
- checks the budget before each statement, so a request made of many small statements stops too;
- can be cancelled from another thread (`budget.cancel()`, when the client has gone away): the statement
  running on each of the request's connections is cancelled (PostgreSQL cancel request, SQLite interrupt)
  and no further statement starts.

Either way the request sees `StoreTimeout`. Work outside a budget (the CLI, the daily run, background
jobs) is not limited here.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

# The pool of each PostgreSQL engine (per process): enough connections for the request threads, and a
# checkout wait that gives up rather than queue for long (configurable for the API's workers).
POOL_SIZE_ENV = "ARREARS_DB_POOL_SIZE"
POOL_OVERFLOW_ENV = "ARREARS_DB_POOL_OVERFLOW"
POOL_TIMEOUT_ENV = "ARREARS_DB_POOL_TIMEOUT"
_QUERY_CANCELED = "57014"  # PostgreSQL SQLSTATE: statement_timeout or a cancel request
# A transaction's start (BEGIN [IMMEDIATE], the timeout) is let through: its first real statement raises
# instead, inside the code that owns the connection and will close it.
_BEGINNING = ("BEGIN", "SET LOCAL statement_timeout")
_SQLITE_STEPS = 20_000  # SQLite asks the budget every this many virtual-machine steps of a statement


class StoreTimeout(Exception):
    """The request ran out of its time budget, or its client went away, while it used the store."""

    def __init__(self, message: str, *, cancelled: bool = False) -> None:
        super().__init__(message)
        self.cancelled = cancelled


class RequestBudget:
    """One request's time on the store: `seconds` from its start; cancellable from another thread."""

    def __init__(self, seconds: float, *, writes: bool = False) -> None:
        self.seconds = seconds
        self.writes = writes  # the request may write (SQLite then begins its transactions IMMEDIATE)
        self.deadline = time.monotonic() + seconds
        self.cancelled = False
        self._lock = threading.Lock()
        self._connections: dict[int, Any] = {}  # DBAPI connections in a transaction under this budget

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def spent(self) -> bool:
        """Cancelled, or out of time."""
        return self.cancelled or self.remaining() <= 0

    def check(self) -> None:
        """Raise StoreTimeout if the client went away or the time is up."""
        if self.cancelled:
            raise StoreTimeout("the client went away", cancelled=True)
        if self.remaining() <= 0:
            raise StoreTimeout(f"the request took longer than {self.seconds:g} s")

    def attach(self, dbapi_connection: Any) -> None:
        with self._lock:
            self._connections[id(dbapi_connection)] = dbapi_connection

    def detach(self, dbapi_connection: Any) -> None:
        with self._lock:  # waits for a cancel in flight: a cancel never reaches a connection handed back
            self._connections.pop(id(dbapi_connection), None)

    def cancel(self) -> None:
        """Stop the request's work: no new statement starts, running ones are cancelled (blocking I/O)."""
        with self._lock:
            self.cancelled = True
            for dbapi_connection in self._connections.values():
                _cancel_statement(dbapi_connection)


_budget: ContextVar[RequestBudget | None] = ContextVar("arrears_request_budget", default=None)


def current_budget() -> RequestBudget | None:
    return _budget.get()


def writing_request() -> bool:
    """Whether the work runs for a request that may write."""
    budget = _budget.get()
    return budget is not None and budget.writes


@contextmanager
def budget_scope(budget: RequestBudget | None) -> Iterator[RequestBudget | None]:
    """Run the block (and the threads it hands work to through the context) under `budget`."""
    token = _budget.set(budget)
    try:
        yield budget
    finally:
        _budget.reset(token)


def pool_options() -> dict[str, int]:
    """The PostgreSQL pool's settings from the environment (SQLAlchemy's defaults otherwise)."""
    out: dict[str, int] = {}
    for env, name in (
        (POOL_SIZE_ENV, "pool_size"),
        (POOL_OVERFLOW_ENV, "max_overflow"),
        (POOL_TIMEOUT_ENV, "pool_timeout"),
    ):
        value = os.environ.get(env, "").strip()
        if value.isdigit():
            out[name] = int(value)
    return out


def install(engine: Engine) -> None:
    """Make the engine's transactions honour the budget of the request they run for."""
    event.listen(engine, "begin", _on_begin)
    event.listen(engine, "commit", _on_end)
    event.listen(engine, "rollback", _on_end)
    event.listen(engine, "before_cursor_execute", _before_statement)
    event.listen(engine, "handle_error", _translate)
    event.listen(engine.pool, "checkin", _on_checkin)


def _cancel_statement(dbapi_connection: Any) -> None:
    try:
        if hasattr(dbapi_connection, "cancel_safe"):  # psycopg 3.2+
            dbapi_connection.cancel_safe(timeout=2.0)
        elif hasattr(dbapi_connection, "cancel"):
            dbapi_connection.cancel()
        elif hasattr(dbapi_connection, "interrupt"):  # sqlite3
            dbapi_connection.interrupt()
    except Exception:  # best effort: the deadline still bounds the statement
        pass


def _progress(dbapi_connection: Any, handler: Callable[[], bool] | None) -> None:
    if hasattr(dbapi_connection, "set_progress_handler"):  # sqlite3
        dbapi_connection.set_progress_handler(handler, _SQLITE_STEPS if handler else 0)


def _on_begin(connection: Connection) -> None:
    budget = _budget.get()
    if budget is None:
        return
    proxied = connection.connection
    proxied.info["budget"] = budget
    budget.attach(proxied.dbapi_connection)
    if connection.dialect.name == "postgresql":
        left_ms = max(1, int(budget.remaining() * 1000))
        connection.exec_driver_sql(f"SET LOCAL statement_timeout = {left_ms}")
    else:  # SQLite: no statement timeout; a progress handler asks the budget
        _progress(proxied.dbapi_connection, budget.spent)


def _release(proxied: Any) -> None:
    budget = proxied.info.pop("budget", None)
    if budget is not None:
        budget.detach(proxied.dbapi_connection)
        _progress(proxied.dbapi_connection, None)


def _on_end(connection: Connection) -> None:
    _release(connection.connection)


def _on_checkin(dbapi_connection: Any, record: Any) -> None:
    budget = record.info.pop("budget", None)
    if budget is not None:
        budget.detach(dbapi_connection)
        _progress(dbapi_connection, None)


def _before_statement(
    connection: Connection, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
) -> None:
    budget = _budget.get()
    if budget is not None and not statement.startswith(_BEGINNING):
        budget.check()


def _translate(context: Any) -> BaseException | None:
    """A statement cancelled by the timeout or by a cancel request → StoreTimeout (under a budget)."""
    budget = _budget.get()
    original = context.original_exception
    if budget is None or isinstance(original, StoreTimeout):
        return None
    sqlstate = getattr(original, "sqlstate", None)
    interrupted = context.dialect.name == "sqlite" and "interrupted" in str(original)
    if sqlstate != _QUERY_CANCELED and not interrupted:
        return None
    if budget.cancelled:
        return StoreTimeout("the client went away", cancelled=True)
    return StoreTimeout(f"the request took longer than {budget.seconds:g} s")
