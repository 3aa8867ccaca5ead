"""Broken definitions and the problems they produce: file, line, key and the message's key words.

Each case adds one file (or edits a shipped one) next to the shipped definitions and loads them with
``load_texts``, with the database catalog and, where the problem does not need one, without it. The
problems of the case's file must be exactly the expected ones, and no other file may be blamed.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from app.definitions.loader import load_project, load_texts, read_definition_files
from app.definitions.paths import PathError, resolve_path
from app.definitions.yamlpos import YamlProblem, line_of, parse_yaml
from app.errors import DefinitionError, InvalidQuery, UnknownEntity
from tests.unit import tiny_warehouse

ROOT = Path(__file__).resolve().parents[2]
M = "version: 2\nmetrics:\n"
E = "version: 2\nentities:\n"
DAILY = "    model: ref('entity_customers_daily')\n"
CUSTOMERS = "    primary_key: customer_id\n    tables:\n      current: entity.entity_customers\n"


@pytest.fixture(scope="module")
def catalog() -> dict[str, dict[str, str]]:
    """The schema's catalog, read from the tiny warehouse's file (built once, shared by every session)."""
    return tiny_warehouse.catalog()


@pytest.fixture(scope="module")
def shipped() -> dict[str, str]:
    return read_definition_files(ROOT)


def problems(files: dict[str, str], catalog=None, **kwargs) -> list[dict]:
    with pytest.raises(DefinitionError) as info:
        load_texts(files, catalog, **kwargs)
    assert info.value.detail.startswith(f"{len(info.value.errors)} problem(s) in the definitions:\n")
    return info.value.errors


# (file, text, [(line, key, words that the message holds, in order)])
# the file or a spec cannot be read as definitions: every case in one load (names made unique per case)
MALFORMED = {
    # --- the file itself ---
    "yaml syntax": (
        "metrics/zz.yml",
        M + "  - name: t_a\n    dimensions: [a, b\n    model: x\n",
        [
            (
                5,
                "(file)",
                "expected ',' or ']'",
                "(while parsing a flow sequence that starts at line 4)",
                "; fix the YAML and reload",
            )
        ],
    ),
    "yaml without context": (
        "metrics/zz.yml",
        M + "  - name: t_a\n\tmodel: x\n",
        [(4, "(file)", "YAML syntax error: ", "; fix the YAML and reload")],
    ),
    "duplicate key": (
        "metrics/zz.yml",
        M + "  - name: t_a\n    calculation_method: count\n    name: t_b\n",
        [(5, "(file)", "duplicate key 'name' in mapping; fix the YAML and reload")],
    ),
    "not a mapping": (
        "metrics/zz.yml",
        "- a\n- b\n",
        [(1, "(file)", "expected a mapping with `version: 2` and `metrics:` or `entities:`")],
    ),
    "wrong version": (
        "metrics/zz.yml",
        "version: 3\nmetrics: []\n",
        [(1, "(file).version", "3 is not a valid version")],
    ),
    "unknown file key": (
        "metrics/zz.yml",
        "version: 2\n\nmetricz: []\n",
        [
            (
                3,
                "(file).metricz",
                "unknown key 'metricz'. Did you mean 'metrics'?",
                "Allowed: entities, metrics, version.",
            )
        ],
    ),
    "item not a mapping": (
        "metrics/zz.yml",
        M + "  - name: t_a\n    calculation_method: count\n    entity: users\n  - just_a_name\n",
        [(6, "metrics[1]", "each item of metrics must be a mapping")],
    ),
    # --- a spec's keys and values ---
    "missing key": (
        "metrics/zz.yml",
        M + "  - name: t_a\n    model: ref('entity_customers')\n",
        [(3, "metrics.t_a.calculation_method", "required key 'calculation_method' is missing")],
    ),
    "bad choice": (
        "metrics/zz.yml",
        M + "  - name: t_a\n    model: ref('entity_customers')\n    calculation_method: summ\n    expression: seats\n",
        [
            (
                5,
                "metrics.t_a.calculation_method",
                "'summ' is not a valid calculation_method. Did you mean 'sum'?",
                "Allowed: average, count, count_distinct, derived, max, median, min, sum.",
            )
        ],
    ),
    "bad name": (
        "metrics/zz.yml",
        M + "  - name: Bad-Name\n    entity: users\n    calculation_method: count\n",
        [(3, "metrics.Bad-Name.name", "'Bad-Name' is not a valid name: use snake_case")],
    ),
    "bad number": (
        "metrics/zz.yml",
        M + "  - name: t_a\n    entity: users\n    calculation_method: count\n    version: two\n",
        [(6, "metrics.t_a.version", "valid integer", "(got 'two')")],
    ),
    "nested unknown key": (
        "metrics/zz.yml",
        M + "  - name: t_a\n    entity: customers\n    calculation_method: count\n    filters:\n"
        "      - {field: seats, operator: '>', value: 1, colour: red}\n",
        [(7, "metrics.t_a.filters[0].colour", "unknown key 'colour'. Allowed: field, operator, value.")],
    ),
    "unknown table key": (
        "entities/zz.yml",
        E
        + "  - name: t_e\n    primary_key: customer_id\n    tables:\n      current: {name: entity.entity_customers, grainn: day}\n",
        [
            (
                6,
                "entities.t_e.tables.current.grainn",
                "unknown key 'grainn'. Did you mean 'grain'?",
                "Allowed: build, columns, deprecation, description, freshness, grain, name, refresh, tests, timestamp, valid_to.",
            )
        ],
    ),
    "table name form": (
        "entities/zz.yml",
        E + "  - name: t_e\n    primary_key: customer_id\n    tables:\n      current: entity.entity-customers\n",
        [(6, "entities.t_e.tables.current.name", "'entity.entity-customers'")],
    ),
    "pattern of a key other than a name": (
        "entities/zz.yml",
        E + "  - name: t_e\n    primary_key: customer_id\n    tables:\n      current: entity.entity_customers\n"
        "    dimensions:\n      - {name: customer_tier}\n    relationships:\n"
        "      - {name: Customer, entity: customers, type: many_to_one, foreign_key: customer_id}\n",
        [(10, "entities.t_e.relationships[0].name", "'Customer' is not a valid name: use snake_case")],
    ),
    # --- entities ---
}

# problems of meaning: every case in one load (names made unique per case), with and without a catalog
SEMANTIC = {
    "no tables": (
        "entities/zz.yml",
        E + "  - name: t_e\n    primary_key: customer_id\n    tables: {}\n",
        [(5, "entities.t_e.tables", "an entity needs at least one table, such as current: schema.table")],
    ),
    "duplicate relationship and unknown entity": (
        "entities/zz.yml",
        E + "  - name: t_e\n" + CUSTOMERS + "    relationships:\n"
        "      - {name: teams, entity: teams, type: one_to_many, foreign_key: customer_id}\n"
        "      - {name: teams, entity: teams, type: one_to_many, foreign_key: team_id}\n"
        "      - {name: boss, entity: bosses, type: many_to_one, foreign_key: boss_id}\n",
        [
            (9, "entities.t_e.relationships[1].name", "duplicate relationship name 'teams'"),
            (
                10,
                "entities.t_e.relationships[2].entity",
                "relationship 'boss' points to unknown entity 'bosses'.",
                "Allowed: customers, devices, locations, subscriptions, ",
            ),
        ],
    ),
    "duplicate entity": (
        "entities/zz.yml",
        E + "  - name: users\n" + CUSTOMERS,
        [
            (
                3,
                "entities.users.name",
                "duplicate entity name 'users' (first defined in entities/users.yml:3);",
                "entity names must be unique",
            )
        ],
    ),
    # --- metrics over tables ---
    "invalid SQL": (
        "metrics/zz.yml",
        M + "  - name: t_a\n" + DAILY + "    calculation_method: sum\n    expression: seats +* 2\n",
        [(6, "metrics.t_a.expression", "invalid SQL at line 1, column 10: ", "(in 'seats +* 2')")],
    ),
    "two statements": (  # the second is never quietly dropped
        "metrics/zz.yml",
        M + "  - name: t_a\n" + DAILY + "    calculation_method: sum\n    expression: seats; DROP TABLE x\n",
        [(6, "metrics.t_a.expression", "invalid SQL: one expression is expected, not 2 statements")],
    ),
    "aggregating expression": (
        "metrics/zz.yml",
        M + "  - name: t_a\n" + DAILY + "    calculation_method: sum\n    expression: sum(monthly_recurring_revenue)\n",
        [(6, "metrics.t_a.expression", "expression must not aggregate: calculation_method applies the aggregation")],
    ),
    "unknown columns": (
        "metrics/zz.yml",
        M + "  - name: t_a\n" + DAILY + "    calculation_method: sum\n    expression: mrr * 2\n"
        "    timestamp: snapshot_day\n    filters:\n      - {field: tier, operator: '=', value: \"'a'\"}\n"
        "    non_additive_dimension: {name: snap}\n",
        [
            (
                6,
                "metrics.t_a.expression",
                "unknown column 'mrr' in expression: not a column of entity.entity_customers_daily.",
            ),
            (
                7,
                "metrics.t_a.timestamp",
                "unknown column 'snapshot_day' in timestamp:",
                "Did you mean 'snapshot_date'?",
            ),
            (
                9,
                "metrics.t_a.filters[0].field",
                "unknown column 'tier' in filter field:",
                "Did you mean 'customer_tier'?",
            ),
            (
                10,
                "metrics.t_a.non_additive_dimension.name",
                "unknown column 'snap' in non_additive_dimension:",
                "Did you mean 'snapshot_date'?",
            ),
        ],
    ),
    "no expression": (
        "metrics/zz.yml",
        M + "  - name: t_a\n" + DAILY + "    calculation_method: average\n",
        [
            (
                5,
                "metrics.t_a.calculation_method",
                "calculation_method 'average' needs an expression",
                "columns of entity.entity_customers_daily)",
            )
        ],
    ),
    "snapshot of a median": (
        "metrics/zz.yml",
        M + "  - name: t_a\n" + DAILY + "    calculation_method: median\n    expression: customer_id\n"
        "    timestamp: snapshot_date\n    non_additive_dimension: {name: snapshot_date}\n",
        [(8, "metrics.t_a.non_additive_dimension", "non_additive_dimension needs an aggregating calculation_method")],
    ),
    "window": (
        "metrics/zz.yml",
        M + "  - name: t_a\n" + DAILY + "    calculation_method: average\n    expression: active_subscriptions\n"
        "    window: {count: 3, period: day}\n  - name: t_b\n" + DAILY + "    calculation_method: count_distinct\n"
        "    expression: customer_id\n    timestamp: snapshot_date\n    window: {count: 3, period: day}\n",
        [
            (
                7,
                "metrics.t_a.window",
                "a rolling window works with calculation_method count, max, min, sum, not 'average'",
            ),
            (7, "metrics.t_a.window", "window needs a timestamp: add `timestamp: <date column>`"),
            (13, "metrics.t_b.window", "not 'count_distinct'"),
        ],
    ),
    "model and entity": (
        "metrics/zz.yml",
        M + "  - name: t_a\n" + DAILY + "    entity: customers\n    calculation_method: count\n",
        [(5, "metrics.t_a.entity", "give either model or entity, not both")],
    ),
    "model form": (
        "metrics/zz.yml",
        M + '  - name: t_a\n    model: "ref(entity_customers)"\n    calculation_method: count\n',
        [(4, "metrics.t_a.model", "model must be ref('<table>') or a table name, not 'ref(entity_customers)'")],
    ),
    "unknown model": (
        "metrics/zz.yml",
        M + "  - name: t_a\n    model: \"ref('entity_customer_daily')\"\n    calculation_method: count\n",
        [
            (
                4,
                "metrics.t_a.model",
                "model ref('entity_customer_daily') matches no table of any entity.",
                "Did you mean 'entity_customers_daily'",
                "Allowed: customer_facts, entity_customers, ",
            )
        ],
    ),
    "unknown entity": (
        "metrics/zz.yml",
        M + "  - name: t_a\n    entity: customer\n    calculation_method: count\n",
        [
            (
                4,
                "metrics.t_a.entity",
                "unknown entity 'customer'. Did you mean 'customers'",
                "Allowed: customers, devices, locations, subscriptions, ",
            )
        ],
    ),
    "no table": (
        "metrics/zz.yml",
        M + "  - name: t_a\n    calculation_method: count\n",
        [(3, "metrics.t_a.model", "a metric needs `model: ref('<table>')` or `entity: <name>`")],
    ),
    "grains without timestamp": (
        "metrics/zz.yml",
        M + "  - name: t_a\n" + DAILY + "    calculation_method: count\n    time_grains: [day]\n",
        [(6, "metrics.t_a.time_grains", "time_grains need a timestamp: add `timestamp: <date column>`")],
    ),
    "grains too fine": (
        "metrics/zz.yml",
        M + "  - name: t_a\n    model: ref('entity_subscriptions_monthly')\n    calculation_method: count\n"
        "    timestamp: month_start\n    time_grains:\n      - month\n      - week\n      - day\n",
        [
            (
                9,
                "metrics.t_a.time_grains[1]",
                "time grain 'week' is finer than entity.entity_subscriptions_monthly allows",
                "(its grain is month). Allowed: month, quarter, year.",
            ),
            (10, "metrics.t_a.time_grains[2]", "time grain 'day' is finer than"),
        ],
    ),
    "dimensions": (
        "metrics/zz.yml",
        M + "  - name: t_a\n" + DAILY + "    calculation_method: count\n"
        "    dimensions: [customer_tier, nope.x, teams.team_type, country, custmer_tier]\n",
        [
            (
                6,
                "metrics.t_a.dimensions[1]",
                "unknown dimension 'nope.x': entity 'customers' has no relationship 'nope'.",
                "Allowed: locations, subscriptions, teams.",
            ),
            (
                6,
                "metrics.t_a.dimensions[2]",
                "unknown dimension 'teams.team_type': relationship 'teams' of 'customers' is one_to_many",
                "fan out",
            ),
            (
                6,
                "metrics.t_a.dimensions[4]",
                "unknown dimension 'custmer_tier': 'custmer_tier' is not a column of "
                "entity.entity_customers_daily. Did you mean 'customer_tier'",
            ),
        ],
    ),
    "filter values": (
        "metrics/zz.yml",
        M + "  - name: t_a\n" + DAILY + "    calculation_method: count\n    filters:\n"
        "      - {field: customer_tier, operator: is, value: \"'a'\"}\n"
        "      - {field: customer_tier, operator: '='}\n"
        "      - {field: customer_tier, operator: '=', value: growth spurt}\n"
        "      - {field: customer_tier, operator: '=', value: \"lower('a')\"}\n"
        "      - {field: customer_tier, operator: in, value: \"('a', b)\"}\n"
        "      - {field: customer_tier, operator: '=', value: \"'a' +\"}\n"
        "      - {field: customer_tier, operator: in, value: [\"'a'\", b]}\n"
        "      - {field: customer_tier, operator: is not, value: 'null'}\n"
        "      - {field: active_subscriptions, operator: '>', value: 2.5}\n"
        "      - {field: customer_tier, operator: in, value: \"('a', 'b')\"}\n",
        [
            (7, "metrics.t_a.filters[0].value", "operator 'is' takes null, true or false, not \"'a'\""),
            (8, "metrics.t_a.filters[1].value", "operator '=' needs a value; for a null test use operator: is"),
            (
                9,
                "metrics.t_a.filters[2].value",
                "filter value 'growth spurt' is SQL that is not a literal (it reads as an expression);",
                "quote strings as SQL literals, e.g. value: \"'growth spurt'\"",
            ),
            (10, "metrics.t_a.filters[3].value", "(it reads as an expression)"),
            (
                11,
                "metrics.t_a.filters[4].value",
                "filter value ' b' is SQL that is not a literal",
                "e.g. value: \"'b'\"",
            ),
            (12, "metrics.t_a.filters[5].value", "invalid SQL", "(in \"'a' +\")"),
            (13, "metrics.t_a.filters[6].value", "filter value 'b' is SQL that is not a literal"),
        ],
    ),
    # --- derived metrics, versions, deprecations ---
    "derived": (
        "metrics/zz.yml",
        M + "  - name: t_d1\n    calculation_method: derived\n    model: ref('entity_customers_daily')\n"
        "    window: {count: 2, period: day}\n    expression: \"{{ metric('mrr') }} * 2\"\n"
        "  - name: t_d2\n    calculation_method: derived\n"
        "  - name: t_d3\n    calculation_method: derived\n    expression: sum(mrr)\n"
        "  - name: t_d5\n    calculation_method: derived\n    expression: mrrr + t_d5\n"
        "  - name: t_d6\n    calculation_method: derived\n    expression: \"{{ metric('mrr') }} / {{ metric('new_mrr') }}\"\n"
        "    time_grains: [day, month]\n    dimensions: [customer_tier]\n"
        "  - name: t_d7\n    calculation_method: derived\n    expression: (mrr\n",
        [
            (5, "metrics.t_d1.model", "a derived metric takes no 'model': set it on the metrics it is computed from"),
            (6, "metrics.t_d1.window", "a derived metric takes no 'window'"),
            (8, "metrics.t_d2.expression", "a derived metric needs an expression over other metrics"),
            (12, "metrics.t_d3.expression", "a derived expression combines metrics; it must not aggregate"),
            (15, "metrics.t_d5.expression", "derived metric 't_d5' refers to itself"),
            (15, "metrics.t_d5.expression", "unknown metric 'mrrr' in derived expression. Did you mean 'mrr'?"),
            (
                19,
                "metrics.t_d6.time_grains[0]",
                "time grain 'day' is not available on every metric this derived metric uses.",
                "Allowed: month, quarter, year.",
            ),
            (20, "metrics.t_d6.dimensions[0]", "dimension 'customer_tier' is not available on every metric"),
            (23, "metrics.t_d7.expression", "invalid SQL at line 1, column 4: ", "(in '(mrr')"),
        ],
    ),
    "derived timestamps and filter paths": (
        "metrics/zz.yml",
        M + "  - {name: t_a, calculation_method: derived, timestamp: snapshot_date,"
        " expression: \"{{ metric('mrr') }} / {{ metric('active_customers') }}\"}\n"
        "  - {name: t_b, calculation_method: derived, timestamp: snapshot_date,"
        " expression: \"{{ metric('mrr') }} / {{ metric('new_mrr') }}\"}\n"
        "  - {name: t_c, calculation_method: derived, expression: t_a * 2, timestamp: snapshot_date}\n"
        "  - {name: t_d, calculation_method: derived, expression: t_a + arpa, timestamp: snapshot_day}\n"
        "  - {name: t_e, model: \"ref('entity_subscriptions_monthly')\", calculation_method: sum, expression: mrr,"
        " filters: [{field: customer.customer_tier, operator: '=', value: \"'growth'\"}]}\n"
        "  - {name: t_f, model: \"ref('entity_subscriptions_monthly')\", calculation_method: sum, expression: mrr,"
        " filters: [{field: customer.tier, operator: '=', value: \"'growth'\"}]}\n"
        "  - {name: t_g, model: \"ref('entity_subscriptions_monthly')\", calculation_method: sum, expression: mrr,"
        " filters: [{field: custom.customer_tier, operator: '=', value: \"'growth'\"}]}\n",
        [
            (
                4,
                "metrics.t_b.timestamp",
                "timestamp 'snapshot_date' disagrees with the metrics it is computed from",
                "(mrr uses snapshot_date, new_mrr uses month_start)",
            ),
            (
                6,
                "metrics.t_d.timestamp",
                "timestamp 'snapshot_day' disagrees",
                "(t_a uses snapshot_date, arpa uses snapshot_date)",
            ),
            (
                8,
                "metrics.t_f.filters[0].field",
                "unknown filter field 'customer.tier': 'tier' is not a column of "
                "entity.entity_customers. Did you mean 'customer_tier'?",
            ),
            (
                9,
                "metrics.t_g.filters[0].field",
                "unknown filter field 'custom.customer_tier': entity 'subscriptions' has no relationship 'custom'.",
            ),
        ],
    ),
    "cycle": (
        "metrics/zz.yml",
        M + "  - name: t_c1\n    calculation_method: derived\n    expression: t_c2 * 2\n"
        "  - name: t_c2\n    calculation_method: derived\n    expression: t_c3 + mrr\n"
        "  - name: t_c3\n    calculation_method: derived\n    expression: t_c1 - 1\n"
        "  - name: t_c4\n    calculation_method: derived\n    expression: t_c1 + 1\n",
        [
            (
                5,
                "metrics.t_c1.expression",
                "derived metrics form a cycle: t_c1 -> t_c2 -> t_c3 -> t_c1;",
                "a derived metric cannot depend on itself",
            )
        ],
    ),
    "duplicate metric": (
        "metrics/zz.yml",
        M + "  - name: t_a\n    entity: users\n    calculation_method: count\n"
        "  - name: mrr\n" + DAILY + "    calculation_method: count\n",
        [
            (
                6,
                "metrics.mrr.name",
                "duplicate metric name 'mrr' (first defined in metrics/revenue.yml:3);",
                "metric names must be unique across the project",
            )
        ],
    ),
    "previous versions": (
        "metrics/zz.yml",
        M + "  - name: t_a\n" + DAILY + "    calculation_method: sum\n    expression: active_subscriptions\n"
        "    version: 3\n    previous_versions:\n      - {version: 3}\n      - {version: 1, expression: customer_id}\n"
        "      - {version: 1}\n      - {version: 2, expression: nope}\n      - {version: 4}\n",
        [
            (
                9,
                "metrics.t_a.previous_versions[0].version",
                "previous version 3 must be lower than the current version 3",
            ),
            (11, "metrics.t_a.previous_versions[2].version", "version 1 is listed twice"),
            (12, "metrics.t_a.previous_versions[3].expression", "unknown column 'nope' in expression"),
            (13, "metrics.t_a.previous_versions[4].version", "previous version 4 must be lower"),
        ],
    ),
    "deprecation": (
        "metrics/zz.yml",
        M
        + "  - name: t_a\n"
        + DAILY
        + "    calculation_method: count\n    deprecation:\n      deprecated_at: 2026-11-01\n"
        "      sunset_date: 2026-10-31\n      replaced_by: mrrr\n",
        [
            (8, "metrics.t_a.deprecation.sunset_date", "sunset_date must not be before deprecated_at"),
            (9, "metrics.t_a.deprecation.replaced_by", "replaced_by names unknown metric 'mrrr'. Did you mean 'mrr'?"),
        ],
    ),
}

# problems that only a database catalog can show (without one, an entity's tables have the columns it declares);
# the last item: the keys of the problems that remain without a catalog
DB_CASES = {
    "missing table": (
        "entities/zz.yml",
        E + "  - name: t_e\n    primary_key: customer_id\n    tables:\n      current: entity.entity_customer\n",
        [
            (
                6,
                "entities.t_e.tables.current",
                "table 'entity.entity_customer' does not exist in the database.",
                "Did you mean 'entity.entity_customers'",
            )
        ],
        [],
    ),
    "table without a schema": (
        "entities/zz.yml",
        E + "  - name: t_e\n    primary_key: customer_id\n    tables:\n      current: entity_customers\n",
        [(6, "entities.t_e.tables.current", "table 'entity_customers' does not exist in the database.")],
        [],
    ),
    "entity columns": (
        "entities/zz.yml",
        E + "  - name: t_e\n    primary_key: customer\n    tables:\n      current: entity.entity_customers\n"
        "      daily: {name: entity.entity_customers_daily, timestamp: snapshot_day}\n"
        "    dimensions:\n      - {name: customer_tier}\n      - {name: customer_teir}\n"
        "    relationships:\n      - {name: loc, entity: locations, type: many_to_one, foreign_key: location_id}\n"
        "      - {name: teams, entity: teams, type: one_to_many, foreign_key: team_lead}\n",
        [
            (
                4,
                "entities.t_e.primary_key",
                "primary key 'customer' is not a column of entity.entity_customers.",
                "Did you mean 'customer_id'",
            ),
            (
                7,
                "entities.t_e.tables.daily.timestamp",
                "timestamp 'snapshot_day' is not a column of "
                "entity.entity_customers_daily. Did you mean 'snapshot_date'?",
            ),
            (
                10,
                "entities.t_e.dimensions[1].name",
                "dimension 'customer_teir' is not a column of entity.entity_customers.",
                "Did you mean 'customer_tier'",
            ),
            (
                12,
                "entities.t_e.relationships[0].foreign_key",
                "foreign key 'location_id' of relationship 'loc' is not a "
                "column of entity.entity_customers (a many_to_one key lives on this entity's table).",
            ),
            (
                13,
                "entities.t_e.relationships[1].foreign_key",
                "foreign key 'team_lead' of relationship 'teams' is not a "
                "column of entity.entity_teams (a one_to_many key lives on the related entity's table).",
            ),
        ],
        ["entities.t_e.relationships[1].foreign_key"],  # the teams entity does not declare team_lead either
    ),
}


def check(found: list[dict], file: str, expected: list[tuple]) -> None:
    """The problems of ``file`` are exactly ``expected``: (line, key, words the message holds, in order)."""
    got = sorted((p["line"], p["key"], p["message"]) for p in found if p["file"] == file)
    assert len(got) == len(expected), "\n".join(map(str, got))
    for (line, key, message), (want_line, want_key, *words) in zip(
        got, sorted(expected, key=lambda e: e[:2]), strict=True
    ):
        assert (line, key) == (want_line, want_key), (line, key, message)
        at = 0
        for word in words:
            at = message.find(word, at)
            assert at >= 0, f"{word!r} not in {message!r}"


def variant(cases: dict, case: str) -> tuple[str, str, list[tuple]]:
    """The case with its own file and its own names (t_ -> t<n>_), so that many cases load together."""
    n = list(cases).index(case)
    file, text, expected = cases[case][:3]

    def rename(value):
        return re.sub(r"\bt_", f"t{n}_", value) if isinstance(value, str) else value

    return file.replace("zz.yml", f"zz_{n:02d}.yml"), rename(text), [tuple(map(rename, e)) for e in expected]


def load_all(shipped: dict, cases: dict, catalog=None) -> tuple[dict, list[dict]]:
    variants = {case: variant(cases, case) for case in cases}
    found = problems(shipped | {file: text for file, text, _ in variants.values()}, catalog)
    blamed = {p["file"] for p in found} - {file for file, _, _ in variants.values()}
    assert not blamed, f"problems outside the broken files: {blamed}"
    return variants, found


def check_all(shipped: dict, cases: dict, catalog=None) -> None:
    """Every case in one load; each case's file must have exactly its expected problems.

    One test loads and checks (not a shared fixture and a test per case): mutation testing picks the tests
    that run the code, and a fixture's work is counted for the first test that uses it only."""
    variants, found = load_all(shipped, cases, catalog)
    wrong = []
    for case, (file, _, expected) in variants.items():
        try:
            check(found, file, expected)
        except AssertionError as err:
            wrong.append(f"{case} ({file}): {err}")
    assert not wrong, "\n\n".join(wrong)


