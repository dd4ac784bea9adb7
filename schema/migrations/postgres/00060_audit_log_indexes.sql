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
-- The audit log is read newest first, filtered by time range or actor, and
-- pruned by age ([Server] AuditLogRetention) in batches of the oldest
-- rows: index its time, and actor with time. Not action: a b-tree on that
-- unbounded text column would make PostgreSQL refuse long values SQLite
-- takes (migrate's parity test), and the few actions are read newest
-- first through the time index.
CREATE INDEX CONCURRENTLY IF NOT EXISTS audit_log_at ON audit_log (at, id);
CREATE INDEX CONCURRENTLY IF NOT EXISTS audit_log_user_at ON audit_log (user_id, at);

-- +goose Down
DROP INDEX IF EXISTS audit_log_user_at;
DROP INDEX IF EXISTS audit_log_at;
