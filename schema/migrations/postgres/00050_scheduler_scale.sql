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
-- The scheduler at cluster scale (issue 19).
--
-- renders.output_pruned marks a render whose output directory was deleted,
-- so pruning only visits outputs that still exist (its cost follows what it
-- removes, not the history). jobs.skipped counts the due times after
-- due_at that were not run because this job was queued too late to run
-- them on time; skipped_reason says why. leases holds the cluster-wide
-- role of "the node that turns due schedules into jobs".
--
-- The indexes serve every query the scheduler and the dashboard run on
-- renders and jobs (dbprovider/sqlstore's hot-query EXPLAIN test checks
-- that none scans a whole table): the newest good render of a bundle, the
-- outputs left to prune, a report's render list page, retention by age, and
-- the page of all jobs newest first.
ALTER TABLE renders ADD COLUMN IF NOT EXISTS output_pruned boolean NOT NULL DEFAULT false;
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS skipped integer NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS skipped_reason text NOT NULL DEFAULT '';
CREATE INDEX CONCURRENTLY IF NOT EXISTS renders_content_id ON renders (content_id, id);
CREATE INDEX CONCURRENTLY IF NOT EXISTS renders_good ON renders (content_id, bundle_id, id) WHERE status = 'ok';
CREATE INDEX CONCURRENTLY IF NOT EXISTS renders_unpruned ON renders (content_id, bundle_id, id) WHERE status = 'ok' AND NOT output_pruned;
CREATE INDEX CONCURRENTLY IF NOT EXISTS renders_started ON renders (started_at);
CREATE INDEX CONCURRENTLY IF NOT EXISTS renders_bundle ON renders (bundle_id);
CREATE INDEX CONCURRENTLY IF NOT EXISTS jobs_due_id ON jobs (due_at, id);
CREATE INDEX CONCURRENTLY IF NOT EXISTS jobs_finished ON jobs (finished_at) WHERE finished_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS leases (
    name       text PRIMARY KEY,
    holder     text NOT NULL,
    renewed_at timestamptz NOT NULL
);

-- +goose Down
DROP TABLE IF EXISTS leases;
DROP INDEX IF EXISTS jobs_finished;
DROP INDEX IF EXISTS jobs_due_id;
DROP INDEX IF EXISTS renders_bundle;
DROP INDEX IF EXISTS renders_started;
DROP INDEX IF EXISTS renders_unpruned;
DROP INDEX IF EXISTS renders_good;
DROP INDEX IF EXISTS renders_content_id;
ALTER TABLE jobs DROP COLUMN IF EXISTS skipped_reason;
ALTER TABLE jobs DROP COLUMN IF EXISTS skipped;
ALTER TABLE renders DROP COLUMN IF EXISTS output_pruned;