def test_malformed_definitions_give_their_problems(shipped) -> None:
    check_all(shipped, MALFORMED)


@pytest.mark.parametrize("with_db", [True, False], ids=["catalog", "declared"])
def test_broken_definitions_give_their_problems(shipped, catalog, with_db) -> None:
    check_all(shipped, SEMANTIC, catalog if with_db else None)


def test_definitions_that_do_not_fit_the_database(shipped, catalog) -> None:
    check_all(shipped, DB_CASES, catalog)
    # without a database, the declared columns are believed
    variants, found = load_all(shipped, DB_CASES)
    for n, (case, (file, _, _)) in enumerate(variants.items()):
        assert [p["key"] for p in found if p["file"] == file] == [
            re.sub(r"\bt_", f"t{n}_", key) for key in DB_CASES[case][3]
        ], case


def test_problems_are_sorted_and_printed_with_file_line_and_key(shipped) -> None:
    files = shipped | {
        "metrics/b.yml": SEMANTIC["no table"][1],
        "metrics/a.yml": SEMANTIC["deprecation"][1].replace("t_a", "t_z"),
    }
    with pytest.raises(DefinitionError) as info:
        load_texts(files)
    lines = info.value.detail.splitlines()
    assert lines == [
        "3 problem(s) in the definitions:",
        "metrics/a.yml:8: metrics.t_z.deprecation.sunset_date: sunset_date must not be before deprecated_at",
        lines[2],
        lines[3],
    ]
    assert lines[2].startswith("metrics/a.yml:9: metrics.t_z.deprecation.replaced_by: replaced_by names unknown metric")
    assert lines[3].startswith("metrics/b.yml:3: metrics.t_a.model: a metric needs")
    assert [set(p) for p in info.value.errors] == [{"file", "line", "key", "message"}] * 3


