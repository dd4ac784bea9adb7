-- podium:class contract
-- (baseline: the schema rolling upgrades start from; see docs/upgrading.md)
-- +goose Up
-- Scheduled rendering across the cluster. Each node records how many
-- scheduled jobs it runs at once, so "no live node takes scheduled work"
-- can be computed from the database (NULL: a node that never said, counted
-- as 0). The indexes serve reclaiming abandoned jobs (running, oldest
-- heartbeat first) and reading a job's attempts.
ALTER TABLE nodes ADD COLUMN schedule_concurrency integer;
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
