"""The daily run's engines by name: reference (per account through the domain), duckdb (the default) and
spark. Each is an `Evaluator` (arrears.engine.evaluation): the same inputs, the same Evaluation.

The engines' modules are imported when one is asked for (DuckDB and Spark are heavy to import).
"""

from __future__ import annotations

import importlib

from arrears.domain.errors import InputError
from arrears.engine.evaluation import Evaluator

ENGINES = ("duckdb", "reference", "spark")

# Engines whose libraries are an optional extra of the package: the modules each needs and the extra.
OPTIONAL = {"spark": (("pyspark", "pandas"), "spark")}


def require_installed(name: str) -> None:
    """An InputError naming the extra to install when engine `name` needs a library that is missing."""
    modules, extra = OPTIONAL.get(name, ((), ""))
    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError:
            raise InputError(
                f"the {name} engine needs {module}, which is not installed: pip install 'arrears[{extra}]'",
                field="--engine",
            ) from None


def evaluator(name: str) -> Evaluator:
    """The engine called `name`: reference, duckdb (default) or spark; InputError naming --engine otherwise."""
    if name == "reference":
        from arrears.engine.reference import evaluate

        return evaluate
    if name == "duckdb":
        from arrears.engine.duckdb_engine import evaluate

        return evaluate
    if name == "spark":
        require_installed(name)
        from arrears.engine.spark_engine import evaluate

        return evaluate
    raise InputError(f"unknown engine {name!r} (use duckdb, reference or spark)", field="--engine")


__all__ = ["ENGINES", "OPTIONAL", "evaluator", "require_installed"]
