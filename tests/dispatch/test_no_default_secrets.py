"""No default secrets: `arrears serve` and `arrears dispatch` refuse to start (exit 2, one line naming the
setting) on a missing or example secret or lender identity, unless --dev (loopback only, and says so);
a dispatch pass that finds rows for channels that are not configured names them and exits 1."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from arrears.adapters.casework_file import load_config
from arrears.adapters.channels.config import load_channels_config
from arrears.domain.errors import InputError
from arrears.entrypoints.startup_checks import DEV_DISPATCH, DEV_SERVE, example_reason, serve_check
from arrears.services.cases import CaseworkConfig
from tests.conftest import CliResult
from tests.dispatch.conftest import SEND_AT, World

SEND = "2026-03-31T11:00:00+08:00"
SRC = Path(__file__).parents[2] / "src"
# A production configuration, from the environment (the case-work file and channels.yaml work alike).
PRODUCTION = {
    "ARREARS_TOKEN_SECRET": "tok-3f9a1c7e55d24b8e",
    "ARREARS_WEBHOOK_SECRET": "whk-9b2e7d41c0a84f66",
    "ARREARS_PROVIDER_SECRET": "prv-51c8e0aa9d7f4e23",
    "ARREARS_LENDER_NAME": "星河消费金融",
    "ARREARS_LENDER_LAW_FIRM": "金诚律师事务所",
    "ARREARS_LENDER_HOTLINE": "95188",
    "ARREARS_LENDER_DISPUTE_CONTACT": "95188-2",
    "ARREARS_LENDER_COMPLAINT_CONTACT": "95188-3",
    "ARREARS_AUDIT_KEY": "aud-7c0f4e9b2a6d48e1b35c9f0a7d2e6b14",
    "ARREARS_DATA_KEY": "5e1f" * 16,  # personal-data keys (docs/privacy.md): 64 hex digits each
    "ARREARS_LOOKUP_KEY": "a07c" * 16,
}
# The store and the test session's personal-data keys (tests/conftest.py): the stores the tests build are
# sealed under them.
KEPT = {"ARREARS_DB_URL", "ARREARS_TEST_PG_URL", "ARREARS_DATA_KEY_FILE", "ARREARS_DEV_DATA_KEY_FILE"}


@pytest.fixture
def clean(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No ARREARS_* setting from the machine, no ./channels.yaml: only what the test sets."""
    for key in list(os.environ):
        if key.startswith("ARREARS_") and key not in KEPT:
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ARREARS_DB_URL", f"sqlite:///{tmp_path}/untouched.db")  # never the machine's store
    return tmp_path


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """uvicorn.run replaced: what serve would have served with."""
    import uvicorn

    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append(kw))
    return calls


def _set(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)


def _refused(result: CliResult, setting: str) -> None:
    assert result.code == 2, (result.stdout, result.stderr)
    assert result.stderr.strip().count("\n") == 0, result.stderr  # one line
    assert "refusing to start" in result.stderr and setting in result.stderr.split("—")[0]
    assert "Traceback" not in result.stderr and "--dev" in result.stderr


def test_placeholders_missing_and_example_values_are_recognised() -> None:
    for value in (
        None,
        "",
        "   ",
        "null",
        "change-me-token-secret",
        "CHANGE-ME",
        "changeme123",
        "示例消费金融",
        "示例律师事务所",
        "示例银行",
        "400-800-1000",
        "Example Finance",
        "KEY",
    ):
        assert example_reason(value), value
    for value in ("星河消费金融", "95188", "tok-3f9a1c7e55d24b8e", "https://pay.xinghe.cn/r/{loan_id}"):
        assert example_reason(value) is None, value


def test_secrets_come_from_the_environment_over_the_file(tmp_path: Path) -> None:
    config = tmp_path / "casework.yaml"
    config.write_text("token_secret: from-the-file\nwebhook_secret: file-webhook\n", encoding="utf-8")
    loaded = load_config(config, environ={"ARREARS_TOKEN_SECRET": "from-the-env"})
    assert loaded.token_secret == "from-the-env" and loaded.webhook_secret == "file-webhook"
    assert loaded.provider_secret == CaseworkConfig().provider_secret == "change-me-provider-secret"
    # a file without a secret gets the placeholder (which serve / dispatch refuse), nothing guessable
    assert load_config(config, environ={}).provider_secret == "change-me-provider-secret"


# --- serve ---------------------------------------------------------------------------------------------


