-- podium:class expand
-- +goose Up
-- The audit log is read newest first, filtered by time range or actor, and
-- pruned by age ([Server] AuditLogRetention) in batches of the oldest
-- rows: index its time, and actor with time. Not action: a b-tree on that
-- unbounded text column would make PostgreSQL refuse long values SQLite
-- takes (migrate's parity test), and the few actions are read newest
-- first through the time index.
CREATE INDEX audit_log_at ON audit_log (at, id);
CREATE INDEX audit_log_user_at ON audit_log (user_id, at);

-- +goose Down
DROP INDEX audit_log_user_at;
DROP INDEX audit_log_at;
