"""One mistake gives one problem: a faulty definition never cascades into its dependents."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.definitions.loader import load_texts, read_definition_files
from app.errors import DefinitionError

ROOT = Path(__file__).resolve().parents[2]
SALES_REGION = "{name: sales_region, type: string, accepted_values: [NA, EMEA, APAC, LATAM]}"


def problems_after(old: str, new: str, catalog: dict | None) -> list[dict]:
    files = read_definition_files(ROOT)
    text = files["entities/customers.yml"]
    assert old in text
    files["entities/customers.yml"] = text.replace(old, new, 1)
    with pytest.raises(DefinitionError) as info:
        load_texts(files, catalog)
    return info.value.errors


@pytest.mark.parametrize("with_db", [False, True], ids=["declared columns", "database catalog"])
@pytest.mark.parametrize(
    ("new", "expected"),
    [
        # an unknown key in one dimension: the entity is otherwise whole
        (
            "{name: sales_region, type: string, colour: red, accepted_values: [NA, EMEA, APAC, LATAM]}",
            "unknown key 'colour'",
        ),
        # a bad value: the entity is kept without its dimensions; metrics using them are not blamed
        ("{name: sales_region, type: text, accepted_values: [NA, EMEA, APAC, LATAM]}", "is not a valid type"),
        # YAML that does not parse: nothing of the file is known; references to it are not blamed
        (
            "{name: sales_region, type: string, type: string, accepted_values: [NA, EMEA, APAC, LATAM]}",
            "duplicate key 'type'",
        ),
    ],
)
def test_one_mistake_in_an_entity_gives_one_problem(catalog, with_db, new, expected) -> None:
    errors = problems_after(SALES_REGION, new, catalog if with_db else None)
    assert len(errors) == 1, "\n".join(e["message"] for e in errors)
    assert errors[0]["file"] == "entities/customers.yml" and expected in errors[0]["message"]


def test_an_entity_that_fails_whole_is_not_blamed_again_by_its_dependents(catalog) -> None:
    errors = problems_after("primary_key: customer_id", "primary_key: [customer_id]", catalog)
    assert [(e["file"], e["key"]) for e in errors] == [("entities/customers.yml", "entities.customers.primary_key")]


def test_a_real_second_mistake_is_still_reported(catalog) -> None:
    files = read_definition_files(ROOT)
    files["entities/customers.yml"] = files["entities/customers.yml"].replace(
        SALES_REGION, SALES_REGION.replace("type: string,", "type: string, colour: red,"), 1
    )
    files["metrics/zz.yml"] = (
        "version: 2\nmetrics:\n  - name: zz\n    model: ref('entity_customers_daily')\n"
        "    calculation_method: sum\n    expression: active_subscriptions\n    timestamp: snapshot_date\n    dimensions: [custmer_tier]\n"
    )
    with pytest.raises(DefinitionError) as info:
        load_texts(files, catalog)
    messages = sorted(e["message"] for e in info.value.errors)
    assert len(messages) == 2 and "Did you mean 'customer_tier'" in messages[0], messages


DERIVED_TYPO = (
    "version: 2\nmetrics:\n  - name: zz_ratio\n    calculation_method: derived\n"
    "    expression: \"{{ metric('mrrr') }} / 2\"\n"
)
UNKNOWN_TABLE = (
    "version: 2\nmetrics:\n  - name: zz_rows\n    model: ref('no_such_table')\n    calculation_method: count\n"
)


@pytest.mark.parametrize("with_db", [False, True], ids=["declared columns", "database catalog"])
@pytest.mark.parametrize(
    ("customers_old", "customers_new", "extra", "second"),
    [
        # a metadata key that fails leaves the entity's columns known: a typo elsewhere is still found
        ("primary_key: customer_id", "primary_key: customer_id\n    deprecation: soon", "", None),
        # an unreadable entities file hides only the names it may define, not an unrelated metric's typo
        (
            SALES_REGION,
            SALES_REGION.replace("type: string,", "type: string, type: string,"),
            DERIVED_TYPO,
            "unknown metric 'mrrr'",
        ),
        (
            SALES_REGION,
            SALES_REGION.replace("type: string,", "type: string, type: string,"),
            UNKNOWN_TABLE,
            "matches no table",
        ),
    ],
)
def test_an_independent_second_mistake_is_never_hidden(
    catalog, with_db, customers_old, customers_new, extra, second
) -> None:
    files = read_definition_files(ROOT)
    text = files["entities/customers.yml"]
    assert customers_old in text
    files["entities/customers.yml"] = text.replace(customers_old, customers_new, 1)
    if extra:
        files["metrics/zz.yml"] = extra
    else:  # a typo in mrr's expression
        revenue = files["metrics/revenue.yml"]
        assert "expression: monthly_recurring_revenue" in revenue
        files["metrics/revenue.yml"] = revenue.replace(
            "expression: monthly_recurring_revenue", "expression: monthly_recuring_revenue", 1
        )
        second = "unknown column 'monthly_recuring_revenue'"
    with pytest.raises(DefinitionError) as info:
        load_texts(files, catalog if with_db else None)
    messages = [e["message"] for e in info.value.errors]
    assert len(messages) == 2, messages
    assert any(second in m for m in messages), messages
