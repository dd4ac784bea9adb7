-- podium:class expand
-- +goose Up
-- A claim takes the oldest due queued jobs (ORDER BY due_at, id). The
-- queued jobs are a handful among a history of finished ones that grows
-- by the day: index just them, in the claim's order, so that a claim
-- reads what it takes and not the history due before it (the planner may
-- walk jobs_due_id and filter out every finished job due earlier).
CREATE INDEX jobs_queued_due ON jobs (due_at, id) WHERE status = 'queued';

-- +goose Down
DROP INDEX jobs_queued_due;
