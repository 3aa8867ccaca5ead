"""The seed's governance example (../shared/seed), shared by the tests that load it."""

from __future__ import annotations

# ../shared/seed: the team's governance example, exactly as written (a bare `value: 'active'`; its
# whitespace-only lines kept, written as \x20 escapes)
SEED_BLOCK = """\
version: 2

metrics:
  - name: monthly_recurring_revenue
    label: MRR
    model: ref('entity_customers')
    description: "Total recurring revenue from all active subscriptions"
\x20\x20\x20\x20
    calculation_method: sum
    expression: monthly_recurring_revenue
\x20\x20\x20\x20
    timestamp: snapshot_date
    time_grains: [day, week, month, quarter, year]
\x20\x20\x20\x20
    dimensions:
      - customer_tier
      - customer_segment
      - sales_region
\x20\x20\x20\x20
    filters:
      - field: customer_status
        operator: '='
        value: 'active'
\x20\x20\x20\x20\x20\x20\x20\x20
    meta:
      owner: revenue_team
      verified: true
      sla_hours: 4
"""

# the same block without its whitespace-only lines: how metrics/revenue.yml carries it
GOVERNANCE_EXAMPLE = "".join(line for line in SEED_BLOCK.splitlines(keepends=True) if line.strip() or line == "\n")
