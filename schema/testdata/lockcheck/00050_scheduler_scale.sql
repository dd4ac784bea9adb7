-- podium:class expand
-- +goose Up
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
ALTER TABLE renders ADD COLUMN output_pruned boolean NOT NULL DEFAULT false;
ALTER TABLE jobs ADD COLUMN skipped integer NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN skipped_reason text NOT NULL DEFAULT '';
CREATE INDEX renders_content_id ON renders (content_id, id);
CREATE INDEX renders_good ON renders (content_id, bundle_id, id) WHERE status = 'ok';
CREATE INDEX renders_unpruned ON renders (content_id, bundle_id, id) WHERE status = 'ok' AND NOT output_pruned;
CREATE INDEX renders_started ON renders (started_at);
CREATE INDEX renders_bundle ON renders (bundle_id);
CREATE INDEX jobs_due_id ON jobs (due_at, id);
CREATE INDEX jobs_finished ON jobs (finished_at) WHERE finished_at IS NOT NULL;
CREATE TABLE leases (
    name       text PRIMARY KEY,
    holder     text NOT NULL,
    renewed_at timestamptz NOT NULL
);

-- +goose Down
DROP TABLE leases;
DROP INDEX jobs_finished;
DROP INDEX jobs_due_id;
DROP INDEX renders_bundle;
DROP INDEX renders_started;
DROP INDEX renders_unpruned;
DROP INDEX renders_good;
DROP INDEX renders_content_id;
ALTER TABLE jobs DROP COLUMN skipped_reason;
ALTER TABLE jobs DROP COLUMN skipped;
ALTER TABLE renders DROP COLUMN output_pruned;