# --- one mistake gives one problem --------------------------------------------------------------------


def test_a_metric_that_failed_is_not_blamed_again_by_what_uses_it(shipped) -> None:
    text = (
        M + "  - name: t_base\n    model: ref('entity_customers_daily')\n    calculation_method: summ\n"
        "  - name: t_uses\n    calculation_method: derived\n    expression: t_base * 2\n"
        "    deprecation: {deprecated_at: 2026-01-01, replaced_by: t_base}\n"
    )
    found = problems(shipped | {"metrics/zz.yml": text})
    assert [(p["line"], p["key"]) for p in found] == [(5, "metrics.t_base.calculation_method")]


def test_a_derived_metric_over_a_broken_metric_is_left_out_quietly(shipped) -> None:
    text = (
        M + "  - name: t_base\n" + DAILY + "    calculation_method: sum\n    expression: nope\n"
        "  - name: t_uses\n    calculation_method: derived\n    expression: t_base * 2\n"
    )
    found = problems(shipped | {"metrics/zz.yml": text})
    assert [(p["line"], p["key"]) for p in found] == [(6, "metrics.t_base.expression")]


def test_an_unreadable_file_silences_references_to_what_it_may_define(shipped) -> None:
    broken = M + "  - name: t_base\n    model: [unclosed\n"
    uses = M + "  - name: t_uses\n    calculation_method: derived\n    expression: t_base * 2\n"
    found = problems(shipped | {"metrics/a.yml": broken, "metrics/b.yml": uses})
    assert [(p["file"], p["key"]) for p in found] == [("metrics/a.yml", "(file)")]
    # a reference to a name no text mentions is still reported
    uses = M + "  - name: t_uses\n    calculation_method: derived\n    expression: t_other * 2\n"
    found = problems(shipped | {"metrics/a.yml": broken, "metrics/b.yml": uses})
    assert [(p["file"], p["key"]) for p in found] == [
        ("metrics/a.yml", "(file)"),
        ("metrics/b.yml", "metrics.t_uses.expression"),
    ]


