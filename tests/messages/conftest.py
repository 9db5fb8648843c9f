"""Sample message contexts: every variable any template may use, in Chinese and in English."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from arrears.adapters.rendering import TemplateLibrary

TEMPLATE_ROOT = Path(__file__).resolve().parents[2] / "templates"

SAMPLE_ZH: dict[str, Any] = {
    "lender_name": "示例消费金融",
    "borrower_name": "张三",
    "contact_name": "李四",
    "amount_due": 123456,
    "due_date": date(2026, 1, 10),
    "days_past_due": 7,
    "late_fee_daily_rate": "0.0005",
    "pay_link": "https://pay.example.cn/r/AB12",
    "hotline": "400-800-1000",
    "dispute_contact": "400-800-1001",
    "complaint_contact": "400-800-1002",
    "contract_clause": "第8.2条",
    "law_firm": "北京示例律师事务所",
    "approval_ref": "LR-2026-0117",
    "letter_date": date(2026, 1, 21),
    "loan_ref": "LN-88231",
    "report_date": date(2026, 2, 10),
    "bureau_name": "中国人民银行征信中心",
    "plan_terms": {
        "instalments": 3,
        "instalment_amount": 41152,
        "first_due_date": date(2026, 2, 1),
        "accept_by": date(2026, 1, 25),
    },
    "amount_paid": 30250,
    "paid_on": date(2026, 1, 15),
    "amount_remaining": 93206,
    "promised_amount": 123456,
    "promised_date": date(2026, 1, 20),
    "dispute_ref": "DS-1001",
    "received_on": date(2026, 1, 12),
    "response_days": 15,
    "dispute_by": date(2026, 3, 2),
    "agency_name": "示例商务咨询有限公司",
    "agency_contact": "400-800-2000",
}

SAMPLE_EN: dict[str, Any] = {
    **SAMPLE_ZH,
    "lender_name": "Example Consumer Finance",
    "borrower_name": "Jane Smith",
    "contact_name": "Mary Jones",
    "contract_clause": "clause 8.2",
    "law_firm": "Harper & Lane LLP",
    "bureau_name": "the national credit bureau",
    "pay_link": "https://pay.example.com/r/AB12",
    "hotline": "800-555-0100",
    "dispute_contact": "disputes@example.com",
    "complaint_contact": "800-555-0199",
    "agency_name": "Example Recovery Services",
    "agency_contact": "800-555-0150",
}


def sample_for(language: str) -> dict[str, Any]:
    return dict(SAMPLE_EN if language == "en" else SAMPLE_ZH)


@pytest.fixture(scope="session")
def templates() -> TemplateLibrary:
    return TemplateLibrary(TEMPLATE_ROOT)
