-- podium:class expand
-- +goose Up
-- The audit log is read newest first, filtered by time range, actor or
-- action, and pruned by age ([Server] AuditLogRetention) in batches of the
-- oldest rows: index its time, and actor and action with time.
CREATE INDEX audit_log_at ON audit_log (at, id);
CREATE INDEX audit_log_user_at ON audit_log (user_id, at);
CREATE INDEX audit_log_action_at ON audit_log (action, at);

-- +goose Down
DROP INDEX audit_log_action_at;
DROP INDEX audit_log_user_at;
DROP INDEX audit_log_at;