def test_an_entity_with_a_bad_value_is_kept_without_that_key(shipped, catalog) -> None:
    text = (
        E + "  - name: t_e\n    primary_key: customer_id\n    tables:\n      current: entity.entity_customers\n"
        "    dimensions:\n      - {name: customer_tier, type: text}\n"
        "  - name: t_f\n    primary_key: [a]\n    tables: {current: entity.entity_users}\n"
    )
    metric = (
        M + "  - name: t_a\n    entity: t_e\n    calculation_method: count\n    dimensions: [customer_tier]\n"
        "    filters: [{field: seats, operator: '>', value: 1}]\n"
        "  - name: t_b\n    entity: t_f\n    calculation_method: count\n"
    )
    for catalog_or_none in (catalog, None):
        found = problems(shipped | {"entities/zz.yml": text, "metrics/zz.yml": metric}, catalog_or_none)
        assert [(p["file"], p["line"], p["key"]) for p in found] == [
            ("entities/zz.yml", 8, "entities.t_e.dimensions[0].type"),
            ("entities/zz.yml", 10, "entities.t_f.primary_key"),
        ]
        assert "'text' is not a valid type" in found[0]["message"]


# --- what valid definitions resolve to ----------------------------------------------------------------


def test_grains_come_from_the_table(shipped, catalog) -> None:
    text = (
        E + "  - name: t_e\n    primary_key: customer_id\n    tables:\n"
        "      current: entity.entity_customers\n"
        "      weekly: {name: entity.entity_customers_daily, timestamp: snapshot_date}\n"
        "      history: {name: entity.entity_customers_history, timestamp: valid_from}\n"
        "      events: {name: staging.stg_app__user_activities, timestamp: activity_timestamp, grain: event}\n"
        "      quarterly: {name: legacy.customer_facts, timestamp: as_of_month, grain: quarter}\n"
        "      undeclared: {name: entity.entity_customers_history, grain: none, timestamp: valid_to}\n"
    )
    metrics = M + "".join(
        f"  - {{name: t_{key}, entity: t_e, calculation_method: count, timestamp: {ts}}}\n"
        for key, ts in [
            ("weekly", "snapshot_date"),
            ("history", "valid_from"),
            ("events", "activity_timestamp"),
            ("quarterly", "as_of_month"),
            ("undeclared", "valid_to"),
        ]
    )
    files = shipped | {"entities/zz.yml": text, "metrics/zz.yml": metrics}
    with_db = load_texts(files, catalog)
    without = load_texts(files)
    every = ("hour", "day", "week", "month", "quarter", "year")
    for project in (with_db, without):
        assert [project.metrics[f"t_{k}"].table.key for k in ("weekly", "history", "events", "quarterly")] == [
            "weekly",
            "history",
            "events",
            "quarterly",
        ]
        assert project.metrics["t_weekly"].grains == ("week",)
        assert project.metrics["t_events"].grains == every
        assert project.metrics["t_quarterly"].grains == ("quarter", "year")
        assert project.metrics["t_undeclared"].grains == every
    assert with_db.metrics["t_history"].grains == ("day", "week", "month", "quarter", "year")  # a DATE column
    assert without.metrics["t_history"].grains == every  # no type known: any grain
    assert with_db.tables[("t_e", "quarterly")].finest_grain == "quarter"
    assert with_db.tables[("t_e", "history")].finest_grain == "day"
    assert with_db.tables[("t_e", "events")].finest_grain is None


