-- podium:class expand
-- +goose Up
-- +goose NO TRANSACTION
-- Rewritten for issue 28 (the SQL goose runs, not the schema it makes):
-- an expand migration runs while older nodes serve, so each statement
-- commits alone (NO TRANSACTION), locks one table for an instant, and
-- builds its index CONCURRENTLY; IF NOT EXISTS lets the migration run
-- again from the top after it yielded to traffic (lock_timeout). Databases
-- that applied the earlier text have the same columns and indexes: goose
-- records versions, not file contents, and never runs it again.
-- A claim takes the oldest due queued jobs (ORDER BY due_at, id). The
-- queued jobs are a handful among a history of finished ones that grows
-- by the day: index just them, in the claim's order, so that a claim
-- reads what it takes and not the history due before it (the planner may
-- walk jobs_due_id and filter out every finished job due earlier).
CREATE INDEX CONCURRENTLY IF NOT EXISTS jobs_queued_due ON jobs (due_at, id) WHERE status = 'queued';

-- +goose Down
DROP INDEX IF EXISTS jobs_queued_due;
