"""Kept importable: the imports live in `arrears.services.imports` (one module per kind over one skeleton)."""

from arrears.services.imports import *  # noqa: F403 - the package's public names, as they were here
from arrears.services.imports import __all__ as __all__
