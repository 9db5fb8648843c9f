"""Fixtures the books' tests share: the API client and keys (tests/api), the literal-portfolio world with
every channel on 127.0.0.1 (tests/run)."""

from tests.api.conftest import api, key  # noqa: F401
from tests.run.conftest import scenario  # noqa: F401
