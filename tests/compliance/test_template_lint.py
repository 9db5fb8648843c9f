"""The template linter: every shipped template is clean; bad text in zh-CN, zh-TW and en is flagged."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from arrears.domain.lint import lint_template
from arrears.entrypoints.cli.templates import lint_paths

REPO = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).parent / "fixtures" / "templates"
Cli = Callable[..., tuple[int, str, str]]

CLEAN_SMS = {
    "zh-CN": "{{# type: reminder; channel: sms #}}\n【{{{{ lender_name }}}}】您的借款已逾期{{{{ days_past_due }}}}天，应还{{{{ amount_due | money }}}}。{text}\n"
    "异议请联系{{{{ dispute_contact }}}}，投诉请联系{{{{ complaint_contact }}}}。\n",
    "zh-TW": "{{# type: reminder; channel: sms #}}\n【{{{{ lender_name }}}}】您的借款已逾期{{{{ days_past_due }}}}天，應還{{{{ amount_due | money }}}}。{text}\n"
    "異議請聯絡{{{{ dispute_contact }}}}，申訴請聯絡{{{{ complaint_contact }}}}。\n",
    "en": "{{# type: reminder; channel: sms #}}\n{{{{ lender_name }}}}: {{{{ amount_due | money }}}} is {{{{ days_past_due }}}} days overdue. {text}\n"
    "Dispute: {{{{ dispute_contact }}}}. Complaints: {{{{ complaint_contact }}}}. Reply STOP to opt out.\n",
}
CASES = yaml.safe_load((Path(__file__).parent / "lint_cases.yaml").read_text(encoding="utf-8"))


def _lint(lang: str, text: str) -> list:
    return lint_template(f"templates/{lang}/sms/reminder.j2", CLEAN_SMS[lang].format(text=text))


def test_every_shipped_template_is_clean() -> None:
    files, findings = lint_paths([REPO / "templates"])
    languages = {p.relative_to(REPO / "templates").parts[0] for p in files}
    assert len(files) >= 30 and {"zh-CN", "zh-TW", "en"} <= languages
    assert [f.to_dict() for f in findings] == []


@pytest.mark.parametrize("lang", ["zh-CN", "zh-TW", "en"])
def test_the_clean_skeleton_is_clean(lang: str) -> None:
    assert _lint(lang, "") == []


@pytest.mark.parametrize("case", CASES, ids=[f"{c['lang']}: {c['text']}" for c in CASES])
def test_prohibited_language_is_flagged(case: dict[str, str]) -> None:
    findings = _lint(case["lang"], case["text"])
    assert findings, "nothing flagged"
    assert case["category"] in {f.category for f in findings}, [f.to_dict() for f in findings]
    if "rule" in case:
        assert case["rule"] in {f.rule for f in findings}
    # Every finding points into the inserted line (line 2) of the template.
    assert {f.line for f in findings} == {2}


def test_categories_covered_in_every_language() -> None:
    by_lang: dict[str, set[str]] = {}
    for case in CASES:
        by_lang.setdefault(case["lang"], set()).add(case["category"])
    assert len(by_lang["zh-CN"]) >= 14 and len(by_lang["en"]) >= 13 and len(by_lang["zh-TW"]) >= 10


def test_span_and_excerpt_are_exact() -> None:
    text = "{# type: reminder; channel: sms #}\n【{{ lender_name }}】请尽快还款，否则爆通讯录。\n"
    (finding,) = [
        f for f in lint_template("templates/zh-CN/sms/reminder.j2", text) if f.category != "missing_element"
    ]
    assert (finding.line, finding.column, finding.end_column) == (2, 28, 32)
    assert finding.rule == "third_party.threat_to_contact.zh" and "爆通讯录" in finding.excerpt


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        ("zh-CN", "我们不会联系您的家人或单位。"),
        ("zh-CN", "请勿向任何个人账户转账。"),
        ("zh-TW", "切勿轉帳至任何個人帳戶。"),
        ("en", "We will never contact your employer."),
        ("en", "We do not report anything to your family."),
        ("zh-CN", "逾期信息可能依法报送征信机构，影响您的信用记录。"),
        ("zh-CN", "我们保留依法通过诉讼等途径主张权利。"),
        ("en", "Late payments may be reported to credit bureaus and may affect your credit report."),
        ("zh-CN", "元旦期间客服照常服务。"),
        ("en", "To permanently stop these texts, reply STOP."),
    ],
)
def test_lawful_statements_and_reassurances_pass(lang: str, text: str) -> None:
    assert _lint(lang, text) == []


def test_code_and_comments_are_not_sent_but_printed_strings_are() -> None:
    ok = "{# type: reminder; channel: sms #}\n{# 老赖 in a comment is never sent #}【{{ lender_name }}】{{ amount_due | money }}{% if x > 1000 %}…{% endif %}\n异议{{ dispute_contact }} 投诉{{ complaint_contact }}\n"
    assert lint_template("templates/zh-CN/sms/reminder.j2", ok) == []
    bad = ok.replace("{{ amount_due | money }}", "{{ amount_due | money }}{{ '老赖' if late }}")
    assert [f.category for f in lint_template("templates/zh-CN/sms/reminder.j2", bad)] == ["insult"]


def test_missing_required_elements_are_named() -> None:
    text = "{# type: reminder; channel: sms #}\nYour payment is overdue.\n"
    rules = {f.rule for f in lint_template("templates/en/sms/reminder.j2", text)}
    assert rules == {
        "missing.lender_name",
        "missing.amount",
        "missing.dispute_contact",
        "missing.complaint_contact",
        "missing.opt_out",
    }
    # Under the cn profile a Chinese SMS needs no opt-out line.
    zh = "{# type: reminder; channel: sms #}\n【{{ lender_name }}】应还{{ amount_due | money }}，异议{{ dispute_contact }}，投诉{{ complaint_contact }}\n"
    assert lint_template("templates/zh-CN/sms/reminder.j2", zh) == []
    assert {f.rule for f in lint_template("templates/zh-CN/sms/reminder.j2", zh, opt_out_required=True)} == {
        "missing.opt_out"
    }


def test_third_party_message_may_not_disclose_the_debt() -> None:
    text = (
        "{# type: third_party_locate; channel: sms #}\n您好，{{ borrower_name }}的借款已逾期，欠款{{ amount_due | money }}，"
        "请转告其回电{{ hotline }}。投诉{{ complaint_contact }}\n"
    )
    findings = lint_template("templates/zh-CN/sms/third_party_locate.j2", text)
    assert {f.rule for f in findings} == {"third_party.discloses_debt"}
    assert any("amount_due" in f.message for f in findings)
    assert len(findings) == 4  # 借款, 逾期, 欠款 and {{ amount_due }}


def test_unknown_type_is_a_structure_finding() -> None:
    (finding,) = lint_template("x/y.j2", "{# type: love_letter; channel: sms #}\nhello\n")
    assert (finding.category, finding.rule) == ("structure", "structure.unknown_type")


def test_fixture_directories(cli: Cli) -> None:
    code, out, _ = cli("templates", "lint", str(FIXTURES / "clean"), "--json")
    assert code == 0 and json.loads(out)["files"] == 3
    code, out, _ = cli("templates", "lint", str(FIXTURES / "bad"), "--json")
    data = json.loads(out)
    assert code == 1 and data["files"] == 3
    got = {(Path(f["file"]).parts[-3], f["category"]) for f in data["findings"]}
    for lang in ("zh-CN", "zh-TW", "en"):
        for category in ("arrest", "third_party_disclosure", "literal_amount", "fake_legal_document"):
            assert (lang, category) in got, (lang, category)
    first = data["findings"][0]
    assert set(first) == {"file", "line", "column", "end_column", "category", "rule", "excerpt", "message"}
    assert data["counts"]["arrest"] >= 3


def test_cli_default_path_and_bad_input(cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    code, out, _ = cli("templates", "lint")
    assert code == 0 and "no findings" in out
    code, _, err = cli("templates", "lint", str(tmp_path / "missing"))
    assert code == 2 and "no such file or directory" in err
    code, out, _ = cli("templates", "lint", str(FIXTURES / "bad" / "en"))
    assert code == 1 and "fake_legal_document" in out
