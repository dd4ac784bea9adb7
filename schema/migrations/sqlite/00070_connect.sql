-- podium:class contract
-- (a unique index on content names that older nodes could violate)
-- +goose Up
-- The Connect-compatible API (docs/publishing.md): content names unique per
-- owner as Connect has them, the time of the last activation clients read
-- as last_deployed_time, and the environment variables of content, whose
-- values are kept encrypted (AES-GCM, publish/envvars.go). Same columns and
-- indexes as the PostgreSQL folder.

-- Older nodes allowed one owner two content items of the same name: keep
-- the oldest one's name and give the others a suffix so the index holds.
UPDATE content SET name = name || '-' || id
WHERE id NOT IN (SELECT min(id) FROM content GROUP BY owner_id, name);
CREATE UNIQUE INDEX content_owner_name ON content (owner_id, name);

-- Each new column carries the rules of 00035 (what PostgreSQL refuses).
ALTER TABLE content ADD COLUMN last_deployed_at TIMESTAMP
    CONSTRAINT last_deployed_at_time CHECK (last_deployed_at IS NULL OR (typeof(last_deployed_at) = 'text' AND last_deployed_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9]*+00:00' AND (length(last_deployed_at) = 25 OR (length(last_deployed_at) BETWEEN 27 AND 35 AND substr(last_deployed_at, 20, 1) = '.' AND substr(last_deployed_at, 21, length(last_deployed_at) - 26) NOT GLOB '*[^0-9]*')) AND substr(last_deployed_at, 1, 4) <> '0000' AND strftime('%Y-%m-%d %H:%M:%S', substr(last_deployed_at, 1, 19)) IS substr(last_deployed_at, 1, 19)));
UPDATE content SET last_deployed_at = updated_at WHERE active_bundle_id IS NOT NULL;

-- The metadata a Connect client sends with a multipart bundle upload
-- (source, source_repo, source_commit, ...), a JSON object.
ALTER TABLE bundles ADD COLUMN metadata TEXT NOT NULL DEFAULT '{}'
    CONSTRAINT metadata_json CHECK (typeof(metadata) IN ('text', 'null') AND json_valid(metadata) AND instr(metadata, '\u0000') = 0 AND metadata NOT GLOB '*\u[dD][89abcdefABCDEF]*');

CREATE TABLE content_env (
    content_id INTEGER NOT NULL REFERENCES content (id) ON DELETE CASCADE
        CONSTRAINT content_id_int8 CHECK (typeof(content_id) IN ('integer', 'null')),
    name       TEXT NOT NULL
        CONSTRAINT name_key CHECK (typeof(name) IN ('text', 'null') AND length(name) BETWEEN 1 AND 255 AND instr(CAST(name AS BLOB), x'00') = 0 AND length(CAST(name AS BLOB)) <= 2048),
    value      BLOB NOT NULL
        CONSTRAINT value_bytea CHECK (typeof(value) IN ('blob', 'null')),
    created_at TIMESTAMP NOT NULL
        CONSTRAINT created_at_time CHECK (created_at IS NULL OR (typeof(created_at) = 'text' AND created_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9]*+00:00' AND (length(created_at) = 25 OR (length(created_at) BETWEEN 27 AND 35 AND substr(created_at, 20, 1) = '.' AND substr(created_at, 21, length(created_at) - 26) NOT GLOB '*[^0-9]*')) AND substr(created_at, 1, 4) <> '0000' AND strftime('%Y-%m-%d %H:%M:%S', substr(created_at, 1, 19)) IS substr(created_at, 1, 19))),
    updated_at TIMESTAMP NOT NULL
        CONSTRAINT updated_at_time CHECK (updated_at IS NULL OR (typeof(updated_at) = 'text' AND updated_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9]*+00:00' AND (length(updated_at) = 25 OR (length(updated_at) BETWEEN 27 AND 35 AND substr(updated_at, 20, 1) = '.' AND substr(updated_at, 21, length(updated_at) - 26) NOT GLOB '*[^0-9]*')) AND substr(updated_at, 1, 4) <> '0000' AND strftime('%Y-%m-%d %H:%M:%S', substr(updated_at, 1, 19)) IS substr(updated_at, 1, 19))),
    PRIMARY KEY (content_id, name)
);

-- content.name is now indexed: PostgreSQL refuses index entries over
-- about 2.7 kB, so names are held to 2048 bytes as 00035 holds every
-- indexed text (a trigger: SQLite adds no CHECK to an existing column
-- without rebuilding the table).
-- +goose StatementBegin
CREATE TRIGGER content_name_key_insert BEFORE INSERT ON content
    WHEN length(CAST(NEW.name AS BLOB)) > 2048
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: name_key');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER content_name_key_update BEFORE UPDATE OF name ON content
    WHEN length(CAST(NEW.name AS BLOB)) > 2048
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: name_key');
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER content_name_key_update;
DROP TRIGGER content_name_key_insert;
DROP TABLE content_env;
ALTER TABLE bundles DROP COLUMN metadata;
ALTER TABLE content DROP COLUMN last_deployed_at;
DROP INDEX content_owner_name;
