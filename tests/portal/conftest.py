"""The portal on the console's sample store (tests/web/sample.py): SQLite and PostgreSQL, a clock the test sets."""

from tests.web.conftest import app_for, clock, console, sample_store  # noqa: F401 (fixtures)
