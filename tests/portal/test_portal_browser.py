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
from decimal import Decimal
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


def test_a_borrower_pays_through_the_provider_once_and_chooses_three_instalments(world: Any) -> None:
    from arrears.adapters import payment_provider as pp
    from arrears.adapters.payment_provider_sim import Simulator, simulator_app
    from tests.portal.provider import APP_ID, Served, write_keys

    provider_key, merchant_key, env = write_keys(world["tmp"])
    sim = Simulator(APP_ID, provider_key, merchant_key.public_key(), clock=world["clock"], duplicates=1)
    provider = Served(simulator_app(sim))
    config = pp.ProviderConfig.from_env({**env, pp.ENV["url"]: provider.base})
    assert config is not None
    world["server"].server.config.app.state.payment_provider = pp.ProviderClient(config)
    try:
        link = portal_link(world, "L2")
        context = world["browser"].new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
        page = context.new_page()
        page.goto(link["url"])
        before = account_show(world, "L2", TODAY.isoformat())["outstanding"]["total"]
        page.fill("#answer", "1233")
        page.click("form[action$='/step-up'] button")
        page.wait_for_load_state()
        page.fill("#pay_amount", "100.00")
        page.click("form[action$='/pay'] button")
        page.wait_for_load_state()
        assert page.url.startswith(provider.base + "/checkout/")
        assert page.text_content("[data-testid=checkout-amount]") == "CNY 100.00"
        page.click("button[type=submit]")
        page.wait_for_load_state()
        assert page.url.startswith(world["server"].base + "/p/")
        assert page.is_visible("[data-testid=order-status]")
        assert [answer for _, answer in sim.deliveries] == ["success", "success"]  # a duplicate: paid once
        after = account_show(world, "L2", TODAY.isoformat())["outstanding"]["total"]
        assert Decimal(before) - Decimal(after) == Decimal("100.00")
        assert page.text_content("[data-testid=outstanding-total]") == after
        no_serious_violations(page, "portal-paid")

        page.check("#offer-reinstalment-3")
        page.click("form[action$='/plan'] button")
        page.wait_for_load_state()
        assert page.is_visible("[data-testid=done]")
        assert len(page.query_selector_all("section[aria-labelledby=inst-h] tbody tr")) >= 3
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        no_serious_violations(page, "portal-plan")
        context.close()
    finally:
        provider.stop()
