-- podium:class expand
-- +goose Up
-- +goose NO TRANSACTION
-- Test-only migration of the hard rolling-upgrade benchmark's binary N+1
-- (build tag podium_rolling_hard; integration/upgrade_rolling_hard_bench_test.go):
-- a nullable column on every table that requests use, written as docs/upgrading.md says an expand migration must be (NO
-- TRANSACTION: each statement commits alone and locks one table for an
-- instant; IF NOT EXISTS: it can run again after yielding to traffic).
-- users comes first, against the order in which requests lock tables (the
-- API-key lookup takes api_keys then users, a session lookup sessions then
-- users): a migration that held users while it waited for the others, in
-- one transaction, would deadlock with them.
ALTER TABLE users ADD COLUMN IF NOT EXISTS rolling_hard text;
ALTER TABLE tasks ADD COLUMN IF NOT EXISTS rolling_hard text;
ALTER TABLE task_output ADD COLUMN IF NOT EXISTS rolling_hard text;
ALTER TABLE settings ADD COLUMN IF NOT EXISTS rolling_hard text;
ALTER TABLE sessions ADD COLUMN IF NOT EXISTS rolling_hard text;
ALTER TABLE schedules ADD COLUMN IF NOT EXISTS rolling_hard text;
ALTER TABLE renders ADD COLUMN IF NOT EXISTS rolling_hard text;
ALTER TABLE nodes ADD COLUMN IF NOT EXISTS rolling_hard text;
ALTER TABLE login_attempts ADD COLUMN IF NOT EXISTS rolling_hard text;
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS rolling_hard text;
ALTER TABLE job_attempts ADD COLUMN IF NOT EXISTS rolling_hard text;
ALTER TABLE content_env ADD COLUMN IF NOT EXISTS rolling_hard text;
ALTER TABLE content_acl ADD COLUMN IF NOT EXISTS rolling_hard text;
ALTER TABLE content ADD COLUMN IF NOT EXISTS rolling_hard text;
ALTER TABLE bundles ADD COLUMN IF NOT EXISTS rolling_hard text;
ALTER TABLE audit_log ADD COLUMN IF NOT EXISTS rolling_hard text;
ALTER TABLE api_keys ADD COLUMN IF NOT EXISTS rolling_hard text;
ALTER TABLE content_group_acl ADD COLUMN IF NOT EXISTS rolling_hard text;
ALTER TABLE content_tags ADD COLUMN IF NOT EXISTS rolling_hard text;
ALTER TABLE group_members ADD COLUMN IF NOT EXISTS rolling_hard text;
ALTER TABLE groups ADD COLUMN IF NOT EXISTS rolling_hard text;
ALTER TABLE leases ADD COLUMN IF NOT EXISTS rolling_hard text;
ALTER TABLE tags ADD COLUMN IF NOT EXISTS rolling_hard text;
ALTER TABLE usage_sessions ADD COLUMN IF NOT EXISTS rolling_hard text;
ALTER TABLE usage_visits ADD COLUMN IF NOT EXISTS rolling_hard text;
ALTER TABLE user_identities ADD COLUMN IF NOT EXISTS rolling_hard text;
ALTER TABLE vanities ADD COLUMN IF NOT EXISTS rolling_hard text;
ALTER TABLE content_repositories ADD COLUMN IF NOT EXISTS rolling_hard text;
ALTER TABLE git_credentials ADD COLUMN IF NOT EXISTS rolling_hard text;

-- +goose Down
ALTER TABLE users DROP COLUMN IF EXISTS rolling_hard;
ALTER TABLE tasks DROP COLUMN IF EXISTS rolling_hard;
ALTER TABLE task_output DROP COLUMN IF EXISTS rolling_hard;
ALTER TABLE settings DROP COLUMN IF EXISTS rolling_hard;
ALTER TABLE sessions DROP COLUMN IF EXISTS rolling_hard;
ALTER TABLE schedules DROP COLUMN IF EXISTS rolling_hard;
ALTER TABLE renders DROP COLUMN IF EXISTS rolling_hard;
ALTER TABLE nodes DROP COLUMN IF EXISTS rolling_hard;
ALTER TABLE login_attempts DROP COLUMN IF EXISTS rolling_hard;
ALTER TABLE jobs DROP COLUMN IF EXISTS rolling_hard;
ALTER TABLE job_attempts DROP COLUMN IF EXISTS rolling_hard;
ALTER TABLE content_env DROP COLUMN IF EXISTS rolling_hard;
ALTER TABLE content_acl DROP COLUMN IF EXISTS rolling_hard;
ALTER TABLE content DROP COLUMN IF EXISTS rolling_hard;
ALTER TABLE bundles DROP COLUMN IF EXISTS rolling_hard;
ALTER TABLE audit_log DROP COLUMN IF EXISTS rolling_hard;
ALTER TABLE api_keys DROP COLUMN IF EXISTS rolling_hard;
ALTER TABLE content_group_acl DROP COLUMN IF EXISTS rolling_hard;
ALTER TABLE content_tags DROP COLUMN IF EXISTS rolling_hard;
ALTER TABLE group_members DROP COLUMN IF EXISTS rolling_hard;
ALTER TABLE groups DROP COLUMN IF EXISTS rolling_hard;
ALTER TABLE leases DROP COLUMN IF EXISTS rolling_hard;
ALTER TABLE tags DROP COLUMN IF EXISTS rolling_hard;
ALTER TABLE usage_sessions DROP COLUMN IF EXISTS rolling_hard;
ALTER TABLE usage_visits DROP COLUMN IF EXISTS rolling_hard;
ALTER TABLE user_identities DROP COLUMN IF EXISTS rolling_hard;
ALTER TABLE vanities DROP COLUMN IF EXISTS rolling_hard;
ALTER TABLE content_repositories DROP COLUMN IF EXISTS rolling_hard;
ALTER TABLE git_credentials DROP COLUMN IF EXISTS rolling_hard;
