"""Auto-debit retry rules per product from YAML (`--rules FILE` or ARREARS_AUTODEBIT_RULES), else the default
(retry on day +1 and day +3 after a failed debit, at most 2 retries):

```yaml
default: {retry_days: [1, 3], max_attempts: 2}
products:
  BT: {retry_days: [0, 1, 3], max_attempts: 3}
```
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from arrears.adapters.yamlfile import load_document
from arrears.domain.autodebit import ProductRetryRules, RetryRules
from arrears.domain.errors import InputError

RULES_ENV = "ARREARS_AUTODEBIT_RULES"


def _rules(raw: Any, where: str, base: RetryRules) -> RetryRules:
    if not isinstance(raw, dict) or set(raw) - {"retry_days", "max_attempts"}:
        raise InputError("must be a mapping of retry_days and max_attempts", field=where)
    days = raw.get("retry_days", list(base.retry_days))
    if not isinstance(days, list) or not all(isinstance(d, int) and not isinstance(d, bool) for d in days):
        raise InputError("retry_days must be a list of whole days", field=f"{where}.retry_days")
    attempts = raw.get("max_attempts", base.max_attempts)
    if not isinstance(attempts, int) or isinstance(attempts, bool):
        raise InputError("max_attempts must be a whole number", field=f"{where}.max_attempts")
    try:
        return RetryRules(tuple(days), attempts)
    except InputError as err:
        raise InputError(err.message, field=f"{where}.{err.field}") from None


def load_retry_rules(path: str | Path | None = None) -> ProductRetryRules:
    """The rules from the file (path, else ARREARS_AUTODEBIT_RULES), else the defaults; InputError naming the
    file and field."""
    chosen = path or os.environ.get(RULES_ENV)
    if not chosen:
        return ProductRetryRules()
    raw: Any = load_document(chosen).data
    try:
        if not isinstance(raw, dict) or set(raw) - {"default", "products"}:
            raise InputError("must be a mapping with default and products", field="(top)")
        default = _rules(raw.get("default", {}), "default", RetryRules())
        products = raw.get("products", {}) or {}
        if not isinstance(products, dict):
            raise InputError("must be a mapping of product code to rules", field="products")
        return ProductRetryRules(
            default, {str(code): _rules(r, f"products.{code}", default) for code, r in products.items()}
        )
    except InputError as err:
        raise InputError(err.message, file=str(chosen), field=err.field) from None
