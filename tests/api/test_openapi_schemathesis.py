"""Schemathesis against the published OpenAPI (in-process ASGI, SQLite, a bounded number of examples per
operation): no request an admin can send makes the server fail, every answer's status, content type and
body are the ones the document declares, and every error is problem+json."""

from __future__ import annotations

import os
import tempfile

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from arrears.adapters.store import forget_engines
from arrears.entrypoints.api import create_app
from arrears.entrypoints.api.limits import ApiLimits
from arrears.services.auth import create_api_key
from arrears.services.cases import CaseworkConfig
from arrears.services.unit_of_work import UnitOfWork

_DIR = tempfile.mkdtemp(prefix="arrears-schemathesis-")
_URL = f"sqlite:///{_DIR}/store.db"
# no rate limit: one key sends every example, as fast as it can
app = create_app(_URL, CaseworkConfig(data_dir=__import__("pathlib").Path(_DIR)), ApiLimits(rate=0))
schema = schemathesis.openapi.from_asgi("/openapi.json", app)
MAX_EXAMPLES = int(os.environ.get("ARREARS_SCHEMATHESIS_EXAMPLES", "8"))


def _admin_key() -> str:
    with UnitOfWork(_URL) as uow:
        key = create_api_key(uow, name="fuzz", role="admin").key
        uow.commit()
    return key


_KEY = _admin_key()


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms(case: schemathesis.Case) -> None:
    response = case.call(headers={"Authorization": f"Bearer {_KEY}"})
    case.validate_response(
        response,
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ],
    )
    if response.status_code >= 400:
        content_type = response.headers["content-type"]
        assert "application/problem+json" in content_type, response.text


def teardown_module() -> None:
    forget_engines()
