"""A definition filter with `operator: in` and a YAML list: it validates, answers, derives and diffs."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb

from app.api.main import create_app
from app.settings import Settings
from tests.api.conftest import app_client

PAID = """\
version: 2
metrics:
  - name: paid_mrr
    model: ref('entity_customers_daily')
    calculation_method: sum
    expression: monthly_recurring_revenue
    timestamp: snapshot_date
    dimensions: [customer_segment]
    filters:
      - {field: customer_tier, operator: in, value: ["'growth'", "'enterprise'"]}
      - {field: customer_status, operator: not in, value: ["'churned'", "'inactive'"]}
    non_additive_dimension: {name: snapshot_date, window_choice: max}
  - name: paid_arr
    calculation_method: derived
    expression: "{{ metric('paid_mrr') }} * 12"
"""


def test_in_list_filters_answer_like_hand_sql(project_copy: Path, demo_copy: Path) -> None:
    (project_copy / "metrics" / "paid.yml").write_text(PAID)
    settings = Settings(database=demo_copy, project_dir=project_copy, now=datetime(2026, 11, 26, 12))
    with duckdb.connect(str(demo_copy), read_only=True) as con:
        expected = con.execute(
            """
            SELECT date_trunc('quarter', snapshot_date)::DATE AS period, customer_segment,
                   sum(monthly_recurring_revenue) AS mrr
            FROM entity.entity_customers_daily d
            WHERE snapshot_date = (SELECT max(snapshot_date) FROM entity.entity_customers_daily x
                                   WHERE date_trunc('quarter', x.snapshot_date) = date_trunc('quarter', d.snapshot_date))
              AND customer_tier IN ('growth', 'enterprise') AND customer_status NOT IN ('churned', 'inactive')
              AND snapshot_date >= DATE '2025-01-01' AND snapshot_date <= DATE '2025-12-31'
            GROUP BY ALL ORDER BY 1, 2
            """
        ).fetchall()
    assert expected
    with app_client(create_app(settings)) as client:
        params = {"grain": "quarter", "dimensions": "customer_segment", "start": "2025-01-01", "end": "2025-12-31"}
        for metric, factor in (("paid_mrr", 1), ("paid_arr", 12)):
            r = client.get(f"/metrics/{metric}", params=params)
            assert r.status_code == 200, r.text
            got = [(row["period"], row["customer_segment"], row[metric]) for row in r.json()["rows"]]
            assert got == [(p.isoformat(), s, float(v) * factor) for p, s, v in expected]
        changed = PAID.replace("'enterprise'\"]", "'enterprise'\", \"'starter'\"]")
        r = client.post("/impact", json={"files": {"metrics/paid.yml": changed}})
        assert r.status_code == 200, r.text
        kinds = {c["name"]: c["classification"] for c in r.json()["changes"]}
        assert kinds["paid_mrr"] == "breaking"