@pytest.mark.parametrize(
    ("key", "grain", "allowed"),
    [
        ("hourly", "hour", "hour, day, week, month, quarter, year"),
        ("daily", "day", "day, week, month, quarter, year"),
        ("monthly", "month", "month, quarter, year"),
        ("yearly", "year", "year"),
    ],
)
def test_a_tables_key_names_its_grain(shipped, key, grain, allowed) -> None:
    text = (
        E + "  - name: t_e\n    primary_key: customer_id\n    tables:\n      current: entity.entity_customers\n"
        f"      {key}: {{name: entity.entity_customers_daily, timestamp: snapshot_date}}\n"
    )
    metric = (
        M + "  - {name: t_a, entity: t_e, timestamp: snapshot_date, calculation_method: count, time_grains: [nope]}\n"
    )
    found = problems(shipped | {"entities/zz.yml": text, "metrics/zz.yml": metric})
    assert [p["key"] for p in found] == ["metrics.t_a.time_grains[0]"]
    ok = M + "  - {name: t_a, entity: t_e, timestamp: snapshot_date, calculation_method: count}\n"
    project = load_texts(shipped | {"entities/zz.yml": text, "metrics/zz.yml": ok})
    assert ", ".join(project.metrics["t_a"].grains) == allowed
    assert project.metrics["t_a"].table.key == key and project.metrics["t_a"].table.finest_grain == grain


