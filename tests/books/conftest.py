"""The API fixtures (a client on a fresh store, keys per role) for the books' API tests."""

from tests.api.conftest import api, key  # noqa: F401
