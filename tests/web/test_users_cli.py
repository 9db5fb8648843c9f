"""`arrears user create|list|disable`: the console's staff, passwords read from stdin, hashed with argon2."""

from __future__ import annotations

import io
import json
import sys
from datetime import UTC, datetime, timedelta

import pytest

from arrears.services.staff import session_user, sign_in
from arrears.services.unit_of_work import UnitOfWork

PASSWORD = "correct horse battery"


def create(cli, monkeypatch: pytest.MonkeyPatch, *args: str, password: str = PASSWORD):
    monkeypatch.setattr(sys, "stdin", io.StringIO(password + "\n"))
    return cli("user", "create", *args)


def test_a_user_is_created_with_a_hashed_password_and_listed(cli, monkeypatch, store_url: str) -> None:
    made = create(
        cli, monkeypatch, "wang", "--role", "agent", "--skills", "zh,M1", "--skills", "M2", "--json"
    )
    assert made.code == 0, made.stderr
    assert json.loads(made.stdout) == {
        "name": "wang",
        "role": "agent",
        "agency": None,
        "languages": ["zh"],
        "buckets": ["M1", "M2"],
    }
    with UnitOfWork(store_url) as uow:
        user = uow.staff.get("wang")
    assert user is not None and user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash
    listed = json.loads(cli("user", "list", "--json").stdout)
    assert listed[0]["name"] == "wang" and listed[0]["disabled"] is False


@pytest.mark.parametrize(
    ("args", "password", "field"),
    [
        (("x", "--role", "janitor"), PASSWORD, "--role"),
        (("x", "--role", "agency"), PASSWORD, "--agency"),
        (("x", "--role", "agent", "--agency", "A1"), PASSWORD, "--agency"),
        (("x", "--role", "agent"), "short", "password"),
        (("x", "--role", "agent"), "", "password"),
    ],
)
def test_bad_input_exits_2_naming_the_field(cli, monkeypatch, store_url, args, password, field) -> None:
    out = create(cli, monkeypatch, *args, password=password)
    assert out.code == 2 and field in out.stderr and "Traceback" not in out.stderr
    with UnitOfWork(store_url) as uow:
        assert uow.staff.all() == []


def test_a_disabled_user_cannot_sign_in_and_loses_its_sessions(cli, monkeypatch, store_url: str) -> None:
    assert create(cli, monkeypatch, "li", "--role", "supervisor").code == 0
    now = datetime.now(UTC)
    with UnitOfWork(store_url) as uow:
        opened = sign_in(uow, "li", PASSWORD, now)
        uow.commit()
    assert opened.token and opened.user is not None
    assert cli("user", "disable", "li").code == 0
    with UnitOfWork(store_url) as uow:
        assert session_user(uow, opened.token, now) is None
        assert sign_in(uow, "li", PASSWORD, now).refused == "disabled"
    assert cli("user", "disable", "nobody").code == 2


def test_five_wrong_passwords_lock_the_user_even_against_the_right_one(cli, monkeypatch, store_url) -> None:
    assert create(cli, monkeypatch, "zhao", "--role", "agent").code == 0
    now = datetime.now(UTC)
    with UnitOfWork(store_url) as uow:
        answers = [sign_in(uow, "zhao", "wrong password!", now).refused for _ in range(5)]
        uow.commit()
        assert answers == ["bad_credentials"] * 4 + ["locked"]
        assert sign_in(uow, "zhao", PASSWORD, now + timedelta(minutes=1)).refused == "locked"
        later = sign_in(uow, "zhao", PASSWORD, now + timedelta(minutes=16))
        assert later.refused is None and later.token
        actions = [e.action for e in uow.audit.entries(subject="user:zhao")]
    assert "login.locked" in actions and "login" in actions