def test_an_entity_metric_reads_the_table_that_has_its_timestamp(shipped, catalog) -> None:
    text = M + (
        "  - {name: t_a, entity: customers, calculation_method: count}\n"
        "  - {name: t_b, entity: customers, calculation_method: count, timestamp: snapshot_date}\n"
        "  - {name: t_c, entity: customers, calculation_method: count, timestamp: signup_date}\n"
        "  - {name: t_d, model: \"ref('entity_customers')\", calculation_method: count, timestamp: lifetime_revenue}\n"
        '  - {name: t_e, model: "entity.entity_customers_daily", calculation_method: count}\n'
    )
    for catalog_or_none in (catalog, None):
        project = load_texts(shipped | {"metrics/zz.yml": text}, catalog_or_none)
        assert project.metrics["t_a"].table.name == "entity.entity_customers"
        assert project.metrics["t_b"].table.name == "entity.entity_customers_daily"
        assert project.metrics["t_e"].table.name == "entity.entity_customers_daily"
    with_db = load_texts(shipped | {"metrics/zz.yml": text}, catalog)
    assert with_db.metrics["t_c"].table.name == "entity.entity_customers"
    assert with_db.metrics["t_d"].table.name == "entity.entity_customers_daily"  # a column only the catalog shows


def test_a_balance_takes_the_latest_snapshot_unless_the_metric_says_otherwise(shipped) -> None:
    text = M + (
        "  - {name: t_a, model: \"ref('entity_customers_daily')\", calculation_method: sum,"
        " expression: monthly_recurring_revenue * 2, timestamp: snapshot_date}\n"
        "  - {name: t_b, model: \"ref('entity_customers_daily')\", calculation_method: sum,"
        " expression: active_subscriptions, timestamp: snapshot_date}\n"
        "  - {name: t_c, model: \"ref('entity_customers_daily')\", calculation_method: max,"
        " expression: annual_recurring_revenue, timestamp: snapshot_date,"
        " non_additive_dimension: {name: snapshot_date, window_choice: min}}\n"
        "  - {name: t_d, model: \"ref('entity_customers')\", calculation_method: sum, expression: monthly_recurring_revenue}\n"
    )
    project = load_texts(shipped | {"metrics/zz.yml": text})
    nad = project.metrics["t_a"].spec.non_additive_dimension
    assert (nad.name, nad.window_choice, nad.window_groupings) == ("snapshot_date", "max", ())
    assert project.metrics["t_b"].spec.non_additive_dimension is None
    assert project.metrics["t_c"].spec.non_additive_dimension.window_choice == "min"
    assert project.metrics["t_d"].spec.non_additive_dimension is None  # the current table has no timestamp


