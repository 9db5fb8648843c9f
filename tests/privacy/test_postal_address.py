"""The postal address a letter needs comes in through the loans file and the API, is sealed at rest like
the rest of a borrower's personal data, and is shown masked past the city unless a role reveals it."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from arrears.services.unit_of_work import UnitOfWork
from tests.conftest import CliResult
from tests.privacy.test_personal_data import raw_text

ADDRESS = "北京市朝阳区建国路88号2单元301室"
LOANS = f"""\
loan_id,borrower_id,product,currency,seq,due_date,principal,borrower_name,phone,address
L1,B1,baitiao-30d,CNY,1,2026-02-15,800.00,张三,13812345678,{ADDRESS}
L2,B2,baitiao-30d,CNY,1,2026-02-15,500.00,李四,13998765432,
"""

Cli = Callable[..., CliResult]


def test_an_imported_address_is_sealed_opened_by_the_store_and_masked_in_views(
    store_url: str, tmp_path: Path, cli: Cli
) -> None:
    (tmp_path / "loans.csv").write_text(LOANS, encoding="utf-8")
    result = cli("import", "loans", str(tmp_path / "loans.csv"), "--json")
    assert result.code == 0, result.stderr
    assert ADDRESS not in raw_text(store_url)
    with UnitOfWork(store_url) as uow:
        b1, b2 = uow.borrowers.get("B1"), uow.borrowers.get("B2")
    assert b1 is not None and b1.address == ADDRESS
    assert b2 is not None and b2.address is None
    shown = cli("borrower", "show", "B1", "--json")
    assert shown.code == 0, shown.stderr
    assert json.loads(shown.stdout)["borrower"]["address"] == "北京市朝阳区" + "*" * (len(ADDRESS) - 6)
    assert ADDRESS not in shown.stdout


def test_a_too_long_address_is_a_bad_row_that_is_not_echoed(store_url: str, tmp_path: Path, cli: Cli) -> None:
    long = "北京市朝阳区" + "很长的路" * 80
    (tmp_path / "loans.csv").write_text(LOANS.replace(ADDRESS, long), encoding="utf-8")
    result = cli("import", "loans", str(tmp_path / "loans.csv"))
    assert result.code == 2
    assert "field 'address'" in result.stderr and long not in result.stderr
