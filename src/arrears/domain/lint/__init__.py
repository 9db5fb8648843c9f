"""Linting message templates against the collection rules: prohibited language and required elements."""

from arrears.domain.lint.patterns import CATEGORIES, PATTERNS
from arrears.domain.lint.templates import (
    Finding,
    TemplateMeta,
    count_by_category,
    lint_template,
    template_meta,
)

__all__ = [
    "CATEGORIES",
    "PATTERNS",
    "Finding",
    "TemplateMeta",
    "count_by_category",
    "lint_template",
    "template_meta",
]