def test_previous_versions_override_the_current_definition(shipped) -> None:
    text = (
        M + "  - name: t_a\n" + DAILY + "    calculation_method: sum\n    expression: active_subscriptions\n"
        "    timestamp: snapshot_date\n    dimensions: [customer_tier]\n    version: 3\n    previous_versions:\n"
        "      - {version: 2, expression: customer_id, sunset_date: 2027-01-31}\n"
        "      - {version: 1, dimensions: [sales_region], calculation_method: count}\n"
    )
    project = load_texts(shipped | {"metrics/zz.yml": text})
    v1, v2, v3 = project.versions("t_a")
    assert [v.version for v in (v1, v2, v3)] == [1, 2, 3]
    assert (v3.spec.expression, v3.dimensions, v3.sunset_date) == ("active_subscriptions", ("customer_tier",), None)
    assert (v2.spec.expression, v2.dimensions, v2.sunset_date) == ("customer_id", ("customer_tier",), date(2027, 1, 31))
    assert (v1.spec.calculation_method, v1.spec.expression, v1.dimensions) == (
        "count",
        "active_subscriptions",
        ("sales_region",),
    )
    assert v1.sunset_date is None and v1.spec.previous_versions == ()
    assert project.metric("t_a", 2) is v2 and project.metric("t_a", 3) is v3 and project.metric("t_a") is v3
    with pytest.raises(InvalidQuery, match=r"^Metric 't_a' has no served version 4\. Served versions: 1, 2, 3\.$"):
        project.metric("t_a", 4)


def test_derived_metrics_take_the_grains_and_dimensions_of_their_parents(shipped) -> None:
    text = M + (
        "  - {name: t_a, calculation_method: derived, expression: \"{{ metric('mrr') }} + {{ metric('new_mrr') }} * 0\"}\n"
        "  - {name: t_b, calculation_method: derived, expression: \"{{metric('mrr')}} - arr\","
        " time_grains: [year, month], dimensions: [sales_region]}\n"
        "  - {name: t_c, calculation_method: derived, expression: t_b + mrr + t_b}\n"
    )
    project = load_texts(shipped | {"metrics/zz.yml": text})
    a, b, c = (project.metrics[n] for n in ("t_a", "t_b", "t_c"))
    assert (a.table, a.grains, a.dimensions, a.depends_on) == (
        None,
        ("month", "quarter", "year"),
        (),
        ("mrr", "new_mrr"),
    )
    assert (b.grains, b.dimensions, b.depends_on) == (("year", "month"), ("sales_region",), ("mrr", "arr"))
    assert (c.grains, c.dimensions, c.depends_on) == (("month", "year"), ("sales_region",), ("t_b", "mrr"))


def test_the_hash_follows_the_definitions_not_the_files(shipped) -> None:
    base = load_texts(shipped).hash
    assert len(base) == 64 and base == load_texts(dict(reversed(list(shipped.items())))).hash
    moved = dict(shipped)
    revenue = moved.pop("metrics/revenue.yml")
    assert load_texts(moved | {"metrics/zz_revenue.yml": "# moved\n" + revenue}).hash == base
    changed = shipped | {"metrics/revenue.yml": revenue.replace("Monthly recurring revenue", "MRR", 1)}
    assert load_texts(changed).hash != base
    entity = shipped | {"entities/users.yml": shipped["entities/users.yml"].replace("People who", "Persons who")}
    assert load_texts(entity).hash != base


def test_sources_name_the_file_and_line_of_each_definition(shipped) -> None:
    project = load_texts(shipped)
    assert project.sources["metric:mrr"].file == "metrics/revenue.yml"
    assert project.sources["metric:mrr"].line == 3
    assert (project.sources["entity:users"].file, project.sources["entity:users"].line) == ("entities/users.yml", 3)
    assert project.files == shipped


def test_read_definition_files_reads_yaml_under_entities_and_metrics(tmp_path: Path) -> None:
    (tmp_path / "metrics" / "sub").mkdir(parents=True)
    (tmp_path / "metrics" / "a.yml").write_text("x: 1\n")
    (tmp_path / "metrics" / "sub" / "b.yaml").write_text("y: 2\n")
    (tmp_path / "metrics" / "c.txt").write_text("no")
    (tmp_path / "metrics" / "d.yml.bak").write_text("no")
    (tmp_path / "metrics" / "dir.yml").mkdir()
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "e.yml").write_text("no")
    assert read_definition_files(tmp_path) == {"metrics/a.yml": "x: 1\n", "metrics/sub/b.yaml": "y: 2\n"}
    assert read_definition_files(tmp_path / "nowhere") == {}


def test_a_migration_guide_file_must_exist_in_the_project(shipped, tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "here.md").write_text("# guide\n")
    (tmp_path.parent / "outside.md").write_text("# not ours\n")
    text = M + "".join(
        f"  - name: t_{i}\n    entity: users\n    calculation_method: count\n"
        f'    deprecation: {{deprecated_at: 2026-01-01, migration_guide: "{guide}"}}\n'
        for i, guide in enumerate(
            [
                "docs/here.md",
                "docs/missing.md",
                "../outside.md",
                "Use arr instead.",
                "  docs/here.md  ",
                "docs/\\nmissing.md",
            ]
        )
    )
    entity = E + (
        "  - name: t_e\n    primary_key: user_id\n    deprecation: {deprecated_at: 2026-01-01, migration_guide: a.md}\n"
        "    tables:\n      current: {name: entity.entity_users, deprecation: {deprecated_at: 2026-01-01,"
        " migration_guide: docs/b.md}}\n"
    )
    files = shipped | {"metrics/zz.yml": text, "entities/zz.yml": entity}
    load_texts(files)  # without a folder, guides are not checked
    # the shipped definitions name docs/migrations/customer_facts.md, which this folder lacks
    found = [p for p in problems(files, base=tmp_path) if "customer_facts" not in p["message"]]
    assert [(p["file"], p["line"], p["key"]) for p in found] == [
        ("entities/zz.yml", 3, "entities.t_e.deprecation.migration_guide"),
        ("entities/zz.yml", 3, "entities.t_e.tables.current.deprecation.migration_guide"),
        ("metrics/zz.yml", 10, "metrics.t_1.deprecation.migration_guide"),
        ("metrics/zz.yml", 14, "metrics.t_2.deprecation.migration_guide"),
    ]
    assert found[2]["message"] == (
        "migration guide file 'docs/missing.md' does not exist in the project folder (paths are relative to it)"
    )
    assert "'../outside.md'" in found[3]["message"]


