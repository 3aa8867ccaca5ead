"""One query model: every query parameter is a field of QueryOptions, and the GET parameters, the
POST body, the CLI options and the OpenAPI document are derived from it, validation included."""

from __future__ import annotations

import subprocess
import sys

import pytest

from app.api.main import create_app
from app.compiler.query import MetricQuery, QueryOptions
from app.errors import InvalidQuery
from app.settings import Settings
from tests.conftest import ROOT
from tests.helpers import env_for, tapflow

FIELDS = list(QueryOptions.model_fields)


@pytest.fixture(scope="module")
def openapi() -> dict:
    return create_app(Settings()).openapi()


def test_every_parameter_is_a_documented_get_parameter(openapi) -> None:
    for path in ("/metrics/{name}", "/metrics/{name}/sql"):
        params = {p["name"]: p for p in openapi["paths"][path]["get"]["parameters"]}
        for name in FIELDS:
            assert name in params, f"{name} missing from GET {path}"
            assert params[name]["description"] == QueryOptions.model_fields[name].description


def test_every_parameter_is_in_the_post_body(openapi) -> None:
    body = openapi["paths"]["/query"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    ref = body["$ref"].rsplit("/", 1)[-1]
    properties = openapi["components"]["schemas"][ref]["properties"]
    assert set(FIELDS) | {"metrics"} <= set(properties)
    for name in FIELDS:
        assert properties[name]["description"] == QueryOptions.model_fields[name].description


@pytest.mark.parametrize("command", ["query", "compile"])
def test_every_parameter_is_a_cli_option(command, tmp_path) -> None:
    result = tapflow(command, "--help", env=env_for(tmp_path / "none.duckdb") | {"COLUMNS": "200"})
    assert result.returncode == 0, result.stderr
    for name in FIELDS:
        option = "--" + name.replace("_", "-")  # the CLI's spelling of a field: --compare-to
        assert option in result.stdout, f"{option} missing from tapflow {command} --help"


@pytest.mark.parametrize("args", [["--help"], ["validate", "--help"], ["query", "--help"]])
def test_the_cli_imports_the_query_model_only_for_the_query_commands(args) -> None:
    """`tapflow --help` starts without pydantic, sqlglot and duckdb (most of a cold start), a command's help
    without sqlglot and duckdb (typer itself reads options with pydantic); the command that runs is complete
    either way (the other query command is listed by its docstring)."""
    probe = (
        "import sys; from app.cli import main; sys.argv = ['tapflow', *sys.argv[1:]]\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('LOADED', sorted(m for m in ('pydantic', 'sqlglot', 'duckdb') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", probe, *args], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    loaded = result.stdout.rsplit("LOADED", 1)[1].strip()
    assert loaded == ("[]" if args == ["--help"] else "['pydantic']"), result.stdout
    assert "compile" in result.stdout and "query" in result.stdout if args == ["--help"] else True


def test_cross_field_rules_live_in_the_model() -> None:
    """A cross-field rule lives in the model: constructing the query raises it."""
    with pytest.raises(InvalidQuery, match="compare=prior_period needs a grain"):
        MetricQuery(metrics=("mrr",), compare="prior_period")
    with pytest.raises(InvalidQuery, match="version applies to a single metric"):
        MetricQuery(metrics=("mrr", "arr"), version=1)
    with pytest.raises(InvalidQuery, match="start \\(2025-02-01\\) is after end"):
        MetricQuery(metrics=("mrr",), start="2025-02-01", end="2025-01-01")


def test_cli_applies_the_models_rules(tmp_path) -> None:
    result = tapflow("compile", "mrr", "--compare", "prior_period", env=env_for(tmp_path / "none.duckdb"))
    assert result.returncode == 1 and "compare=prior_period needs a grain" in result.stderr


def test_typed_lists_accept_commas_and_repeats() -> None:
    q = MetricQuery(metrics="mrr, arpa", dimensions=["customer_tier,sales_region", "country"])
    assert q.metrics == ("mrr", "arpa") and q.dimensions == ("customer_tier", "sales_region", "country")


def test_limits_come_from_settings() -> None:
    q = MetricQuery(metrics=("mrr",))
    assert q.limit is None and q.within(Settings(default_limit=7)).limit == 7
    with pytest.raises(InvalidQuery, match="TAPFLOW_MAX_DIMENSIONS"):
        MetricQuery(metrics=("mrr",), dimensions=("a", "b")).within(Settings(max_dimensions=1))
    with pytest.raises(InvalidQuery, match="maximum of 5 rows"):
        MetricQuery(metrics=("mrr",), limit=6).within(Settings(max_rows=5))


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"start": 1700000000, "end": "2025-01-01"}, "start must be an ISO date or timestamp written as text"),
        ({"start": 1.5}, "start must be an ISO date"),
        ({"start": "9999-12-31T23:59:59-05:00"}, "out of range"),
        ({"end": "0001-01-01T00:00:00+05:00"}, "out of range"),
    ],
)
def test_bounds_are_text_dates_in_range(fields, message) -> None:
    with pytest.raises(InvalidQuery, match=message):
        MetricQuery(metrics=("mrr",), **fields)


def test_an_order_column_named_twice_is_refused_before_compiling() -> None:
    with pytest.raises(InvalidQuery, match="order names a column twice"):
        MetricQuery(metrics=("mrr",), order=["-mrr", "mrr"]).check_unique()
