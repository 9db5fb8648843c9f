"""channels.yaml is checked like every input file (pydantic shapes): an unknown key or a value of the wrong
type is one line naming the file, the line and the field — or the ARREARS_<SECTION>_<KEY> variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from arrears.adapters.channels.config import load_channels_config
from arrears.domain.errors import InputError


def config_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "channels.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (
            "email:\n  host: 127.0.0.1\n  prot: 25\n",
            3,
            "field 'email.prot': unknown key 'prot' (did you mean 'port'?)",
        ),
        (
            "retry:\n  max_attempts: many\n",
            2,
            "field 'retry.max_attempts': must be a whole number, got 'many'",
        ),
        ("sms:\n  provider: carrier-pigeon\n", 2, "field 'sms.provider': must be 'http' or 'smpp'"),
        ("rate_limits:\n  sms: 0\n", 2, "field 'rate_limits.sms': must be more than 0"),
        ("lender:\n  plan_instalments: 0\n", 2, "field 'lender.plan_instalments': must be at least 1"),
        ("email:\n  port: 70000\n", 2, "field 'email.port': must be at most 65535"),
    ],
)
def test_a_bad_key_or_value_names_file_line_and_field(
    tmp_path: Path, text: str, line: int, message: str
) -> None:
    path = config_file(tmp_path, text)
    with pytest.raises(InputError) as err:
        load_channels_config(path, environ={})
    assert (err.value.file, err.value.line) == (str(path), line)
    assert message in str(err.value)


def test_values_are_read_as_their_types_from_the_file_and_the_environment(tmp_path: Path) -> None:
    path = config_file(
        tmp_path,
        "lender: {hotline: 4008001000, law_firm_engaged: false}\nemail: {host: 127.0.0.1, port: 25}\n"
        "rate_limits: {sms: 50, agent_call: 2.5}\n",
    )
    environ = {"ARREARS_EMAIL_STARTTLS": "yes", "ARREARS_RETRY_JITTER": "0.25", "ARREARS_SMS_UNRELATED": "x"}
    config = load_channels_config(path, environ=environ)
    assert config.lender["hotline"] == "4008001000" and config.lender["law_firm_engaged"] is False
    assert config.section("email") == {"host": "127.0.0.1", "port": 25, "starttls": True}
    assert config.section("rate_limits") == {"sms": 50.0, "agent_call": 2.5}
    assert config.retry["jitter"] == 0.25 and config.retry["max_attempts"] == 5  # the default kept
    assert config.section("sms") == {}  # a variable that names no key of the section is not ours


def test_a_bad_environment_value_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(InputError) as err:
        load_channels_config(
            config_file(tmp_path, "email: {host: 127.0.0.1}\n"), environ={"ARREARS_EMAIL_PORT": "smtp"}
        )
    assert str(err.value) == "field 'ARREARS_EMAIL_PORT': must be a whole number, got 'smtp'"


def test_dispatch_refuses_a_bad_channels_file_in_one_line(store_url: str, tmp_path: Path, cli) -> None:
    assert cli("db", "upgrade").code == 0
    path = config_file(
        tmp_path, "lender:\n  name: 示例银行\nsms:\n  url: http://127.0.0.1:9/sms\n  batch_size: lots\n"
    )
    result = cli("dispatch", "--once", "--dev", "--channels", str(path))
    assert result.code == 2
    assert result.stderr.strip().splitlines()[-1] == (
        f"error: {path}:5: field 'sms.batch_size': must be a whole number, got 'lots'"
    )
