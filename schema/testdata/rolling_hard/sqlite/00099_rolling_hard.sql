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
ALTER TABLE content_group_acl ADD COLUMN rolling_hard TEXT;
ALTER TABLE content_tags ADD COLUMN rolling_hard TEXT;
ALTER TABLE group_members ADD COLUMN rolling_hard TEXT;
ALTER TABLE groups ADD COLUMN rolling_hard TEXT;
ALTER TABLE leases ADD COLUMN rolling_hard TEXT;
ALTER TABLE tags ADD COLUMN rolling_hard TEXT;
ALTER TABLE usage_sessions ADD COLUMN rolling_hard TEXT;
ALTER TABLE usage_visits ADD COLUMN rolling_hard TEXT;
ALTER TABLE user_identities ADD COLUMN rolling_hard TEXT;
ALTER TABLE vanities ADD COLUMN rolling_hard TEXT;
ALTER TABLE content_repositories ADD COLUMN rolling_hard TEXT;
ALTER TABLE git_credentials ADD COLUMN rolling_hard TEXT;

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
ALTER TABLE content_group_acl DROP COLUMN rolling_hard;
ALTER TABLE content_tags DROP COLUMN rolling_hard;
ALTER TABLE group_members DROP COLUMN rolling_hard;
ALTER TABLE groups DROP COLUMN rolling_hard;
ALTER TABLE leases DROP COLUMN rolling_hard;
ALTER TABLE tags DROP COLUMN rolling_hard;
ALTER TABLE usage_sessions DROP COLUMN rolling_hard;
ALTER TABLE usage_visits DROP COLUMN rolling_hard;
ALTER TABLE user_identities DROP COLUMN rolling_hard;
ALTER TABLE vanities DROP COLUMN rolling_hard;
ALTER TABLE content_repositories DROP COLUMN rolling_hard;
ALTER TABLE git_credentials DROP COLUMN rolling_hard;
