"""Schemathesis against the service's own OpenAPI document, on a real server (bounded for CI):
no 5xx, and every response matches the schema documented for its status.

The operations are driven with Hypothesis directly (schemathesis' pytest plugin does not load
under this pytest), one bounded property per operation."""

from __future__ import annotations

import shutil
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance

from tests.helpers import env_for, running_server

EXAMPLES = 30
SKIPPED = {"/admin/seed"}  # rewrites the data at any scale asked for: an operator's action, not fuzzed


def test_api_conforms_to_its_openapi_document(demo_db: Path, tmp_path: Path) -> None:
    db = tmp_path / "fuzz.duckdb"
    shutil.copy(demo_db, db)
    with running_server(env_for(db, TAPFLOW_NOW="2026-11-26T12:00:00", TAPFLOW_QUERY_TIMEOUT_S="5")) as base:
        schema = schemathesis.openapi.from_url(base + "/openapi.json")
        operations = [result.ok() for result in schema.get_all_operations()]
        checked = []
        for operation in operations:
            if operation.path in SKIPPED:
                continue

            @given(case=operation.as_strategy())
            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                derandomize=True,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def conforms(case) -> None:
                case.call_and_validate(base_url=base, checks=[not_a_server_error, response_schema_conformance])

            conforms()
            checked.append(f"{operation.method.upper()} {operation.path}")
        assert len(checked) == len(operations) - len(SKIPPED) >= 18, checked
