"""A corpus of hostile definitions (issue 12): SQL that would read data, files or the environment
through a definition, and YAML that would exhaust the service. Each entry is (id, file text); every
one must be refused at load time."""

from __future__ import annotations

METRIC = """\
version: 2
metrics:
  - name: evil
    model: ref('entity_customers_daily')
    calculation_method: sum
    expression: {expression}
    timestamp: snapshot_date
    time_grains: [day, month]
"""
FILTERED = """\
version: 2
metrics:
  - name: evil
    model: ref('entity_customers_daily')
    calculation_method: sum
    expression: monthly_recurring_revenue
    timestamp: snapshot_date
    filters:
      - {{field: customer_tier, operator: '=', value: {value}}}
"""
DERIVED = """\
version: 2
metrics:
  - name: evil
    calculation_method: derived
    expression: {expression}
"""

EXPRESSIONS = {
    "query-subselect": "\"(SELECT * FROM query('SELECT string_agg(x, '' | '') FROM (SELECT CAST(c AS VARCHAR) x "
    "FROM entity.entity_customers c LIMIT 2)'))::INT\"",
    "read-text-environ": "\"length(read_text('/proc/self/environ'))\"",
    "read-text-passwd": "\"length(read_text('/etc/passwd'))\"",
    "getenv": "\"length(getenv('CANARY_SECRET'))\"",
    "usage-table": '"(SELECT count(*) FROM meta.usage_events)"',
    "glob": "\"(SELECT count(*) FROM glob('/*'))\"",
    "query-table": "\"(SELECT count(*) FROM query_table('entity.entity_customers'))\"",
    "current-setting": "\"length(current_setting('temp_directory'))\"",
    "scalar-subquery": '"monthly_recurring_revenue + (SELECT max(customer_id) FROM entity.entity_customers)"',
    "exists": '"CASE WHEN EXISTS (SELECT 1 FROM entity.entity_customers) THEN 1 ELSE 0 END"',
    "in-subquery": '"CASE WHEN customer_id IN (SELECT customer_id FROM entity.entity_customers) THEN 1 END"',
    "read-csv": "\"(SELECT count(*) FROM read_csv('/etc/passwd'))\"",
    "read-parquet": "\"(SELECT count(*) FROM read_parquet('/tmp/x.parquet'))\"",
    "duckdb-databases": "\"length((SELECT string_agg(path, ',') FROM duckdb_databases()))\"",
    "cte": '"(WITH x AS (SELECT 1 AS y) SELECT y FROM x)"',
    "table-column": '"entity.entity_customers.customer_id"',
    "pragma": '"length(pragma_version())"',
    "now": '"epoch(now())"',
    "random": '"monthly_recurring_revenue * random()"',
    "union": '"(SELECT 1 UNION SELECT 2)"',
    "lpad-memory": "\"length(lpad(customer_status, 2000000000, 'ab'))\"",
    "repeat-column-length": '"length(repeat(customer_status, customer_id))"',
    "repeat-nested": "\"length(repeat(repeat('ab', 10000), 10000))\"",
    "unterminated-quote": '"\'abc"',
    "deep-parentheses": '"' + "(" * 600 + "customer_id" + ")" * 600 + '"',
}
FILTER_VALUES = {
    "filter-subquery": "\"(SELECT 'growth')\"",
    "filter-cast-type-subquery": "\"CAST('1' AS DECIMAL((SELECT count(*) FROM meta.usage_events), 2))\"",
    "filter-infinity": ".inf",
    "filter-getenv": "\"getenv('HOME')\"",
    "filter-read-text": "\"read_text('/etc/passwd')\"",
}
DERIVED_EXPRESSIONS = {
    "derived-subquery": "\"{{ metric('mrr') }} + (SELECT count(*) FROM entity.entity_customers)\"",
    "derived-read-text": "\"{{ metric('mrr') }} * length(read_text('/etc/hostname'))\"",
}


def _laughs(levels: int) -> str:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    return "version: 2\n" + "\n".join(lines) + f"\nmetrics: *a{levels - 1}\n"


YAML = {
    "billion-laughs": _laughs(9),
    "merge-key": "version: 2\nbase: &b {name: evil, calculation_method: count, model: \"ref('entity_customers')\"}\n"
    "metrics:\n  - <<: *b\n",
    "self-alias": "version: 2\nmetrics: &m [*m]\n",
    "deep-flow-nesting": "version: 2\nmetrics: " + "[" * 5000 + "]" * 5000 + "\n",
    "deep-block-nesting": "version: 2\nmetrics:\n" + "".join("  " * i + f"- k{i}:\n" for i in range(1, 200)),
    "python-object": "version: 2\nmetrics: !!python/object/apply:os.system ['echo pwned']\n",
    "python-name": "version: 2\nmetrics:\n  - name: !!python/name:os.system\n",
    "binary-tag": "version: 2\nmetrics: !!binary aGVsbG8=\n",
    "non-scalar-key": "version: 2\nmetrics:\n  - ? [a, b]\n    : 1\n",
    "set-tag": "version: 2\nmetrics: !!set {a: null}\n",
}


def corpus() -> list[tuple[str, str]]:
    out = [(k, METRIC.format(expression=v)) for k, v in EXPRESSIONS.items()]
    out += [(k, FILTERED.format(value=v)) for k, v in FILTER_VALUES.items()]
    out += [(k, DERIVED.format(expression=v)) for k, v in DERIVED_EXPRESSIONS.items()]
    out += list(YAML.items())
    return out
