-- Lifetime revenue on the daily customer snapshot, so customer_lifetime_value can leave
-- legacy.customer_facts: revenue of all earlier months (at their month-end MRR) plus this
-- snapshot's MRR. At a month's end it equals customer_facts.lifetime_revenue.
ALTER TABLE entity.entity_customers_daily ADD COLUMN lifetime_revenue DECIMAL(16, 2) NOT NULL DEFAULT 0;
