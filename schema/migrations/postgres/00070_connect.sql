-- podium:class contract
-- (a unique index on content names that older nodes could violate)
-- +goose Up
-- The Connect-compatible API (docs/publishing.md): content names unique per
-- owner as Connect has them, the time of the last activation clients read
-- as last_deployed_time, and the environment variables of content, whose
-- values are kept encrypted (AES-GCM, publish/envvars.go). Same columns and
-- indexes as the SQLite folder.

-- Older nodes allowed one owner two content items of the same name: keep
-- the oldest one's name and give the others a suffix so the index holds.
UPDATE content SET name = name || '-' || id
WHERE id NOT IN (SELECT min(id) FROM content GROUP BY owner_id, name);
CREATE UNIQUE INDEX content_owner_name ON content (owner_id, name);

ALTER TABLE content ADD COLUMN last_deployed_at timestamptz;
UPDATE content SET last_deployed_at = updated_at WHERE active_bundle_id IS NOT NULL;

-- The metadata a Connect client sends with a multipart bundle upload
-- (source, source_repo, source_commit, ...), a JSON object.
ALTER TABLE bundles ADD COLUMN metadata jsonb NOT NULL DEFAULT '{}';

CREATE TABLE content_env (
    content_id bigint NOT NULL REFERENCES content (id) ON DELETE CASCADE,
    name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 255),
    value      bytea NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (content_id, name)
);

-- +goose Down
DROP TABLE content_env;
ALTER TABLE bundles DROP COLUMN metadata;
ALTER TABLE content DROP COLUMN last_deployed_at;
DROP INDEX content_owner_name;
