"""`arrears portal link|revoke`: the JSON contract, the base URL that must be configured, bad input (exit 2)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from arrears.domain.portal import token_hash
from arrears.services.unit_of_work import UnitOfWork
from tests.conftest import CliResult


def test_a_link_prints_url_and_expiry_and_only_its_hash_is_stored(
    cli: Callable[..., CliResult], sample_store: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARREARS_PORTAL_BASE_URL", "https://pay.lender.cn")
    done = cli("portal", "link", "L1", "--ttl", "2d", "--json")
    assert done.code == 0, done.stderr
    out = json.loads(done.stdout)
    assert list(out) == ["url", "expires_at"]
    token = out["url"].removeprefix("https://pay.lender.cn/p/")
    assert len(token) == 22
    expires = datetime.fromisoformat(out["expires_at"])
    assert abs(expires - (datetime.now(UTC) + timedelta(days=2))) < timedelta(minutes=1)
    with UnitOfWork(sample_store) as uow:
        link = uow.portal_links.get(token_hash(token))
        assert link is not None and link.loan_id == "L1" and link.borrower_id == "B1"
    revoked = cli("portal", "revoke", "L1")
    assert revoked.code == 0 and "1 link(s)" in revoked.stdout
    with UnitOfWork(sample_store) as uow:
        again = uow.portal_links.get(token_hash(token))
        assert again is not None and again.revoked_at is not None


@pytest.mark.parametrize(
    ("args", "env", "says"),
    [
        (("L1",), {}, "ARREARS_PORTAL_BASE_URL"),
        (("L1", "--ttl", "7 weeks"), {"ARREARS_PORTAL_BASE_URL": "https://p.cn"}, "ttl"),
        (("L1", "--ttl", "365d"), {"ARREARS_PORTAL_BASE_URL": "https://p.cn"}, "90 days"),
        (("NOPE",), {"ARREARS_PORTAL_BASE_URL": "https://p.cn"}, "NOPE"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    cli: Callable[..., CliResult],
    sample_store: str,
    monkeypatch: pytest.MonkeyPatch,
    args: tuple[str, ...],
    env: dict[str, str],
    says: str,
) -> None:
    monkeypatch.delenv("ARREARS_PORTAL_BASE_URL", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    done = cli("portal", "link", *args)
    assert done.code == 2, (done.stdout, done.stderr)
    assert says in done.stderr and "Traceback" not in done.stderr
    assert done.stdout == ""


def test_dev_uses_the_local_server(
    cli: Callable[..., CliResult], sample_store: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ARREARS_PORTAL_BASE_URL", raising=False)
    done = cli("portal", "link", "L2", "--dev", "--json")
    assert done.code == 0 and json.loads(done.stdout)["url"].startswith("http://127.0.0.1:8000/p/")
