-- The TapFlow demo company, generated deterministically: every "random" draw is
-- rnd(key, salt), a function of a row's key through DuckDB's hash(), so the same
-- scale gives the same rows on every run and machine. Statements are separated by
-- lines holding only ";". The temp table seed_params holds the customer count.

CREATE OR REPLACE TEMP MACRO rnd(k, salt) AS (hash(k, salt) % 1000003)::DOUBLE / 1000003
;
CREATE OR REPLACE TEMP MACRO pick(k, salt, options) AS options[1 + (hash(k, salt) % len(options))::INTEGER]
;
CREATE OR REPLACE TEMP TABLE cal AS SELECT DATE '2024-01-01' AS first_day, DATE '2026-10-31' AS last_day
;
-- customers: signup, churn, the first version of their attributes -------------------------
CREATE OR REPLACE TEMP TABLE c0 AS
WITH base AS (
    SELECT id AS customer_id,
           DATE '2024-01-01' + CAST(floor(rnd(id, 'signup') * 990) AS INTEGER) AS signup_date,
           rnd(id, 'segment') AS rs, rnd(id, 'region') AS rr
    FROM (SELECT CAST(range AS INTEGER) AS id FROM range(1, (SELECT customers FROM seed_params) + 1))
)
SELECT customer_id, signup_date,
       CASE WHEN rnd(customer_id, 'churn') < 0.28
             AND signup_date + 75 + CAST(floor(rnd(customer_id, 'churn_at') * 700) AS INTEGER) <= DATE '2026-10-31'
            THEN signup_date + 75 + CAST(floor(rnd(customer_id, 'churn_at') * 700) AS INTEGER) END AS churn_date,
       CASE WHEN rs < 0.60 THEN 'SMB' WHEN rs < 0.90 THEN 'Mid-Market' ELSE 'Enterprise' END AS segment0,
       CASE WHEN rr < 0.45 THEN 'NA' WHEN rr < 0.75 THEN 'EMEA' WHEN rr < 0.93 THEN 'APAC' ELSE 'LATAM' END AS region0,
       pick(customer_id, 'n1', ['Acme', 'Globex', 'Initech', 'Umbrella', 'Stark', 'Wayne', 'Hooli', 'Vandelay',
                                'Soylent', 'Tyrell', 'Cyberdyne', 'Wonka', 'Pied Piper', 'Dunder', 'Monarch', 'Oscorp'])
         || ' ' || pick(customer_id, 'n2', ['Labs', 'Systems', 'Analytics', 'Logistics', 'Health', 'Retail',
                                           'Foods', 'Media', 'Energy', 'Robotics'])
         || ' ' || customer_id::VARCHAR AS customer_name
