-- podium:class expand
-- +goose Up
-- The scheduler at cluster scale (issue 19): same columns, tables and
-- indexes as the PostgreSQL folder (see there for what each serves). The
-- CHECK constraints refuse what PostgreSQL's types would (a boolean, an
-- integer in range, text without NUL), written as 00035 writes them. SQLite runs one node, so the leases
-- table always names it; it exists so that both schemas stay the same.
ALTER TABLE renders ADD COLUMN output_pruned BOOLEAN NOT NULL DEFAULT 0
    CONSTRAINT output_pruned_bool CHECK (typeof(output_pruned) IN ('integer', 'null') AND output_pruned IN (0, 1));
ALTER TABLE jobs ADD COLUMN skipped INTEGER NOT NULL DEFAULT 0
    CONSTRAINT skipped_int4 CHECK (typeof(skipped) IN ('integer', 'null') AND skipped BETWEEN -2147483648 AND 2147483647);
ALTER TABLE jobs ADD COLUMN skipped_reason TEXT NOT NULL DEFAULT ''
    CONSTRAINT skipped_reason_text CHECK (typeof(skipped_reason) IN ('text', 'null') AND instr(CAST(skipped_reason AS BLOB), x'00') = 0);
CREATE INDEX renders_content_id ON renders (content_id, id);
CREATE INDEX renders_good ON renders (content_id, bundle_id, id) WHERE status = 'ok';
CREATE INDEX renders_unpruned ON renders (content_id, bundle_id, id) WHERE status = 'ok' AND NOT output_pruned;
CREATE INDEX renders_started ON renders (started_at);
CREATE INDEX renders_bundle ON renders (bundle_id);
CREATE INDEX jobs_due_id ON jobs (due_at, id);
CREATE INDEX jobs_finished ON jobs (finished_at) WHERE finished_at IS NOT NULL;
CREATE TABLE leases (
    name       TEXT NOT NULL PRIMARY KEY
        CONSTRAINT name_key CHECK (typeof(name) IN ('text', 'null') AND instr(CAST(name AS BLOB), x'00') = 0 AND length(CAST(name AS BLOB)) <= 2048),
    holder     TEXT NOT NULL
        CONSTRAINT holder_text CHECK (typeof(holder) IN ('text', 'null') AND instr(CAST(holder AS BLOB), x'00') = 0),
    renewed_at TIMESTAMP NOT NULL
        CONSTRAINT renewed_at_time CHECK (renewed_at IS NULL OR (typeof(renewed_at) = 'text' AND renewed_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9]*+00:00' AND (length(renewed_at) = 25 OR (length(renewed_at) BETWEEN 27 AND 35 AND substr(renewed_at, 20, 1) = '.' AND substr(renewed_at, 21, length(renewed_at) - 26) NOT GLOB '*[^0-9]*')) AND substr(renewed_at, 1, 4) <> '0000' AND strftime('%Y-%m-%d %H:%M:%S', substr(renewed_at, 1, 19)) IS substr(renewed_at, 1, 19)))
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
