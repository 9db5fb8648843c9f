"""The portal's pages and the service errors it shows, in zh-CN, zh-TW and en: every message of the portal's
templates is in each catalogue (translated in the Chinese ones), and a service error reaches the borrower in
their language without internal names."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.pofile import read_po
from fastapi.testclient import TestClient

from arrears.domain.checkout import check_pay_amount
from arrears.domain.errors import InputError
from arrears.entrypoints.web.portal import FIELD_LABELS
from tests.portal.test_portal_http import link, passed
from tests.web.sample import Clock

SRC = Path(__file__).resolve().parents[2] / "src" / "arrears"
TEMPLATES = SRC / "entrypoints" / "web" / "templates" / "portal"
# Messages the pages look up at run time (statuses, kinds, labels) besides the literal _("...") of the templates.
DYNAMIC = [
    *FIELD_LABELS.values(),
    "Your entry",
    "Please check this entry:",
    "extension",
    "reinstalment",
    "settlement",
    "active",
    "awaiting_approval",
    "Paying online is not available now.",
    "The payment service did not answer. Please try again later.",
    "this offer is not available",
]


def literal_messages() -> set[str]:
    found: set[str] = set()
    for template in TEMPLATES.glob("*.html"):
        found |= set(re.findall(r'_\("((?:[^"\\]|\\.)+)"\)', template.read_text(encoding="utf-8")))
    return found


def catalogue(lang: str) -> dict[str, str]:
    with (SRC / "locale" / lang / "LC_MESSAGES" / "portal.po").open("rb") as f:
        return {str(m.id): str(m.string) for m in read_po(f) if m.id}


def test_every_portal_message_is_in_each_catalogue_and_translated_in_chinese() -> None:
    wanted = literal_messages() | set(DYNAMIC)
    errors = []
    for amount, outstanding in ((1, 0), (2, 1), (1, 20_000)):  # the pay-now errors, as the service says them
        try:
            check_pay_amount(amount, outstanding)
        except InputError as err:
            errors.append(err.message)
    wanted |= set(errors)
    assert len(errors) == 3
    for lang in ("en", "zh_CN", "zh_TW"):
        found = catalogue(lang)
        missing = sorted(m for m in wanted if m not in found)
        assert missing == [], f"add to {lang}/LC_MESSAGES/portal.po: {missing}"
        if lang != "en":
            untranslated = sorted(m for m in wanted if not found[m])
            assert untranslated == [], f"translate in {lang}: {untranslated}"
    assert catalogue("zh_CN")["Pay now"] != catalogue("zh_TW")["Repayment plans"]


def test_a_service_error_reaches_the_borrower_in_their_language(
    console: TestClient, sample_store: str, clock: Clock
) -> None:
    token = link(sample_store, clock)
    csrf = passed(console, token)
    for lang, says in (
        ("zh-CN", "日期格式不对"),
        ("zh-TW", "日期格式不對"),
        ("en", "not a date (YYYY-MM-DD)"),
    ):
        page = console.post(
            f"/p/{token}/promise?lang={lang}", data={"csrf": csrf, "amount": "100.00", "due_on": "tomorrow"}
        )
        assert page.status_code == 400 and says in page.text, lang
        assert "field 'due_on'" not in page.text
    # a message with values in it: the field to check, in the borrower's language
    page = console.post(f"/p/{token}/opt-out?lang=zh-TW", data={"csrf": csrf, "channel": "fax"})
    assert page.status_code == 400 and "請檢查這一項： 不再透過以下方式聯絡我" in page.text