# --- lookups, paths and line numbers -------------------------------------------------------------------


def test_project_lookups(shipped) -> None:
    project = load_texts(shipped)
    assert project.entity("teams").primary_key == "team_id"
    with pytest.raises(UnknownEntity, match=r"^Unknown entity 'team'\. Did you mean 'teams'"):
        project.entity("team")
    assert project.current_table("teams").name == "entity.entity_teams"
    assert [v.version for v in project.versions("customer_lifetime_value")] == [1, 2]
    assert [v.version for v in project.versions("mrr")] == [1]


def test_resolve_path(shipped, catalog) -> None:
    project = load_texts(shipped, catalog)
    activities = project.metrics["sessions"].table
    path = resolve_path(project, activities, "team.customer.sales_region")
    assert [h.relationship.name for h in path.hops] == ["team", "customer"]
    assert [h.target for h in path.hops] == ["teams", "customers"]
    assert (path.column, path.table.name, path.entity, path.cardinality) == (
        "sales_region",
        "entity.entity_customers",
        "customers",
        "one",
    )
    assert path.through_key  # team_id is read from the users table
    assert [t.name for t in path.joined_tables] == ["entity.entity_teams", "entity.entity_customers"]
    own = resolve_path(project, activities, "user_role")
    assert (own.hops, own.table.name, own.through_key, own.entity) == ((), "entity.entity_users", True, "users")
    assert [t.name for t in own.joined_tables] == ["entity.entity_users"]
    direct = resolve_path(project, activities, "feature")
    assert (direct.table is activities, direct.through_key, direct.joined_tables) == (True, False, ())
    customers = project.current_table("customers")
    fan = resolve_path(project, customers, "teams.team_type", fan_out=True)
    assert fan.cardinality == "many"
    with pytest.raises(PathError) as info:
        resolve_path(project, customers, "teams.team_type")
    assert "one_to_many" in str(info.value) and info.value.entities == ("customers",)
    with pytest.raises(PathError) as info:
        resolve_path(project, activities, "team.customer.nope")
    assert str(info.value).startswith("'nope' is not a column of entity.entity_customers.")
    assert info.value.entities == ("users", "teams", "customers") and info.value.unknown_entity is None
    with pytest.raises(PathError, match=r"^'nope' is not a column of staging\.stg_app__user_activities\."):
        resolve_path(project, activities, "nope")


def test_a_foreign_key_that_the_start_table_lacks(shipped, catalog) -> None:
    text = (
        E + "  - name: t_e\n    primary_key: location_id\n    tables:\n"
        "      current: entity.entity_locations\n      devices: {name: entity.entity_devices_hourly, timestamp: grain_timestamp}\n"
        "    relationships:\n      - {name: cust, entity: customers, type: many_to_one, foreign_key: customer_id}\n"
        "      - {name: ghost, entity: ghosts, type: many_to_one, foreign_key: customer_id}\n"
    )
    files = shipped | {"entities/zz.yml": text}
    found = problems(files, catalog)
    assert [p["key"] for p in found] == ["entities.t_e.relationships[1].entity"]
    metric = (
        M
        + "  - {name: t_a, model: \"ref('entity_devices_hourly')\", calculation_method: count, dimensions: [cust.country]}\n"
    )
    found = problems(files | {"metrics/zz.yml": metric}, catalog)
    assert [p["key"] for p in found] == ["entities.t_e.relationships[1].entity", "metrics.t_a.dimensions[0]"]
    # the hourly table has location_id (the primary key): the foreign key is read from the current table
    project_text = text.replace(
        "      - {name: ghost, entity: ghosts, type: many_to_one, foreign_key: customer_id}\n", ""
    )
    project = load_texts(shipped | {"entities/zz.yml": project_text}, catalog)
    path = resolve_path(project, project.tables[("t_e", "devices")], "cust.country")
    assert path.through_key and path.table.name == "entity.entity_customers"


def test_parse_yaml_remembers_the_line_of_every_key() -> None:
    data, lines = parse_yaml("a:\n  b: 1\n  c:\n    - x\n    - {d: 2}\n")
    assert data == {"a": {"b": 1, "c": ["x", {"d": 2}]}}
    assert lines[()] == 1 and lines[("a",)] == 1 and lines[("a", "b")] == 2 and lines[("a", "c")] == 3
    assert lines[("a", "c", 0)] == 4 and lines[("a", "c", 1, "d")] == 5
    assert line_of(lines, ("a", "c", 1, "d", "e", 7)) == 5
    assert line_of(lines, ("z",)) == 1 and line_of({}, ("z",)) == 1
    assert parse_yaml("") == (None, {})
    with pytest.raises(YamlProblem) as info:
        parse_yaml("a: 1\nb: 2\na: 3\n")
    assert (info.value.line, info.value.message) == (3, "duplicate key 'a' in mapping")


def test_load_project_reads_the_folder(root: Path, catalog) -> None:
    project = load_project(root, catalog)
    assert project.hash == load_texts(read_definition_files(root)).hash
    assert project.files == read_definition_files(root)


# --- bugs found while writing these tests (fixed since) ---------------------------------------------------


def test_a_derived_metric_over_no_metric(shipped) -> None:
    text = M + "  - {name: t_a, calculation_method: derived, expression: 1 + 2}\n"
    check(
        problems(shipped | {"metrics/zz.yml": text}),
        "metrics/zz.yml",
        [(3, "metrics.t_a.expression", "a derived expression must reference at least one metric")],
    )


def test_a_filter_value_with_an_unclosed_quote(shipped) -> None:
    text = (
        M
        + "  - {name: t_a, entity: users, calculation_method: count, filters: [{field: user_role, operator: '=', value: \"'a\"}]}\n"
    )
    check(
        problems(shipped | {"metrics/zz.yml": text}),
        "metrics/zz.yml",
        [(3, "metrics.t_a.filters[0].value", "invalid SQL")],
    )
