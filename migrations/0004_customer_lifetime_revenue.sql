-- Lifetime revenue on the daily customer snapshot, so customer_lifetime_value can leave
-- legacy.customer_facts: revenue of all earlier months (at their month-end MRR) plus this
-- snapshot's MRR. At a month's end it equals customer_facts.lifetime_revenue.
ALTER TABLE entity.entity_customers_daily ADD COLUMN lifetime_revenue DECIMAL(16, 2) NOT NULL DEFAULT 0;

-- Fill it for data seeded before this migration (a fresh seed computes the same values).
UPDATE entity.entity_customers_daily AS d
SET lifetime_revenue = r.earlier_revenue + d.monthly_recurring_revenue
FROM (
    SELECT customer_id, month_start,
           coalesce(sum(month_end_mrr) OVER (PARTITION BY customer_id ORDER BY month_start
                                             ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS earlier_revenue
    FROM (
        SELECT customer_id, CAST(date_trunc('month', snapshot_date) AS DATE) AS month_start,
               arg_max(monthly_recurring_revenue, snapshot_date) AS month_end_mrr
        FROM entity.entity_customers_daily GROUP BY ALL
    )
) AS r
WHERE r.customer_id = d.customer_id AND r.month_start = CAST(date_trunc('month', d.snapshot_date) AS DATE);
