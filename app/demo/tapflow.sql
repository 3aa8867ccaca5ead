-- The TapFlow demo company, generated deterministically: every "random" draw is
-- rnd(key, salt), a function of a row's key through DuckDB's hash(), so the same
-- scale gives the same rows on every run and machine. Statements are separated by
-- lines holding only ";". The temp table seed_params holds the customer count.
--
-- Only what a company has as input is written: CRM (customers and their changes, teams'
-- changes, users, locations), billing (subscriptions, seat changes), app activity, devices
-- and their telemetry (staging.*), and the legacy customer_facts. Every entity.* table is
-- built from these by the `build:` of its definition in entities/*.yml. Temporary tables
-- hold the generator's working state and end with the seed's transaction.

CREATE OR REPLACE TEMP MACRO rnd(k, salt) AS (hash(k, salt) % 1000003)::DOUBLE / 1000003
;
CREATE OR REPLACE TEMP MACRO pick(k, salt, options) AS options[1 + (hash(k, salt) % len(options))::INTEGER]
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
-- versions of a customer's attributes: 1-4; tiers mostly move up, segments and regions change
-- now and then (a version may repeat the one before: the CRM logs edits of other fields too)
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
INSERT INTO staging.stg_crm__customer_changes (customer_id, changed_at, customer_tier, customer_segment, sales_region)
SELECT customer_id, valid_from, customer_tier, customer_segment, sales_region FROM hist
;
-- the country is a fixed attribute, drawn in the customer's current region
INSERT INTO staging.stg_crm__customers (customer_id, customer_name, signup_date, churn_date, country)
SELECT c.customer_id, c.customer_name, c.signup_date, c.churn_date,
       CASE h.sales_region WHEN 'NA' THEN pick(c.customer_id, 'country', ['US', 'US', 'CA'])
                           WHEN 'EMEA' THEN pick(c.customer_id, 'country', ['GB', 'DE', 'FR', 'NL'])
                           WHEN 'APAC' THEN pick(c.customer_id, 'country', ['AU', 'JP', 'SG', 'IN'])
                           ELSE pick(c.customer_id, 'country', ['BR', 'MX', 'AR']) END
FROM c0 c JOIN hist h ON h.customer_id = c.customer_id AND h.is_current
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
INSERT INTO staging.stg_billing__subscriptions (subscription_id, customer_id, product_line, started_at, cancelled_at, unit_price)
SELECT subscription_id, customer_id, product_line, started_at, cancelled_at, unit_price FROM subs
;
-- seats change every quarter of a subscription's life: month m of its life (0 = the month it
-- started) has the seats of month 3 * (m // 3)
CREATE OR REPLACE TEMP MACRO qty_at(base_qty, growth, m) AS
    greatest(1, CAST(round(base_qty * (1 + growth * (m // 3) * 3)) AS INTEGER))
;
-- a seat change when the subscription starts and on the first day of every third month after,
-- up to its cancellation (a change on the cancellation day still counts for that month's bill)
INSERT INTO staging.stg_billing__seat_changes (subscription_id, changed_at, quantity)
SELECT subscription_id, changed_at, qty_at(base_qty, growth, m)
FROM (
    SELECT s.*, CAST(g.m AS INTEGER) AS m,
           CASE WHEN g.m = 0 THEN s.started_at
                ELSE CAST(date_trunc('month', s.started_at) + to_months(CAST(g.m AS INTEGER)) AS DATE) END AS changed_at
    FROM subs s, range(0, 36, 3) g(m)
)
WHERE changed_at <= coalesce(cancelled_at, DATE '2026-10-31')
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
INSERT INTO staging.stg_crm__users (user_id, team_id, customer_id, user_role, created_at, deactivated_at)
SELECT user_id, team_id, customer_id, user_role, created_at, deactivated_at FROM users0
;
-- a team's versions: created, then (for some) one change of type and lead
INSERT INTO staging.stg_crm__team_changes (team_id, customer_id, team_name, team_type, team_lead_user_id, changed_at)
WITH v AS (
    SELECT t.*, v.v,
           CASE WHEN v.v = 1 THEN t.created_at + 30 + CAST(floor(rnd(t.team_id, 'change') *
                    greatest(1, coalesce(t.churn_date, DATE '2026-10-31') - t.created_at - 31)) AS INTEGER)
                ELSE t.created_at END AS changed_at
    FROM teams0 t, (SELECT CAST(range AS INTEGER) AS v FROM range(0, 2)) v
    WHERE v.v = 0 OR (rnd(t.team_id, 'haschange') < 0.4 AND t.target_size > 1
                      AND coalesce(t.churn_date, DATE '2026-10-31') - t.created_at > 62)
)
SELECT team_id, customer_id,
       pick(team_id, 'name', ['Falcon', 'Orion', 'Atlas', 'Nova', 'Summit', 'Harbor', 'Aurora', 'Pioneer'])
         || ' ' || (team_id % 10 + 1)::VARCHAR,
       CASE WHEN v = 1 AND rnd(team_id, 'retype') < 0.5
            THEN pick(team_id, 'type2', ['engineering', 'sales', 'marketing', 'operations', 'support', 'finance'])
            ELSE team_type END,
       team_id::BIGINT * 100 + v,
       changed_at
FROM v
;
-- app activity: on each day a user is around, a chance of one or two sessions --------------
-- Rows reach the warehouse 5 minutes to 3 hours after the activity, the same day; about 1 in
-- 100 arrives 1 to 6 days late (when that is still before the data's end). The table is written
-- in arrival order, as a loader appends it (a build's time filter then skips most of the file).
INSERT INTO staging.stg_app__user_activities (user_id, session_id, activity_timestamp, actions_taken, feature, loaded_at)
WITH days AS (
    SELECT u.user_id, CAST(g.day AS DATE) AS day, datediff('day', DATE '2024-01-01', g.day) AS day_index
    FROM users0 u, generate_series(CAST(u.created_at AS TIMESTAMP),
                                   CAST(coalesce(u.deactivated_at - 1, DATE '2026-10-31') AS TIMESTAMP), INTERVAL 1 DAY) g(day)
    WHERE rnd(hash(u.user_id, g.day), 'active') < u.engagement * CASE WHEN dayofweek(g.day) IN (0, 6) THEN 0.3 ELSE 1 END
), sessions AS (
    SELECT d.*, s.s, d.user_id * 10000 + d.day_index * 2 + s.s AS session_id
    FROM days d, (SELECT CAST(range AS INTEGER) AS s FROM range(0, 2)) s
    WHERE s.s = 0 OR rnd(hash(d.user_id, d.day_index), 'second') < 0.3
), rows AS (
    SELECT s.user_id, s.session_id, s.day, hash(s.session_id, f.f) AS row_key,
           CAST(s.day AS TIMESTAMP)
             + to_seconds(CAST((8 + floor(rnd(s.session_id, 'hour') * 11)) * 3600 + floor(rnd(s.session_id, 'sec') * 3600) + f.f * 180 AS BIGINT)) AS activity_timestamp,
           1 + CAST(floor(rnd(hash(s.session_id, f.f), 'actions') * 30) AS INTEGER) AS actions_taken,
           pick(hash(s.session_id, f.f), 'feature', ['dashboards', 'reports', 'alerts', 'integrations', 'api', 'collaboration']) AS feature
    FROM sessions s, (SELECT CAST(range AS INTEGER) AS f FROM range(0, 2)) f
    WHERE f.f = 0 OR rnd(s.session_id, 'features') < 0.4
), delayed AS (
    SELECT *, CASE WHEN rnd(row_key, 'late') < 0.01 THEN 1 + CAST(floor(rnd(row_key, 'late_days') * 6) AS INTEGER) ELSE 0 END AS days_late
    FROM rows
)
SELECT user_id, session_id, activity_timestamp, actions_taken, feature,
       activity_timestamp + to_seconds(300 + CAST(floor(rnd(row_key, 'load') * 10500) AS BIGINT))
         + to_days(CASE WHEN day + days_late <= DATE '2026-10-31' THEN days_late ELSE 0 END) AS loaded_at
FROM delayed
ORDER BY loaded_at
;
-- locations and devices, with hourly telemetry for the last 14 days ------------------------
INSERT INTO staging.stg_crm__locations (location_id, customer_id, location_name, city, country, region, opened_at)
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
-- a device is retired when its customer churns
INSERT INTO staging.stg_devices__devices (device_id, location_id, customer_id, device_type, os, installed_at, retired_at)
SELECT l.location_id * 10 + k.k, l.location_id, l.customer_id,
       pick(l.location_id * 10 + k.k, 'dtype', ['kiosk', 'tablet', 'sensor', 'pos']),
       pick(l.location_id * 10 + k.k, 'os', ['android', 'ios', 'linux', 'windows']),
       l.opened_at + CAST(floor(rnd(l.location_id * 10 + k.k, 'installed') * 120) AS INTEGER),
       c.churn_date
FROM staging.stg_crm__locations l JOIN c0 c USING (customer_id), (SELECT CAST(range AS INTEGER) AS k FROM range(0, 2)) k
WHERE rnd(l.location_id * 10 + k.k, 'exists') < CASE k.k WHEN 0 THEN 0.6 ELSE 0.25 END
  AND l.opened_at + 120 <= DATE '2026-10-31'
;
INSERT INTO staging.stg_devices__telemetry (hour, device_id, events, errors, uptime_seconds, is_online)
WITH hours AS (
    SELECT d.device_id, h.ts
    FROM staging.stg_devices__devices d,
         generate_series(TIMESTAMP '2026-10-18 00:00:00', TIMESTAMP '2026-10-31 23:00:00', INTERVAL 1 HOUR) h(ts)
    WHERE d.installed_at <= CAST(h.ts AS DATE) AND (d.retired_at IS NULL OR CAST(h.ts AS DATE) < d.retired_at)
), flagged AS (
    SELECT *, rnd(hash(device_id, ts), 'online') < 0.97 AS is_online FROM hours
)
SELECT ts, device_id,
       CASE WHEN is_online THEN CAST(floor(rnd(hash(device_id, ts), 'events') * 120 * CASE WHEN hour(ts) BETWEEN 8 AND 20 THEN 1 ELSE 0.2 END) AS INTEGER) ELSE 0 END,
       CAST(floor(pow(rnd(hash(device_id, ts), 'errors'), 8) * 10) AS INTEGER),
       CASE WHEN is_online THEN 3600 - CAST(floor(pow(rnd(hash(device_id, ts), 'uptime'), 4) * 600) AS INTEGER) ELSE 0 END,
       is_online
FROM flagged
ORDER BY ts
;
-- the legacy wide table that entity_customers replaces: one row per customer-month ----------
-- Each month a customer is followed (signup to 30 days after churn, at most to the data's end),
-- as of its last day followed: the attributes and MRR of that day, the seats active at the
-- month's end, and the lifetime revenue (the month-end MRRs so far).
INSERT INTO legacy.customer_facts
    (as_of_month, customer_id, customer_name, tier, segment, region, is_active, seats, mrr, arr, lifetime_revenue)
WITH followed AS (
    SELECT c.*, least(DATE '2026-10-31', coalesce(c.churn_date + 30, DATE '2026-10-31')) AS last_followed
    FROM c0 c
), months AS (
    SELECT f.*, CAST(g.m AS DATE) AS as_of_month, last_day(CAST(g.m AS DATE)) AS month_end,
           least(last_day(CAST(g.m AS DATE)), f.last_followed) AS day
    FROM followed f, generate_series(date_trunc('month', f.signup_date), date_trunc('month', f.last_followed), INTERVAL 1 MONTH) g(m)
), month_subs AS (   -- the customer's subscriptions, at their seats of the month
    SELECT m.customer_id, m.as_of_month, m.day, m.month_end, s.started_at, s.cancelled_at, s.unit_price,
           qty_at(s.base_qty, s.growth, datediff('month', date_trunc('month', s.started_at), m.day)) AS quantity
    FROM months m LEFT JOIN subs s USING (customer_id)
), billed AS (   -- the MRR on the month's day, and the seats of the subscriptions active at the month's end
    SELECT customer_id, as_of_month,
           coalesce(sum(CAST(quantity * unit_price AS DECIMAL(14, 2)))
                        FILTER (WHERE started_at <= day AND (cancelled_at IS NULL OR day < cancelled_at)), 0) AS mrr,
           coalesce(sum(quantity)
                        FILTER (WHERE started_at <= month_end AND (cancelled_at IS NULL OR cancelled_at > month_end)), 0) AS seats
    FROM month_subs
    GROUP BY ALL
)
SELECT m.as_of_month, m.customer_id, m.customer_name, h.customer_tier, h.customer_segment, h.sales_region,
       b.mrr > 0,   -- active: paying that day (a churned customer pays nothing)
       b.seats, b.mrr, b.mrr * 12,
       sum(b.mrr) OVER (PARTITION BY m.customer_id ORDER BY m.as_of_month)
FROM months m
JOIN billed b USING (customer_id, as_of_month)
JOIN hist h ON h.customer_id = m.customer_id AND h.valid_from <= m.day AND (h.valid_to IS NULL OR m.day < h.valid_to)
;
