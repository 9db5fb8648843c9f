"""The dispatch tests' world (a 300-account portfolio, one daily run, providers on 127.0.0.1) for the
audit tests, and a small store for the replay tests."""

from __future__ import annotations

from tests.dispatch.conftest import World, world  # noqa: F401  (the fixture, shared)

__all__ = ["World"]
