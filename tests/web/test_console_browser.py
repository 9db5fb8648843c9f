"""The console in a real browser (Debian's Chromium through Playwright) against `arrears serve`'s app under
uvicorn, on the sample store: each role's main journey, and axe-core on every page (no serious or critical
violation). With ARREARS_CONSOLE_SCREENSHOTS=DIR the zh-CN pages are saved there (docs/console/*.png)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from arrears.adapters.store import forget_engines
from arrears.entrypoints.api import create_app
from arrears.services.cases import CaseworkConfig
from arrears.services.unit_of_work import UnitOfWork
from tests.browser import ARGS, CHROMIUM, needs_chromium
from tests.served import Served
from tests.web.sample import PASSWORD, TODAY, Clock, at, build

pytestmark = needs_chromium
SHOTS = os.environ.get("ARREARS_CONSOLE_SCREENSHOTS")


class Server(Served):
    """The console's app under uvicorn on a free loopback port, in a thread."""

    def __init__(self, url: str, clock: Clock, data_dir: Path) -> None:
        app = create_app(url, CaseworkConfig(token_secret="t" * 32, data_dir=data_dir))
        app.state.clock = clock
        super().__init__(app)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("console")
    url = f"sqlite:///{tmp}/store.db"
    build(url)
    clock = Clock()
    server = Server(url, clock, tmp)
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield {"url": url, "clock": clock, "server": server, "browser": browser, "tmp": tmp}
        finally:
            browser.close()
            server.stop()
            forget_engines()


def new_page(world: dict[str, Any], *, width: int = 1280, height: int = 900) -> Any:
    context = world["browser"].new_context(viewport={"width": width, "height": height}, locale="zh-CN")
    return context.new_page()


def sign_in(page: Any, world: dict[str, Any], name: str) -> None:
    page.goto(world["server"].base + "/login")
    page.fill("#username", name)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def no_serious_violations(page: Any, name: str) -> None:
    from axe_playwright_python.sync_playwright import Axe

    found = Axe().run(page).response["violations"]
    bad = [(v["id"], v["impact"], len(v["nodes"])) for v in found if v["impact"] in ("serious", "critical")]
    assert bad == [], f"{name}: {bad}"
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def account_show(world: dict[str, Any], loan_id: str, day: str) -> dict[str, Any]:
    env = {**os.environ, "ARREARS_DB_URL": world["url"]}
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "arrears.entrypoints.cli",
            "account",
            "show",
            loan_id,
            "--as-of",
            day,
            "--json",
        ],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return dict(json.loads(out.stdout))


def test_an_agent_is_deferred_at_22_30_allowed_at_08_00_and_a_ptp_clears_the_queue(world) -> None:
    clock: Clock = world["clock"]
    clock.now = at(TODAY, 22, 30)
    page = new_page(world)
    no_serious_violations_login(page, world)
    sign_in(page, world, "agent1")
    assert page.url.endswith("/desk")
    no_serious_violations(page, "desk")
    page.click("a.case-link >> nth=0")
    page.wait_for_load_state()
    assert page.url.endswith("/accounts/L1")
    shown = account_show(world, "L1", TODAY.isoformat())
    assert page.inner_text("#overdue-total") == shown["overdue"]["total"]
    assert "推迟至 2026-01-25 08:00" in page.inner_text("#may-call")
    assert "22:00" in page.inner_text("#may-call")  # the quiet-hours rule's reason, in Chinese
    no_serious_violations(page, "account")
    page.click("#reveal")
    page.wait_for_selector("#pii >> text=张三")

    clock.now = at(TODAY + timedelta(days=1), 8, 0)
    sign_in(page, world, "agent1")  # the evening's session expired overnight
    page.goto(world["server"].base + "/accounts/L1")
    assert "允许" in page.inner_text("#may-call")
    page.select_option("#outcome", "promise_to_pay")
    page.fill("#amount", "1000.00")
    page.fill("#due_on", "2026-01-30")
    page.fill("#note", "周五还款")
    page.click("#record-call")
    page.wait_for_selector("#call-recorded")
    page.goto(world["server"].base + "/desk")
    assert page.locator("a[href='/accounts/L1']").count() == 0
    assert page.locator("a[href='/accounts/L2']").count() == 1
    with UnitOfWork(world["url"]) as uow:
        assert uow.agent_tasks.open_for(["L1"]) == []
    page.context.close()


