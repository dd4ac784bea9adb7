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
-- Every node sweeps, every [HA] HeartbeatInterval, for the unfinished tasks
-- and running renders of dead nodes (issue 12): these partial indexes keep
-- that sweep to the few rows in progress, however long the history grows.
-- Same indexes in both folders.
CREATE INDEX CONCURRENTLY IF NOT EXISTS tasks_unfinished ON tasks (node_id) WHERE NOT finished;
CREATE INDEX CONCURRENTLY IF NOT EXISTS renders_running ON renders (node_id) WHERE status = 'running';

-- +goose Down
DROP INDEX IF EXISTS renders_running;
DROP INDEX IF EXISTS tasks_unfinished;
