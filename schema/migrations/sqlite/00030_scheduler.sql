-- podium:class contract
-- (baseline: the schema rolling upgrades start from; see docs/upgrading.md)
-- +goose Up
-- Scheduled rendering across the cluster. Same columns and indexes as the
-- PostgreSQL folder (SQLite 3.35+ can DROP COLUMN, so Down mirrors it).
ALTER TABLE nodes ADD COLUMN schedule_concurrency INTEGER;
CREATE INDEX jobs_status_heartbeat ON jobs (status, heartbeat_at);
CREATE INDEX jobs_content_due ON jobs (content_id, due_at DESC);
CREATE INDEX job_attempts_job ON job_attempts (job_id, attempt);
CREATE INDEX schedules_next_run ON schedules (enabled, next_run_at);

-- +goose Down
DROP INDEX schedules_next_run;
DROP INDEX job_attempts_job;
DROP INDEX jobs_content_due;
DROP INDEX jobs_status_heartbeat;
ALTER TABLE nodes DROP COLUMN schedule_concurrency;