def no_serious_violations_login(page: Any, world: dict[str, Any]) -> None:
    page.goto(world["server"].base + "/login")
    no_serious_violations(page, "login")


def test_a_supervisor_approves_a_lawyers_letter_and_it_is_dispatched(world) -> None:
    from arrears.adapters.channels.config import load_channels_config
    from arrears.adapters.channels.letters import PdfLetterChannel
    from arrears.adapters.profile_file import load_profile
    from arrears.bootstrap import make_dispatcher
    from arrears.services.dispatch import dispatch

    clock: Clock = world["clock"]
    clock.now = at(TODAY + timedelta(days=1), 9, 0)
    page = new_page(world)
    sign_in(page, world, "super1")
    assert page.url.endswith("/desk")
    page.goto(world["server"].base + "/approvals")
    no_serious_violations(page, "approvals")
    # L1's letter was cancelled by its promise (the agent's journey); L2's waits
    assert page.locator("#letter-1").count() == 0 and page.locator("#letter-3").count() == 1
    pdf = page.request.get(world["server"].base + "/approvals/letters/3/preview.pdf")
    assert pdf.ok and pdf.body().startswith(b"%PDF")
    page.fill("#ref-3", "LR-2026-0125")
    page.click("#letter-3 button[value=approve]")
    page.wait_for_load_state()
    assert page.locator("#letter-3").count() == 0
    folder = world["tmp"] / "letters"
    dispatcher = make_dispatcher(
        world["url"],
        {"lawyer_letter": PdfLetterChannel(str(folder))},
        # the lender names the lawyer who signs (the dispatcher stops an unsigned lawyer's letter)
        load_channels_config(
            None,
            environ={
                "ARREARS_LENDER_SIGNING_LAWYER": "王律师",
                "ARREARS_LENDER_FIRM_REGISTRATION": "31310000000000001X",
            },
        ),
        load_profile("cn"),
        now=lambda: at(TODAY + timedelta(days=1), 10, 0),
    )
    dispatch(dispatcher, workers=1)
    with UnitOfWork(world["url"]) as uow:
        assert uow.outbox.get(3).status == "sent", uow.outbox.get(3)  # type: ignore[union-attr]
    assert list(folder.rglob("*.pdf"))
    page.goto(world["server"].base + "/outbox")
    no_serious_violations(page, "outbox")
    page.context.close()


def test_an_agency_user_cannot_open_another_agencys_account(world) -> None:
    world["clock"].now = at(TODAY + timedelta(days=1), 9, 0)
    page = new_page(world, width=820, height=1180)  # a tablet
    sign_in(page, world, "agency1")
    answer = page.goto(world["server"].base + "/accounts/L2")
    assert answer is not None and answer.status == 404
    answer = page.goto(world["server"].base + "/accounts/L3")
    assert answer is not None and answer.status == 200
    assert "王*" in page.inner_text("#pii")
    no_serious_violations(page, "account-agency-tablet")
    page.context.close()


def test_a_strategist_compares_the_two_shipped_policies(world) -> None:
    world["clock"].now = at(TODAY + timedelta(days=1), 9, 0)
    page = new_page(world)
    sign_in(page, world, "strat1")
    assert page.url.endswith("/strategy")
    page.select_option("#first", "jd-baitiao-11day.yaml")
    page.select_option("#second", "segmented.yaml")
    page.fill("#c-as-of", TODAY.isoformat())
    page.click("#compare-form button[type=submit]")
    page.wait_for_selector("#comparison")
    rows = page.locator("#comparison tbody tr")
    assert rows.count() == 2
    assert "jd-baitiao-11day" in rows.nth(0).inner_text() and "segmented" in rows.nth(1).inner_text()
    no_serious_violations(page, "strategy")
    sign_in(page, world, "comp1")
    page.goto(world["server"].base + "/compliance?from=2026-01-20&to=2026-01-25&borrower=B1")
    assert page.locator("#audit-verdict").count() == 1
    no_serious_violations(page, "compliance")
    page.context.close()
