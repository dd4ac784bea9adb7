-- +goose Up
-- The scheduler at cluster scale (issue 19): same columns, tables and
-- indexes as the PostgreSQL folder (see there for what each serves). The
-- CHECK constraints refuse what PostgreSQL's types would (a boolean, an
-- integer in range, text without NUL). SQLite runs one node, so the leases
-- table always names it; it exists so that both schemas stay the same.
ALTER TABLE renders ADD COLUMN output_pruned INTEGER NOT NULL DEFAULT 0 CHECK (output_pruned IN (0, 1));
ALTER TABLE jobs ADD COLUMN skipped INTEGER NOT NULL DEFAULT 0 CHECK (skipped BETWEEN -2147483648 AND 2147483647);
ALTER TABLE jobs ADD COLUMN skipped_reason TEXT NOT NULL DEFAULT '' CHECK (instr(skipped_reason, char(0)) = 0);
CREATE INDEX renders_content_id ON renders (content_id, id);
CREATE INDEX renders_good ON renders (content_id, bundle_id, id) WHERE status = 'ok';
CREATE INDEX renders_unpruned ON renders (content_id, bundle_id, id) WHERE status = 'ok' AND NOT output_pruned;
CREATE INDEX renders_started ON renders (started_at);
CREATE INDEX renders_bundle ON renders (bundle_id);
CREATE INDEX jobs_due_id ON jobs (due_at, id);
CREATE INDEX jobs_finished ON jobs (finished_at) WHERE finished_at IS NOT NULL;
CREATE TABLE leases (
    name       TEXT PRIMARY KEY CHECK (instr(name, char(0)) = 0),
    holder     TEXT NOT NULL CHECK (instr(holder, char(0)) = 0),
    renewed_at TIMESTAMP NOT NULL
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
