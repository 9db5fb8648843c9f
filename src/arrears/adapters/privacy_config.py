"""The privacy settings file (ARREARS_PRIVACY_CONFIG or --config): retention periods per data kind.

    retention:              # kept after the borrower's last loan closed; days, or 90d / 36m / 5y
      identity: 5y          # name, ID number, region
      contact: 3y           # phone, e-mail, postal address
      contact_history: 3y   # where contacts went (masked), facts' values (work numbers)
      case_notes: 3y        # dispute and complaint descriptions, case and agency notes

A kind left out keeps its default (domain/personal_data.DEFAULT_RETENTION_DAYS; docs/privacy.md).
"""

from __future__ import annotations

import os

from arrears.adapters.yamlfile import load_document
from arrears.domain.errors import InputError
from arrears.domain.personal_data import RetentionPeriods

CONFIG_ENV = "ARREARS_PRIVACY_CONFIG"


def load_retention(path: str | None = None) -> RetentionPeriods:
    """The retention periods of the settings file (`path`, else ARREARS_PRIVACY_CONFIG), else the defaults."""
    path = path or os.environ.get(CONFIG_ENV, "").strip() or None
    if path is None:
        return RetentionPeriods()
    doc = load_document(path)
    data = doc.data or {}
    if not isinstance(data, dict) or not isinstance(data.get("retention", {}), dict):
        raise InputError("expected a mapping `retention: {kind: period}`", file=path)
    unknown = set(data) - {"retention"}
    if unknown:
        raise InputError(f"unknown setting {sorted(unknown)[0]!r} (retention)", file=path)
    try:
        return RetentionPeriods.parse(data.get("retention") or {})
    except InputError as err:
        where = err.field or "retention"
        raise InputError(err.message, file=path, line=doc.lines.get(where), field=where) from None