def test_serve_refuses_the_example_secrets(
    clean: Path, cli: Callable[..., CliResult], served: list[dict[str, Any]]
) -> None:
    _refused(cli("serve"), "token_secret")
    assert served == [] and not (clean / "untouched.db").exists()


def test_serve_refuses_a_placeholder_secret_in_the_config_file(
    clean: Path, cli: Callable[..., CliResult], served: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    _set(monkeypatch, {k: v for k, v in PRODUCTION.items() if not k.endswith("_SECRET")})
    config = clean / "casework.yaml"
    config.write_text(
        "token_secret: tok-77aa\nwebhook_secret: change-me-webhook-secret\nprovider_secret: prv-12bb\n",
        encoding="utf-8",
    )
    result = cli("serve", "--config", str(config))
    _refused(result, "webhook_secret")
    assert "token_secret" not in result.stderr and "provider_secret" not in result.stderr
    assert served == []


def test_serve_refuses_a_missing_lender_identity(
    clean: Path, cli: Callable[..., CliResult], served: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    _set(monkeypatch, {k: v for k, v in PRODUCTION.items() if k != "ARREARS_LENDER_LAW_FIRM"})
    _refused(cli("serve"), "lender.law_firm")  # still the example's 示例律师事务所
    monkeypatch.setenv("ARREARS_LENDER_LAW_FIRM", "")
    result = cli("serve")
    _refused(result, "lender.law_firm")
    assert "is not set" in result.stderr
    (clean / "channels.yaml").write_text("lender:\n  law_firm: 金诚律师事务所\n", encoding="utf-8")
    monkeypatch.delenv("ARREARS_LENDER_LAW_FIRM")
    assert cli("db", "upgrade").code == 0  # serve opens an existing store only
    assert cli("serve").code == 0 and len(served) == 1


def test_serve_starts_when_configured_and_with_dev_only_on_loopback(
    clean: Path, cli: Callable[..., CliResult], served: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    _set(monkeypatch, PRODUCTION)
    assert cli("db", "upgrade").code == 0  # serve opens an existing store only
    result = cli("serve", "--port", "8123")
    assert result.code == 0, result.stderr
    assert served == [{"host": "127.0.0.1", "port": 8123, "log_level": "info"}]
    assert "development" not in result.stderr
    for key in PRODUCTION:
        monkeypatch.delenv(key)
    result = cli("serve", "--dev")
    assert result.code == 0, result.stderr
    assert result.stderr.strip() == DEV_SERVE and served[-1]["host"] == "127.0.0.1"
    result = cli("serve", "--dev", "--host", "0.0.0.0")
    assert result.code == 2 and "--host" in result.stderr and len(served) == 2


def test_serve_check(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARREARS_AUDIT_KEY", PRODUCTION["ARREARS_AUDIT_KEY"])
    example = load_channels_config(environ={})
    with pytest.raises(InputError, match="token_secret"):
        serve_check("127.0.0.1", False, CaseworkConfig(), example)
    assert serve_check("127.0.0.1", True, CaseworkConfig(), example) == DEV_SERVE
    assert serve_check("::1", True, CaseworkConfig(), example) == DEV_SERVE
    assert serve_check("localhost", True, CaseworkConfig(), example) == DEV_SERVE
    for host in ("0.0.0.0", "10.0.0.5", "api.lender.cn"):
        with pytest.raises(InputError, match="--host"):
            serve_check(host, True, CaseworkConfig(), example)
    secrets = CaseworkConfig(token_secret="a-1", webhook_secret="b-2", provider_secret="c-3")
    lender = load_channels_config(environ={k: v for k, v in PRODUCTION.items() if "LENDER" in k})
    assert serve_check("0.0.0.0", False, secrets, lender) is None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_dev_answers_on_loopback_in_a_real_process(clean: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARREARS_") or k in KEPT}
    env["ARREARS_DB_URL"] = f"sqlite:///{clean}/serve.db"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SRC), env.get("PYTHONPATH")]))
    made = subprocess.run(
        [sys.executable, "-m", "arrears.entrypoints.cli", "db", "upgrade"],
        cwd=clean,
        env=env,
        capture_output=True,
    )
    assert made.returncode == 0, made.stderr  # serve opens an existing store only
    log = clean / "serve.err"
    with log.open("w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "arrears.entrypoints.cli", "serve", "--dev", "--port", str(port)],
            cwd=clean,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    try:
        deadline = time.monotonic() + 90
        answer = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/openapi.json", timeout=2) as r:
                    answer = json.loads(r.read())
                break
            except OSError:
                time.sleep(0.3)
        assert answer is not None, log.read_text()
        assert answer["info"]["title"] == "arrears"
        assert log.read_text().splitlines()[0] == DEV_SERVE
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


# --- dispatch ------------------------------------------------------------------------------------------


def test_dispatch_refuses_the_example_settings(clean: Path, cli: Callable[..., CliResult]) -> None:
    _refused(cli("dispatch", "--once"), "provider_secret")
    assert not (clean / "untouched.db").exists()


def test_dispatch_refuses_a_placeholder_secret(
    clean: Path, cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    _set(monkeypatch, {k: v for k, v in PRODUCTION.items() if k != "ARREARS_PROVIDER_SECRET"})
    config = clean / "casework.yaml"
    config.write_text("provider_secret: change-me-provider-secret\n", encoding="utf-8")
    result = cli("dispatch", "--once", "--config", str(config))
    _refused(result, "provider_secret")
    assert "lender" not in result.stderr
    monkeypatch.setenv("ARREARS_PROVIDER_SECRET", "prv-51c8e0aa9d7f4e23")
    monkeypatch.setenv("ARREARS_SMS_API_KEY", "change-me-sms-key")  # a channel credential too
    _refused(cli("dispatch", "--once"), "sms.api_key")


def test_dispatch_refuses_a_missing_lender_identity(
    clean: Path, cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    _set(monkeypatch, {k: v for k, v in PRODUCTION.items() if k != "ARREARS_LENDER_NAME"})
    _refused(cli("dispatch", "--once"), "lender.name")
    monkeypatch.setenv("ARREARS_LENDER_NAME", "示例消费金融分公司")  # an edit of the example is still one
    _refused(cli("dispatch", "--once"), "lender.name")
    assert not (clean / "untouched.db").exists()


def test_dispatch_dev_talks_to_this_machine_only(
    clean: Path, cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARREARS_SMS_URL", "https://sms.example.cn/send")
    result = cli("dispatch", "--once", "--dev")
    assert result.code == 2 and "sms.url" in result.stderr and "this machine" in result.stderr


@pytest.fixture
def world_cli(
    world: World, clean: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., CliResult]
) -> Callable[..., CliResult]:
    monkeypatch.setenv("ARREARS_DB_URL", world.url)
    _set(monkeypatch, world.env)
    return cli


def test_dispatch_runs_when_configured_and_with_dev_says_so(
    world: World, world_cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    result = world_cli("dispatch", "--once", "--dev", "--limit", "5", "--as-of-time", SEND, "--json")
    assert result.code == 0, result.stderr
    assert result.stderr.strip() == DEV_DISPATCH
    assert json.loads(result.stdout)["sent"] == 5
    _set(monkeypatch, PRODUCTION)
    result = world_cli("dispatch", "--once", "--as-of-time", SEND, "--json")
    assert result.code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["sent"] > 0 and report["unconfigured_channels"] == [] and report["unconfigured_rows"] == {}
    assert "development" not in result.stderr


def test_dispatch_names_the_channels_that_are_not_configured_and_exits_1(
    world: World, world_cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    _set(monkeypatch, {"ARREARS_SMPP_HOST": "", "ARREARS_PUSH_URL": ""})  # no sms, no push
    ready = [
        r
        for r in world.rows()
        if r.status == "pending" or (r.status in ("deferred", "failed") and r.next_allowed_at <= SEND_AT)
    ]
    expected = {c: sum(r.channel == c for r in ready) for c in ("push", "sms")}
    assert all(expected.values())
    result = world_cli("dispatch", "--once", "--dev", "--as-of-time", SEND, "--json")
    assert result.code == 1, result.stderr
    report = json.loads(result.stdout)
    assert report["unconfigured_channels"] == ["push", "sms"]
    assert report["unconfigured_rows"] == expected
    assert report["sent"] > 0  # the configured channels still went out
    (line,) = [x for x in result.stderr.splitlines() if "not configured" in x]
    assert f"push ({expected['push']} row" in line and f"sms ({expected['sms']} rows)" in line
    monkeypatch.setenv("ARREARS_SMPP_HOST", "127.0.0.1")  # sms back; push still missing
    result = world_cli("dispatch", "--once", "--dev", "--as-of-time", "2026-03-31T12:00:00+08:00")
    assert result.code == 1
    assert "push (" in result.stderr and "sms" not in result.stderr.split("not configured:")[-1]
