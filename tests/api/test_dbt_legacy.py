"""dbt's legacy metric YAML, unmodified: the seed's governance block validates and answers like mrr."""

from __future__ import annotations

import pytest

from app.definitions.loader import load_texts, read_definition_files
from tests.conftest import ROOT
from tests.seed_example import SEED_BLOCK


def without_shipped_copy() -> dict[str, str]:
    files = read_definition_files(ROOT)
    revenue = files["metrics/revenue.yml"]
    start = revenue.index("  # The team's governance example")
    end = revenue.index("  - name: arr")
    files["metrics/revenue.yml"] = revenue[:start] + revenue[end:]
    files["metrics/seed.yml"] = SEED_BLOCK
    return files


def test_the_seed_block_validates_unmodified_with_a_warning(catalog) -> None:
    project = load_texts(without_shipped_copy(), catalog)
    line = SEED_BLOCK.splitlines().index("        value: 'active'") + 1
    assert project.warnings == [
        f"metrics/seed.yml:{line}: metrics.monthly_recurring_revenue.filters[0].value: 'active' is not a column of "
        "entity.entity_customers_daily: read as the string 'active'; write \"'active'\" to be explicit"
    ]


def test_a_bare_word_that_is_a_column_stays_a_column(catalog) -> None:
    files = without_shipped_copy()
    files["metrics/seed.yml"] = SEED_BLOCK.replace("value: 'active'", "value: customer_tier")
    project = load_texts(files, catalog)
    assert project.warnings == []
    (flt,) = project.metrics["monthly_recurring_revenue"].spec.filters or ()
    assert flt.value == "customer_tier"


@pytest.mark.parametrize("grain", ["month", "quarter"])
def test_the_seed_block_answers_like_mrr(client, grain) -> None:
    params = {"grain": grain, "dimensions": "customer_tier", "start": "2025-01-01", "end": "2025-12-31"}
    seeded = client.get("/metrics/monthly_recurring_revenue", params=params).json()["rows"]
    mrr = client.get("/metrics/mrr", params=params).json()["rows"]
    assert seeded and [(r["period"], r["customer_tier"], r["monthly_recurring_revenue"]) for r in seeded] == [
        (r["period"], r["customer_tier"], r["mrr"]) for r in mrr
    ]
