"""The `arrears` command. Each command group lives in its own module and registers itself here.

A command's module is imported only when that command runs (or its own --help is asked for): `arrears
--help`, `arrears --version` and the commands that touch no engine start without loading numba, DuckDB,
pyarrow, pandas, FastAPI or the simulation (benchmarks/cli_startup.py measures it).
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click
import typer
from typer.core import TyperGroup

import arrears
from arrears.entrypoints.cli.console import run_app
from arrears.entrypoints.cli.language import choose_language, lang_first

# One module per command group; each exposes register(app).
COMMAND_MODULES = (
    "loan",
    "account",
    "borrower",
    "db",
    "imports",
    "demo",
    "bench",
    "bench_run",
    "policy",
    "run",
    "compliance",
    "compliance_report",
    "templates",
    "audit",
    "sim",
    "sim_lab",
    "kpi",
    "serve",
    "dispatch",
    "snapshot",
    "user",
    "keys",
    "privacy",
    "model",
    "portal",
    "books",
    "payments",
    "agency",
    "visit",
    "litigation",
    "letters",
    "bureau",
)

# The top-level commands, in the order `arrears --help` lists them: the modules whose register(app) defines
# each (a group a second module adds commands to names both) and its one-line help. A module of
# COMMAND_MODULES that no entry names is imported when the app is built, as before.
# tests/cli/test_startup.py holds this index to what the modules register.
COMMAND_INDEX: dict[str, tuple[tuple[str, ...], str]] = {
    "demo": (
        ("demo",),
        "Build a sample portfolio (if the store is empty), show it by bucket, run the day, compare policies.",
    ),
    "portfolio": (
        ("demo",),
        "The stored portfolio by delinquency bucket: accounts, outstanding, overdue and late fee.",
    ),
    "run": (
        ("run",),
        "Plan today's collection actions for every account and write them to the outbox (idempotent).",
    ),
    "kpi": (
        ("kpi",),
        "Roll rates, cures, recovery, contact rates, promises, cost, complaints, CEI, legal threats.",
    ),
    "serve": (
        ("serve",),
        "Serve the REST API (OpenAPI at /openapi.json, docs at /docs) on the store at ARREARS_DB_URL.",
    ),
    "dispatch": (
        ("dispatch",),
        "Send what the outbox holds: claim, re-check compliance, render, send once, record.",
    ),
    "loan": (("loan",), "Explain a loan's ledger as of a date."),
    "account": (("account", "books"), "Accounts in the store."),
    "borrower": (("borrower",), "Borrowers' compliance facts: set, clear, show."),
    "db": (("db",), "The store (ARREARS_DB_URL, default sqlite:///arrears.db): migrations and checks."),
    "import": (
        ("imports", "books"),
        "Import loans (one row per instalment), payments (and reversals), account events or borrower flags.",
    ),
    "bench": (("bench", "bench_run"), "Benchmarks that print measured figures."),
    "policy": (
        ("policy",),
        "Collection policies: validate them, explain a decision, list the features conditions can use.",
    ),
    "compliance": (
        ("compliance", "compliance_report"),
        "Check contacts against a jurisdiction's collection rules.",
    ),
    "templates": (("templates",), "Message templates: lint them against the collection rules."),
    "audit": (
        ("audit",),
        "The append-only audit log, hash-chained under a key (ARREARS_AUDIT_KEY) and anchored by signed "
        "checkpoints outside the database (ARREARS_AUDIT_CHECKPOINTS).",
    ),
    "sim": (("sim", "sim_lab"), "Strategy lab: synthetic portfolios and policy simulations."),
    "apikey": (("serve",), "API keys for staff and systems (stored hashed)."),
    "outbox": (("dispatch",), "The outbox of planned actions: list, show, approve."),
    "receipts": (("dispatch",), "Delivery receipts and inbound replies from providers."),
    "snapshot": (("snapshot",), "Snapshot directories: export the store, plan a policy over the parts."),
    "portal": (("portal",), "The borrower's portal: signed links to one loan's page."),
    "lines": (("books",), "Credit lines: limit, used, available, frozen or not."),
    "books": (("books",), "Charge-offs, recoveries and their balanced postings."),
    "events": (("books",), "Outbound events to the lender's webhook: list, deliver."),
    "payments": (
        ("payments",),
        "The payment provider: reconcile its settlement file, query an order, a local simulator.",
    ),
    "user": (("user",), "Console users (argon2 password hashes, roles as the API's)."),
    "keys": (
        ("keys",),
        "The personal-data keys: a key-encryption key (KEK) wraps each borrower's data key; a separate "
        "look-up key hashes phones, ID numbers and e-mails (ARREARS_DATA_KEY_FILE; docs/privacy.md).",
    ),
    "privacy": (
        ("privacy",),
        "Personal data (PIPL): export what we hold about a borrower, erase it, purge what is past its "
        "retention (docs/privacy.md).",
    ),
    "model": (
        ("model",),
        "Risk models trained on the store: scorecards and gradient boosting, with reason codes.",
    ),
    "agency": (
        ("agency",),
        "Outside agencies: allocation terms, placements, recalls, commission statements, league table.",
    ),
    "visit": (("visit",), "Field visits: the teams' queues, visit sheets, the agents' reports."),
    "litigation": (
        ("litigation",),
        "Litigation cases: stages with dates, court and case number, documents, costs; the ladder held.",
    ),
    "letters": (("letters",), "Letters for the post: print-vendor batches (folder or SFTP), returned mail."),
    "bureau": (("bureau",), "Credit-bureau reporting: the monthly Metro 2 or PBOC file."),
}

# Commands that make the store they are pointed at when it does not exist (`db upgrade`, `demo`, `sim
# portfolio --load`, the lab's and the benchmarks' fresh stores); every other command refuses a SQLite path
# that does not exist rather than create and read an empty store (db info / check refuse it themselves).
CREATES_STORES = frozenset({"db", "demo", "sim", "bench"})


def load_command(name: str) -> click.Command:
    """The click command `name` as its modules register it (importing them now)."""
    from arrears.bootstrap import allow_new_stores, configure  # the store and files behind the ports

    modules, _help = COMMAND_INDEX[name]
    configure()
    if name in CREATES_STORES:
        allow_new_stores()
    app = typer.Typer()
    for module in modules:
        importlib.import_module(f"arrears.entrypoints.cli.{module}").register(app)
    group = typer.main.get_group(app)
    return group.commands[name]


class LazyGroup(TyperGroup):
    """The top-level group: commands of COMMAND_INDEX are loaded the first time they are looked up to run;
    listing them for --help reads only the index."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._listing = False

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, lang_first(args))  # --lang before or after the command

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*COMMAND_INDEX, *(name for name in self.commands if name not in COMMAND_INDEX)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands or cmd_name not in COMMAND_INDEX:
            return self.commands.get(cmd_name)
        if self._listing:
            return click.Command(cmd_name, help=COMMAND_INDEX[cmd_name][1])
        command = self.commands[cmd_name] = load_command(cmd_name)
        return command

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"arrears {arrears.__version__}")
        raise typer.Exit()


def _root(
    version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
    ),
    lang: str | None = typer.Option(
        None,
        "--lang",
        help="Language of text output: en or zh-CN (default: the locale, LC_ALL / LC_MESSAGES / LANG); may "
        "also follow the command.",
    ),
) -> None:
    """Consumer-credit delinquency management and compliant, segmented collections."""
    choose_language(lang)


def build_app() -> typer.Typer:
    app = typer.Typer(
        name="arrears",
        cls=LazyGroup,
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )
    app.callback()(_root)
    indexed = {module for modules, _help in COMMAND_INDEX.values() for module in modules}
    for name in COMMAND_MODULES:
        if name not in indexed:
            from arrears.bootstrap import configure

            configure()
            importlib.import_module(f"arrears.entrypoints.cli.{name}").register(app)
    return app


def main() -> None:
    sys.exit(run_app(build_app))