FROM base
;
-- SCD2 history: 1-4 versions; tiers mostly move up, segments and regions change now and then
CREATE OR REPLACE TEMP TABLE hist AS
WITH v AS (
    SELECT c.*, v.v,
           greatest(1, least(1 + CAST(floor(rnd(customer_id, 'versions') * 4) AS INTEGER),
                    (coalesce(churn_date, DATE '2026-10-31') - signup_date) // 45)) AS k
    FROM c0 c, (SELECT CAST(range AS INTEGER) AS v FROM range(0, 4)) v
), versions AS (
    SELECT *,
           signup_date + CAST(v * (coalesce(churn_date, DATE '2026-10-31') - signup_date) / k AS INTEGER) AS valid_from,
           CASE segment0 WHEN 'SMB' THEN CAST(floor(rnd(customer_id, 'tier') * 2) AS INTEGER)
                         WHEN 'Mid-Market' THEN 1 + CAST(floor(rnd(customer_id, 'tier') * 2) AS INTEGER)
                         ELSE 2 + CAST(floor(rnd(customer_id, 'tier') * 2) AS INTEGER) END
             + CAST(floor(v * rnd(customer_id, 'growth') * 1.4) AS INTEGER)
             - CASE WHEN v > 0 AND rnd(hash(customer_id, v), 'down') < 0.15 THEN 1 ELSE 0 END AS tier_raw
    FROM v WHERE v < k
)
SELECT customer_id, valid_from,
       lead(valid_from) OVER (PARTITION BY customer_id ORDER BY v) AS valid_to,
       ['free', 'starter', 'growth', 'enterprise'][1 + greatest(0, least(3, tier_raw))] AS customer_tier,
       CASE WHEN v >= 2 AND rnd(customer_id, 'segup') < 0.35
            THEN CASE segment0 WHEN 'SMB' THEN 'Mid-Market' ELSE 'Enterprise' END
            ELSE segment0 END AS customer_segment,
       CASE WHEN v > 0 AND v = k - 1 AND rnd(customer_id, 'move') < 0.10
            THEN CASE region0 WHEN 'NA' THEN 'EMEA' WHEN 'EMEA' THEN 'APAC' WHEN 'APAC' THEN 'NA' ELSE 'NA' END
            ELSE region0 END AS sales_region,
       v = k - 1 AS is_current
FROM versions
;
-- subscriptions: 1-3 product lines per customer, priced per seat -----------------------
CREATE OR REPLACE TEMP TABLE subs AS
WITH s AS (
    SELECT c.*, j.j, c.customer_id * 10 + j.j AS subscription_id
    FROM c0 c, (SELECT CAST(range AS INTEGER) AS j FROM range(0, 3)) j
    WHERE j.j < 1 + CAST(floor(rnd(c.customer_id, 'nsubs') * CASE c.segment0 WHEN 'SMB' THEN 2 ELSE 3 END) AS INTEGER)
), dated AS (
    SELECT *,
           signup_date + 14 + CASE WHEN j = 0 THEN 0 ELSE CAST(floor(rnd(subscription_id, 'start') * 400) AS INTEGER) END AS started_at,
           ['core', 'analytics', 'automation', 'security'][CASE WHEN j = 0 THEN 1 ELSE 2 + ((j - 1 + hash(customer_id, 'pl') % 3) % 3)::INTEGER END] AS product_line
    FROM s
)
SELECT subscription_id, customer_id, product_line, started_at,
       CASE WHEN churn_date IS NOT NULL THEN churn_date
            WHEN rnd(subscription_id, 'cancel') < 0.15
             AND started_at + 45 + CAST(floor(rnd(subscription_id, 'cancel_at') * 500) AS INTEGER) <= DATE '2026-10-31'
            THEN started_at + 45 + CAST(floor(rnd(subscription_id, 'cancel_at') * 500) AS INTEGER) END AS cancelled_at,
       CAST(CASE product_line WHEN 'core' THEN 30 WHEN 'analytics' THEN 45 WHEN 'automation' THEN 35 ELSE 55 END
            * CASE segment0 WHEN 'Enterprise' THEN 0.8 WHEN 'Mid-Market' THEN 0.9 ELSE 1.0 END AS DECIMAL(10, 2)) AS unit_price,
       CASE segment0 WHEN 'SMB' THEN 1 + CAST(floor(rnd(subscription_id, 'qty') * 10) AS INTEGER)
                     WHEN 'Mid-Market' THEN 5 + CAST(floor(rnd(subscription_id, 'qty') * 40) AS INTEGER)
                     ELSE 20 + CAST(floor(rnd(subscription_id, 'qty') * 200) AS INTEGER) END AS base_qty,
       rnd(subscription_id, 'g') * 0.08 - 0.025 AS growth
FROM dated
WHERE started_at <= DATE '2026-10-31' AND (churn_date IS NULL OR started_at + 31 < churn_date)
;
-- seats change every quarter of a subscription's life
CREATE OR REPLACE TEMP MACRO qty_at(base_qty, growth, m) AS
    greatest(1, CAST(round(base_qty * (1 + growth * (m // 3) * 3)) AS INTEGER))
;
CREATE OR REPLACE TEMP TABLE sub_months AS
WITH m AS (
    SELECT s.*, CAST(month_start AS DATE) AS month_start
    FROM subs s, generate_series(date_trunc('month', s.started_at),
                                 date_trunc('month', coalesce(s.cancelled_at, DATE '2026-10-31')), INTERVAL 1 MONTH) g(month_start)
), valued AS (
    SELECT *,
           qty_at(base_qty, growth, datediff('month', date_trunc('month', started_at), month_start)) AS quantity,
           CAST(month_start + INTERVAL 1 MONTH - INTERVAL 1 DAY AS DATE) AS month_end
    FROM m
), mrr AS (
    SELECT *, CASE WHEN cancelled_at IS NULL OR cancelled_at > month_end
                   THEN CAST(quantity * unit_price AS DECIMAL(14, 2)) ELSE 0 END AS mrr
    FROM valued
)
SELECT *, coalesce(lag(mrr) OVER (PARTITION BY subscription_id ORDER BY month_start), 0) AS prev_mrr
FROM mrr
;
INSERT INTO entity.entity_subscriptions_monthly
SELECT month_start, subscription_id, customer_id, product_line,
       CASE WHEN mrr > 0 THEN 'active' ELSE 'cancelled' END,
       quantity, unit_price, mrr,
       CASE WHEN prev_mrr = 0 AND mrr > 0 THEN mrr ELSE 0 END,
       CASE WHEN prev_mrr > 0 AND mrr > prev_mrr THEN mrr - prev_mrr ELSE 0 END,
       CASE WHEN prev_mrr > 0 AND mrr > 0 AND mrr < prev_mrr THEN prev_mrr - mrr ELSE 0 END,
       CASE WHEN prev_mrr > 0 AND mrr = 0 THEN prev_mrr ELSE 0 END
FROM sub_months
;
INSERT INTO entity.entity_subscriptions
SELECT s.subscription_id, s.customer_id, s.product_line,
       CASE WHEN s.cancelled_at IS NULL THEN 'active' ELSE 'cancelled' END,
       s.started_at, s.cancelled_at, m.quantity, s.unit_price, m.mrr
FROM subs s JOIN sub_months m
  ON m.subscription_id = s.subscription_id
 AND m.month_start = date_trunc('month', coalesce(s.cancelled_at, DATE '2026-10-31'))
;
-- daily customer snapshots: MRR of the subscriptions active that day ---------------------
CREATE OR REPLACE TEMP TABLE cust_day_mrr AS
SELECT customer_id, day, sum(mrr) AS mrr, count(*) AS active_subscriptions
FROM (
    SELECT s.customer_id, CAST(g.day AS DATE) AS day,
           CAST(qty_at(s.base_qty, s.growth, datediff('month', date_trunc('month', s.started_at), g.day)) * s.unit_price
                AS DECIMAL(14, 2)) AS mrr
    FROM subs s, generate_series(CAST(s.started_at AS TIMESTAMP),
                                 CAST(coalesce(s.cancelled_at - 1, DATE '2026-10-31') AS TIMESTAMP), INTERVAL 1 DAY) g(day)
)
GROUP BY ALL
;
CREATE OR REPLACE TEMP TABLE cust_days AS
SELECT d.day, c.customer_id,
       CASE WHEN c.churn_date IS NOT NULL AND d.day >= c.churn_date THEN 'churned'
            WHEN coalesce(m.mrr, 0) > 0 THEN 'active'
            WHEN d.day < c.signup_date + 14 THEN 'trialing'
            ELSE 'inactive' END AS customer_status,
       h.customer_tier, h.customer_segment, h.sales_region,
       coalesce(m.active_subscriptions, 0) AS active_subscriptions,
       coalesce(m.mrr, 0) AS mrr
FROM c0 c
CROSS JOIN LATERAL (
    SELECT CAST(day AS DATE) AS day
    FROM generate_series(CAST(c.signup_date AS TIMESTAMP),
                         CAST(least(DATE '2026-10-31', coalesce(c.churn_date + 30, DATE '2026-10-31')) AS TIMESTAMP),
                         INTERVAL 1 DAY) g(day)
) d
JOIN hist h ON h.customer_id = c.customer_id AND h.valid_from <= d.day AND (h.valid_to IS NULL OR d.day < h.valid_to)
LEFT JOIN cust_day_mrr m ON m.customer_id = c.customer_id AND m.day = d.day
;
-- revenue of all earlier months, each at its month-end MRR
CREATE OR REPLACE TEMP TABLE cust_month_revenue AS
SELECT customer_id, month_start,
       coalesce(sum(month_end_mrr) OVER (PARTITION BY customer_id ORDER BY month_start
                                         ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS earlier_revenue
FROM (
    SELECT customer_id, CAST(date_trunc('month', day) AS DATE) AS month_start, arg_max(mrr, day) AS month_end_mrr
    FROM cust_days GROUP BY ALL
)
;
INSERT INTO entity.entity_customers_daily
    (snapshot_date, customer_id, customer_status, customer_tier, customer_segment, sales_region,
     active_subscriptions, monthly_recurring_revenue, annual_recurring_revenue, lifetime_revenue)
SELECT d.day, d.customer_id, d.customer_status, d.customer_tier, d.customer_segment, d.sales_region,
       d.active_subscriptions, d.mrr, d.mrr * 12, r.earlier_revenue + d.mrr
FROM cust_days d
JOIN cust_month_revenue r ON r.customer_id = d.customer_id AND r.month_start = CAST(date_trunc('month', d.day) AS DATE)
;
INSERT INTO entity.entity_customers_history
SELECT customer_id, valid_from, valid_to, customer_tier, customer_segment, sales_region, is_current FROM hist
;
INSERT INTO entity.entity_customers
SELECT c.customer_id, c.customer_name, c.signup_date, c.churn_date,
       CASE WHEN c.churn_date IS NOT NULL THEN 'churned'
            WHEN coalesce(m.mrr, 0) > 0 THEN 'active'
            WHEN DATE '2026-10-31' < c.signup_date + 14 THEN 'trialing' ELSE 'inactive' END,
       h.customer_tier, h.customer_segment, h.sales_region,
       CASE h.sales_region WHEN 'NA' THEN pick(c.customer_id, 'country', ['US', 'US', 'CA'])
                           WHEN 'EMEA' THEN pick(c.customer_id, 'country', ['GB', 'DE', 'FR', 'NL'])
                           WHEN 'APAC' THEN pick(c.customer_id, 'country', ['AU', 'JP', 'SG', 'IN'])
                           ELSE pick(c.customer_id, 'country', ['BR', 'MX', 'AR']) END,
       coalesce((SELECT sum(quantity) FROM sub_months sm
                 WHERE sm.customer_id = c.customer_id AND sm.month_start = DATE '2026-10-01' AND sm.mrr > 0), 0),
       coalesce(m.mrr, 0), coalesce(m.mrr, 0) * 12
FROM c0 c
JOIN hist h ON h.customer_id = c.customer_id AND h.is_current
LEFT JOIN cust_day_mrr m ON m.customer_id = c.customer_id AND m.day = DATE '2026-10-31'
;
-- teams and users -----------------------------------------------------------------------
CREATE OR REPLACE TEMP TABLE teams0 AS
WITH t AS (
    SELECT c.*, j.j, c.customer_id * 10 + j.j AS team_id
    FROM c0 c, (SELECT CAST(range AS INTEGER) AS j FROM range(0, 6)) j
    WHERE j.j < 1 + CAST(floor(rnd(c.customer_id, 'nteams')
                               * CASE c.segment0 WHEN 'SMB' THEN 1.6 WHEN 'Mid-Market' THEN 3 ELSE 6 END) AS INTEGER)
)
SELECT team_id, customer_id, churn_date, segment0,
       signup_date + j * 45 + CAST(floor(rnd(team_id, 'created') * 30) AS INTEGER) AS created_at,
       pick(team_id, 'type', ['engineering', 'sales', 'marketing', 'operations', 'support', 'finance']) AS team_type,
       CASE segment0 WHEN 'SMB' THEN 2 + CAST(floor(rnd(team_id, 'size') * 5) AS INTEGER)
                     WHEN 'Mid-Market' THEN 3 + CAST(floor(rnd(team_id, 'size') * 10) AS INTEGER)
                     ELSE 5 + CAST(floor(rnd(team_id, 'size') * 21) AS INTEGER) END AS target_size
FROM t
WHERE signup_date + j * 45 + 30 <= coalesce(churn_date, DATE '2026-10-31')
;
CREATE OR REPLACE TEMP TABLE users0 AS
WITH u AS (
    SELECT t.*, k.k, t.team_id::BIGINT * 100 + k.k AS user_id
    FROM teams0 t, (SELECT CAST(range AS INTEGER) AS k FROM range(0, 26)) k WHERE k.k < t.target_size
), dated AS (
    SELECT *, created_at + CASE WHEN k = 0 THEN 0 ELSE CAST(floor(rnd(user_id, 'joined') * 240) AS INTEGER) END AS user_created
    FROM u
)
SELECT user_id, team_id, customer_id, user_created AS created_at,
       CASE WHEN churn_date IS NOT NULL THEN churn_date
            WHEN rnd(user_id, 'leave') < 0.12
             AND user_created + 60 + CAST(floor(rnd(user_id, 'leave_at') * 500) AS INTEGER) <= DATE '2026-10-31'
            THEN user_created + 60 + CAST(floor(rnd(user_id, 'leave_at') * 500) AS INTEGER) END AS deactivated_at,
       CASE WHEN k = 0 THEN 'admin' WHEN rnd(user_id, 'role') < 0.2 THEN 'viewer' ELSE 'member' END AS user_role,
       0.02 + rnd(user_id, 'engagement') * 0.16 AS engagement
FROM dated
WHERE user_created <= DATE '2026-10-31' AND (churn_date IS NULL OR user_created < churn_date)
;
INSERT INTO entity.entity_users
SELECT user_id, team_id, customer_id, user_role, created_at, deactivated_at, deactivated_at IS NULL FROM users0
;
-- app activity: on each day a user is around, a chance of one or two sessions --------------
INSERT INTO staging.stg_app__user_activities
WITH days AS (
    SELECT u.user_id, CAST(g.day AS DATE) AS day, datediff('day', DATE '2024-01-01', g.day) AS day_index
    FROM users0 u, generate_series(CAST(u.created_at AS TIMESTAMP),
                                   CAST(coalesce(u.deactivated_at - 1, DATE '2026-10-31') AS TIMESTAMP), INTERVAL 1 DAY) g(day)
    WHERE rnd(hash(u.user_id, g.day), 'active') < u.engagement * CASE WHEN dayofweek(g.day) IN (0, 6) THEN 0.3 ELSE 1 END
), sessions AS (
    SELECT d.*, s.s, d.user_id * 10000 + d.day_index * 2 + s.s AS session_id
    FROM days d, (SELECT CAST(range AS INTEGER) AS s FROM range(0, 2)) s
    WHERE s.s = 0 OR rnd(hash(d.user_id, d.day_index), 'second') < 0.3
)
SELECT s.user_id, s.session_id,
       CAST(s.day AS TIMESTAMP)
         + to_seconds(CAST((8 + floor(rnd(s.session_id, 'hour') * 11)) * 3600 + floor(rnd(s.session_id, 'sec') * 3600) + f.f * 180 AS BIGINT)),
       1 + CAST(floor(rnd(hash(s.session_id, f.f), 'actions') * 30) AS INTEGER),
       pick(hash(s.session_id, f.f), 'feature', ['dashboards', 'reports', 'alerts', 'integrations', 'api', 'collaboration'])
FROM sessions s, (SELECT CAST(range AS INTEGER) AS f FROM range(0, 2)) f
WHERE f.f = 0 OR rnd(s.session_id, 'features') < 0.4
;
-- team grains -----------------------------------------------------------------------------
CREATE OR REPLACE TEMP TABLE team_hist AS
WITH v AS (
    SELECT t.*, v.v,
           CASE WHEN v.v = 1 THEN t.created_at + 30 + CAST(floor(rnd(t.team_id, 'change') *
                    greatest(1, coalesce(t.churn_date, DATE '2026-10-31') - t.created_at - 31)) AS INTEGER)
                ELSE t.created_at END AS valid_from
    FROM teams0 t, (SELECT CAST(range AS INTEGER) AS v FROM range(0, 2)) v
    WHERE v.v = 0 OR (rnd(t.team_id, 'haschange') < 0.4 AND t.target_size > 1
                      AND coalesce(t.churn_date, DATE '2026-10-31') - t.created_at > 62)
)
SELECT team_id, customer_id,
       pick(team_id, 'name', ['Falcon', 'Orion', 'Atlas', 'Nova', 'Summit', 'Harbor', 'Aurora', 'Pioneer'])
         || ' ' || (team_id % 10 + 1)::VARCHAR AS team_name,
       CASE WHEN v = 1 AND rnd(team_id, 'retype') < 0.5
            THEN pick(team_id, 'type2', ['engineering', 'sales', 'marketing', 'operations', 'support', 'finance'])
            ELSE team_type END AS team_type,
       team_id::BIGINT * 100 + v AS team_lead_user_id,
       valid_from,
       lead(valid_from) OVER (PARTITION BY team_id ORDER BY v) AS valid_to
FROM v
;
INSERT INTO entity.entity_teams_history
SELECT team_id, customer_id, team_name, team_type, team_lead_user_id, valid_from, valid_to, valid_to IS NULL
FROM team_hist
;
CREATE OR REPLACE TEMP TABLE team_activity AS
SELECT u.team_id, CAST(a.activity_timestamp AS DATE) AS day,
       count(DISTINCT a.user_id) AS active_users, count(DISTINCT a.session_id) AS sessions,
       sum(a.actions_taken) AS actions, count(DISTINCT a.feature) AS features_used
FROM staging.stg_app__user_activities a JOIN users0 u USING (user_id)
GROUP BY ALL
;
INSERT INTO entity.entity_teams_daily
WITH changes AS (
    SELECT team_id, created_at AS day, 1 AS delta FROM users0
    UNION ALL
    SELECT team_id, deactivated_at, -1 FROM users0 WHERE deactivated_at IS NOT NULL
), per_day AS (
    SELECT team_id, day, sum(delta) AS delta FROM changes GROUP BY ALL
), spine AS (
    SELECT t.team_id, t.customer_id, CAST(g.day AS DATE) AS day
    FROM teams0 t, generate_series(CAST(t.created_at AS TIMESTAMP),
                                   CAST(coalesce(t.churn_date - 1, DATE '2026-10-31') AS TIMESTAMP), INTERVAL 1 DAY) g(day)
), sized AS (
    SELECT s.team_id, s.customer_id, s.day,
           CAST(sum(coalesce(p.delta, 0)) OVER (PARTITION BY s.team_id ORDER BY s.day) AS INTEGER) AS team_size
    FROM spine s LEFT JOIN per_day p ON p.team_id = s.team_id AND p.day = s.day
)
SELECT z.day, z.team_id, z.customer_id, z.team_size,
       coalesce(a.active_users, 0), coalesce(a.sessions, 0), coalesce(a.actions, 0), coalesce(a.features_used, 0),
       coalesce(a.features_used, 0) / 6.0,
       CASE WHEN z.team_size >= 2 AND coalesce(a.active_users, 0) >= 2
            THEN least(1.0, (a.active_users - 1) / (z.team_size - 1.0)) ELSE 0.0 END
FROM sized z LEFT JOIN team_activity a ON a.team_id = z.team_id AND a.day = z.day
;
INSERT INTO entity.entity_teams
SELECT t.team_id, t.customer_id, h.team_name, h.team_type, t.created_at,
       (SELECT count(*) FROM users0 u WHERE u.team_id = t.team_id AND u.deactivated_at IS NULL),
       t.churn_date IS NULL
FROM teams0 t JOIN team_hist h ON h.team_id = t.team_id AND h.valid_to IS NULL
;
-- locations and devices, with the hourly device grain for the last 14 days ------------------
INSERT INTO entity.entity_locations
SELECT c.customer_id * 10 + j.j, c.customer_id,
       c.customer_name || ' ' || pick(c.customer_id * 10 + j.j, 'site', ['HQ', 'Warehouse', 'Store', 'Office', 'Plant']),
       CASE h.sales_region WHEN 'NA' THEN pick(c.customer_id * 10 + j.j, 'city', ['New York', 'Chicago', 'Austin', 'Toronto'])
                           WHEN 'EMEA' THEN pick(c.customer_id * 10 + j.j, 'city', ['London', 'Berlin', 'Paris', 'Amsterdam'])
                           WHEN 'APAC' THEN pick(c.customer_id * 10 + j.j, 'city', ['Sydney', 'Tokyo', 'Singapore', 'Bangalore'])
                           ELSE pick(c.customer_id * 10 + j.j, 'city', ['Sao Paulo', 'Mexico City', 'Buenos Aires']) END,
       CASE h.sales_region WHEN 'NA' THEN 'US' WHEN 'EMEA' THEN 'GB' WHEN 'APAC' THEN 'AU' ELSE 'BR' END,
       h.sales_region,
       c.signup_date + j.j * 60
FROM c0 c JOIN hist h ON h.customer_id = c.customer_id AND h.is_current, (SELECT CAST(range AS INTEGER) AS j FROM range(0, 3)) j
WHERE j.j = 0 OR (j.j = 1 AND rnd(c.customer_id, 'loc2') < 0.35) OR (j.j = 2 AND c.segment0 = 'Enterprise' AND rnd(c.customer_id, 'loc3') < 0.5)
;
CREATE OR REPLACE TEMP TABLE devices0 AS
SELECT l.location_id * 10 + k.k AS device_id, l.location_id, l.customer_id,
       pick(l.location_id * 10 + k.k, 'dtype', ['kiosk', 'tablet', 'sensor', 'pos']) AS device_type,
       pick(l.location_id * 10 + k.k, 'os', ['android', 'ios', 'linux', 'windows']) AS os,
       l.opened_at + CAST(floor(rnd(l.location_id * 10 + k.k, 'installed') * 120) AS INTEGER) AS installed_at,
       c.churn_date
FROM entity.entity_locations l JOIN c0 c USING (customer_id), (SELECT CAST(range AS INTEGER) AS k FROM range(0, 2)) k
WHERE rnd(l.location_id * 10 + k.k, 'exists') < CASE k.k WHEN 0 THEN 0.6 ELSE 0.25 END
  AND l.opened_at + 120 <= DATE '2026-10-31'
;
INSERT INTO entity.entity_devices
SELECT device_id, location_id, customer_id, device_type, os, installed_at,
       CASE WHEN churn_date IS NULL THEN 'active' ELSE 'retired' END
FROM devices0
;
INSERT INTO entity.entity_devices_hourly
WITH hours AS (
    SELECT d.device_id, d.location_id, h.ts
    FROM devices0 d, generate_series(TIMESTAMP '2026-10-18 00:00:00', TIMESTAMP '2026-10-31 23:00:00', INTERVAL 1 HOUR) h(ts)
    WHERE d.installed_at <= CAST(h.ts AS DATE) AND (d.churn_date IS NULL OR CAST(h.ts AS DATE) < d.churn_date)
), flagged AS (
    SELECT *, rnd(hash(device_id, ts), 'online') < 0.97 AS is_online FROM hours
)
SELECT ts, device_id, location_id, is_online,
       CASE WHEN is_online THEN CAST(floor(rnd(hash(device_id, ts), 'events') * 120 * CASE WHEN hour(ts) BETWEEN 8 AND 20 THEN 1 ELSE 0.2 END) AS INTEGER) ELSE 0 END,
       CAST(floor(pow(rnd(hash(device_id, ts), 'errors'), 8) * 10) AS INTEGER),
       CASE WHEN is_online THEN 3600 - CAST(floor(pow(rnd(hash(device_id, ts), 'uptime'), 4) * 600) AS INTEGER) ELSE 0 END
FROM flagged
;
-- the legacy wide table that entity_customers replaces: one row per customer-month ----------
INSERT INTO legacy.customer_facts
WITH month_end AS (
    SELECT d.*, date_trunc('month', d.snapshot_date) AS as_of_month
    FROM entity.entity_customers_daily d
    WHERE d.snapshot_date = least(DATE '2026-10-31', CAST(date_trunc('month', d.snapshot_date) + INTERVAL 1 MONTH - INTERVAL 1 DAY AS DATE))
       OR d.snapshot_date = (SELECT max(snapshot_date) FROM entity.entity_customers_daily x WHERE x.customer_id = d.customer_id)
    QUALIFY row_number() OVER (PARTITION BY d.customer_id, date_trunc('month', d.snapshot_date) ORDER BY d.snapshot_date DESC) = 1
)
SELECT CAST(m.as_of_month AS DATE), m.customer_id, c.customer_name, m.customer_tier, m.customer_segment, m.sales_region,
       m.customer_status = 'active',
       coalesce((SELECT sum(quantity) FROM sub_months sm WHERE sm.customer_id = m.customer_id
                 AND sm.month_start = m.as_of_month AND sm.mrr > 0), 0),
       m.monthly_recurring_revenue, m.annual_recurring_revenue,
       sum(m.monthly_recurring_revenue) OVER (PARTITION BY m.customer_id ORDER BY m.as_of_month)
FROM month_end m JOIN c0 c USING (customer_id)
;
