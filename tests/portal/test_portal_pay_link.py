"""A message's pay_link: with `{token}` in the lender's pay_link (channels.yaml), the dispatcher puts a new portal
link to the loan in each message, and that link opens the borrower's page; the default keeps the lender's URL."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient

from arrears.adapters.channels.config import load_channels_config
from arrears.adapters.profile_file import load_profile
from arrears.bootstrap import make_dispatcher
from arrears.entrypoints.cli.run import load_run_policy
from arrears.services.channels import OutgoingMessage, SendResult
from arrears.services.daily_run import run_range
from arrears.services.dispatch import dispatch
from arrears.services.unit_of_work import UnitOfWork
from tests.web.sample import DUE, Clock, at, import_loans

SEVEN_DPD = DUE + timedelta(days=7)  # the default policy's SMS reminder


class Recorder:
    """An SMS channel that keeps what it was given."""

    name = "recorder"

    def __init__(self) -> None:
        self.sent: list[OutgoingMessage] = []

    def send(self, message: OutgoingMessage, idempotency_key: str) -> SendResult:
        self.sent.append(message)
        return SendResult(f"r-{len(self.sent)}", "accepted")


def test_each_sms_carries_a_portal_link_that_opens_the_borrowers_page(
    store_url: str, app_for: Callable[[str], object], clock: Clock, tmp_path: Path
) -> None:
    clock.now = at(SEVEN_DPD, 12)
    with UnitOfWork(store_url) as uow:
        import_loans(uow)
        uow.commit()
    policy = load_run_policy(None)
    run_range(store_url, SEVEN_DPD, SEVEN_DPD, policy, load_profile(policy.compliance_profile), "reference")
    config = tmp_path / "channels.yaml"
    config.write_text('lender:\n  pay_link: "https://pay.lender.cn/p/{token}"\n', encoding="utf-8")
    sms = Recorder()
    dispatcher = make_dispatcher(
        store_url,
        {"sms": sms},
        load_channels_config(config, environ={}),
        load_profile("cn"),
        now=lambda: at(SEVEN_DPD, 10),
    )
    dispatch(dispatcher, workers=1)
    with_links = [m for m in sms.sent if "https://pay.lender.cn/p/" in m.body]
    assert with_links, [m.body for m in sms.sent]
    tokens = {m.loan_id: re.search(r"/p/([A-Za-z0-9_-]{22})", m.body).group(1) for m in with_links}  # type: ignore[union-attr]
    assert len(set(tokens.values())) == len(tokens)  # one link per message
    with TestClient(app_for(store_url)) as client:  # type: ignore[arg-type]
        for loan_id, token in tokens.items():
            page = client.get(f"/p/{token}", headers={"accept-language": "en"})
            assert page.status_code == 200 and "Confirm it is you" in page.text, loan_id
