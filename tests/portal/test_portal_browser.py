"""The portal in Debian's Chromium at 390×844 against `arrears serve`'s app under uvicorn, on the console's
sample store: a link printed by `arrears portal link --json`, the step-up, the same overdue total as `arrears
account show --json`, a promise and a dispute; axe-core on each page (no serious or critical violation).
With ARREARS_CONSOLE_SCREENSHOTS=DIR the zh-CN pages are saved there (docs/portal/*.png)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from typing import Any

from arrears.services import disputes
from arrears.services.unit_of_work import UnitOfWork
from tests.web.sample import TODAY
from tests.web.test_console_browser import account_show, no_serious_violations, pytestmark, world

__all__ = ["pytestmark", "world"]  # the browser's skip mark and the served sample store


def portal_link(w: dict[str, Any], loan_id: str) -> dict[str, str]:
    env = {**os.environ, "ARREARS_DB_URL": w["url"], "ARREARS_PORTAL_BASE_URL": w["server"].base}
    out = subprocess.run(
        [sys.executable, "-m", "arrears.entrypoints.cli", "portal", "link", loan_id, "--ttl", "2d", "--json"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    found = json.loads(out.stdout)
    assert set(found) == {"url", "expires_at"}
    return dict(found)


def test_a_borrower_opens_a_link_steps_up_sees_the_ledger_total_promises_and_disputes(world: Any) -> None:
    link = portal_link(world, "L3")
    assert link["url"].startswith(world["server"].base + "/p/")
    context = world["browser"].new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    page = context.new_page()
    page.goto(link["url"])
    expected = account_show(world, "L3", TODAY.isoformat())["overdue"]["total"]
    assert page.text_content("[data-testid=overdue-total]") == expected
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling
    no_serious_violations(page, "portal-balance")

    page.fill("#answer", "1233")
    page.click("form[action$='/step-up'] button")
    page.wait_for_load_state()
    assert page.is_visible("#promise-h")
    no_serious_violations(page, "portal-details")

    page.fill("#amount", "100.00")
    page.fill("#due_on", (TODAY + timedelta(days=3)).isoformat())
    page.click("form[action$='/promise'] button")
    page.wait_for_load_state()
    assert page.get_attribute("[data-testid=done]", "role") == "status"
    no_serious_violations(page, "portal-promise")

    page.select_option("#category", "wrong_amount")
    page.fill("#description", "我在 1 月 9 日已经还了 500 元")
    page.click("form[action$='/dispute'] button")
    page.wait_for_load_state()
    assert page.is_visible("[data-testid=done]")
    with UnitOfWork(world["url"]) as uow:
        opened = disputes.list_disputes(uow, loan_ids=["L3"], today=TODAY)
        assert [d["category"] for d in opened] == ["wrong_amount"]
        assert uow.promises.has_pending(["L3"])
    context.close()
