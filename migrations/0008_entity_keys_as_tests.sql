-- Entity tables are built (entities/*.yml); their keys are checked by the data tests declared beside
-- them (unique, not_null), which name the failing keys, instead of by constraints that would fail a
-- whole build on the first duplicate and slow every insert with an index. DuckDB cannot drop a
-- constraint: each table is made again from its rows (types kept, constraints not).

CREATE TABLE entity.entity_customers__plain AS SELECT * FROM entity.entity_customers;
DROP TABLE entity.entity_customers;
ALTER TABLE entity.entity_customers__plain RENAME TO entity_customers;

CREATE TABLE entity.entity_customers_history__plain AS SELECT * FROM entity.entity_customers_history;
DROP TABLE entity.entity_customers_history;
ALTER TABLE entity.entity_customers_history__plain RENAME TO entity_customers_history;

CREATE TABLE entity.entity_subscriptions__plain AS SELECT * FROM entity.entity_subscriptions;
DROP TABLE entity.entity_subscriptions;
ALTER TABLE entity.entity_subscriptions__plain RENAME TO entity_subscriptions;

CREATE TABLE entity.entity_subscriptions_monthly__plain AS SELECT * FROM entity.entity_subscriptions_monthly;
DROP TABLE entity.entity_subscriptions_monthly;
ALTER TABLE entity.entity_subscriptions_monthly__plain RENAME TO entity_subscriptions_monthly;

CREATE TABLE entity.entity_teams__plain AS SELECT * FROM entity.entity_teams;
DROP TABLE entity.entity_teams;
ALTER TABLE entity.entity_teams__plain RENAME TO entity_teams;

CREATE TABLE entity.entity_teams_history__plain AS SELECT * FROM entity.entity_teams_history;
DROP TABLE entity.entity_teams_history;
ALTER TABLE entity.entity_teams_history__plain RENAME TO entity_teams_history;

CREATE TABLE entity.entity_users__plain AS SELECT * FROM entity.entity_users;
DROP TABLE entity.entity_users;
ALTER TABLE entity.entity_users__plain RENAME TO entity_users;

CREATE TABLE entity.entity_locations__plain AS SELECT * FROM entity.entity_locations;
DROP TABLE entity.entity_locations;
ALTER TABLE entity.entity_locations__plain RENAME TO entity_locations;

CREATE TABLE entity.entity_devices__plain AS SELECT * FROM entity.entity_devices;
DROP TABLE entity.entity_devices;
ALTER TABLE entity.entity_devices__plain RENAME TO entity_devices;
