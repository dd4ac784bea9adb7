-- podium:class expand
-- +goose Up
-- Every node sweeps, every [HA] HeartbeatInterval, for the unfinished tasks
-- and running renders of dead nodes (issue 12): these partial indexes keep
-- that sweep to the few rows in progress, however long the history grows.
-- Same indexes in both folders.
CREATE INDEX tasks_unfinished ON tasks (node_id) WHERE NOT finished;
CREATE INDEX renders_running ON renders (node_id) WHERE status = 'running';

-- +goose Down
DROP INDEX renders_running;
DROP INDEX tasks_unfinished;
