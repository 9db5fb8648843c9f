"""The case-work configuration read from a YAML file (`arrears serve --config FILE`, see docs/api.md) or
ARREARS_CASEWORK_CONFIG, else the defaults; the secrets also from ARREARS_TOKEN_SECRET /
ARREARS_WEBHOOK_SECRET / ARREARS_PROVIDER_SECRET (they win over the file)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from arrears.adapters.yamlfile import load_document
from arrears.domain.cases import RecoveryModel
from arrears.domain.disputes import SlaPolicy
from arrears.domain.errors import InputError
from arrears.domain.plans import PlanRules, RoleLimit
from arrears.domain.promises import Tolerance
from arrears.services.cases import DEFAULTS, CaseworkConfig

CONFIG_ENV = "ARREARS_CASEWORK_CONFIG"
# The secrets can come from the environment too (they win over the file).
SECRET_ENV = {
    "token_secret": "ARREARS_TOKEN_SECRET",
    "webhook_secret": "ARREARS_WEBHOOK_SECRET",
    "provider_secret": "ARREARS_PROVIDER_SECRET",
}


def load_config(path: str | Path | None = None, environ: Mapping[str, str] | None = None) -> CaseworkConfig:
    """The configuration from a YAML file (path, else env ARREARS_CASEWORK_CONFIG), else the defaults; then
    the secrets from ARREARS_TOKEN_SECRET, ARREARS_WEBHOOK_SECRET, ARREARS_PROVIDER_SECRET where set."""
    env = os.environ if environ is None else environ
    config = _load_file(path or env.get(CONFIG_ENV))
    return replace(
        config,
        token_secret=env.get(SECRET_ENV["token_secret"], config.token_secret),
        webhook_secret=env.get(SECRET_ENV["webhook_secret"], config.webhook_secret),
        provider_secret=env.get(SECRET_ENV["provider_secret"], config.provider_secret),
    )


def _load_file(chosen: str | Path | None) -> CaseworkConfig:
    if not chosen:
        return CaseworkConfig()
    raw: Any = load_document(chosen).data
    if not isinstance(raw, dict):
        raise InputError("the case-work config must be a mapping", file=str(chosen))
    try:
        rec = raw.get("recovery", {})
        tol = raw.get("promise_tolerance", {})
        pl = raw.get("plans", {})
        sla = raw.get("sla", {})
        limits = {
            role: RoleLimit(
                int(Decimal(str(v["max_concession"])) * 100) if v.get("max_concession") is not None else None,
                v.get("max_count"),
                v.get("max_days"),
            )
            for role, v in pl.get("limits", {}).items()
        }
        base = PlanRules()
        return CaseworkConfig(
            recovery=RecoveryModel(
                probability={k: Decimal(str(v)) for k, v in rec.get("probability", {}).items()}
                or RecoveryModel().probability
            ),
            promise_tolerance=Tolerance(Decimal(str(tol.get("amount_pct", "5"))), int(tol.get("days", 2))),
            plans=PlanRules(
                limits=limits or base.limits,
                settlement_min_dpd=int(pl.get("settlement_min_dpd", base.settlement_min_dpd)),
                break_tolerance_days=int(pl.get("break_tolerance_days", base.break_tolerance_days)),
                on_break=str(pl.get("on_break", base.on_break)),
            ),
            sla=SlaPolicy(int(sla.get("acknowledge_days", 1)), int(sla.get("resolve_days", 15))),
            bureau_notice_days=int(raw.get("bureau_notice_days", 10)),
            token_secret=str(raw.get("token_secret", DEFAULTS.token_secret)),
            webhook_secret=str(raw.get("webhook_secret", DEFAULTS.webhook_secret)),
            provider_secret=str(raw.get("provider_secret", DEFAULTS.provider_secret)),
            data_dir=Path(str(raw.get("data_dir", "data"))),
        )
    except (AttributeError, KeyError, TypeError, ValueError, ArithmeticError) as exc:
        raise InputError(f"bad case-work config: {exc}", file=str(chosen)) from None
