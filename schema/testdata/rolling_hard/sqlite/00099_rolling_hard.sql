-- podium:class expand
-- +goose Up
-- Test-only migration of the hard rolling-upgrade benchmark's binary N+1
-- (build tag podium_rolling_hard; integration/upgrade_rolling_hard_bench_test.go):
-- a nullable column on every table that requests use, as in the PostgreSQL folder (SQLite serves one node: no lock concern).
-- users comes first, against the order in which requests lock tables (the
-- API-key lookup takes api_keys then users, a session lookup sessions then
-- users): a migration that held users while it waited for the others, in
-- one transaction, would deadlock with them.
ALTER TABLE users ADD COLUMN rolling_hard TEXT;
ALTER TABLE tasks ADD COLUMN rolling_hard TEXT;
ALTER TABLE task_output ADD COLUMN rolling_hard TEXT;
ALTER TABLE settings ADD COLUMN rolling_hard TEXT;
ALTER TABLE sessions ADD COLUMN rolling_hard TEXT;
ALTER TABLE schedules ADD COLUMN rolling_hard TEXT;
ALTER TABLE renders ADD COLUMN rolling_hard TEXT;
ALTER TABLE nodes ADD COLUMN rolling_hard TEXT;
ALTER TABLE login_attempts ADD COLUMN rolling_hard TEXT;
ALTER TABLE jobs ADD COLUMN rolling_hard TEXT;
ALTER TABLE job_attempts ADD COLUMN rolling_hard TEXT;
ALTER TABLE content_env ADD COLUMN rolling_hard TEXT;
ALTER TABLE content_acl ADD COLUMN rolling_hard TEXT;
ALTER TABLE content ADD COLUMN rolling_hard TEXT;
ALTER TABLE bundles ADD COLUMN rolling_hard TEXT;
ALTER TABLE audit_log ADD COLUMN rolling_hard TEXT;
ALTER TABLE api_keys ADD COLUMN rolling_hard TEXT;

-- +goose Down
ALTER TABLE users DROP COLUMN rolling_hard;
ALTER TABLE tasks DROP COLUMN rolling_hard;
ALTER TABLE task_output DROP COLUMN rolling_hard;
ALTER TABLE settings DROP COLUMN rolling_hard;
ALTER TABLE sessions DROP COLUMN rolling_hard;
ALTER TABLE schedules DROP COLUMN rolling_hard;
ALTER TABLE renders DROP COLUMN rolling_hard;
ALTER TABLE nodes DROP COLUMN rolling_hard;
ALTER TABLE login_attempts DROP COLUMN rolling_hard;
ALTER TABLE jobs DROP COLUMN rolling_hard;
ALTER TABLE job_attempts DROP COLUMN rolling_hard;
ALTER TABLE content_env DROP COLUMN rolling_hard;
ALTER TABLE content_acl DROP COLUMN rolling_hard;
ALTER TABLE content DROP COLUMN rolling_hard;
ALTER TABLE bundles DROP COLUMN rolling_hard;
ALTER TABLE audit_log DROP COLUMN rolling_hard;
ALTER TABLE api_keys DROP COLUMN rolling_hard;
