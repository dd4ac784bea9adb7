-- podium:class contract
-- (baseline: the schema rolling upgrades start from; see docs/upgrading.md)
-- +goose Up
-- The node registry: every running node upserts its row at start and
-- heartbeats it using the database clock (now()), never its own.
CREATE TABLE nodes (
    id             text PRIMARY KEY,
    hostname       text NOT NULL,
    pid            integer NOT NULL,
    version        text NOT NULL,
    schema_version bigint NOT NULL,
    listen         text NOT NULL DEFAULT '',
    provider       text NOT NULL,
    ha_enabled     boolean NOT NULL DEFAULT false,
    status         text NOT NULL DEFAULT 'starting',
    started_at     timestamptz NOT NULL,
    heartbeat_at   timestamptz NOT NULL,
    stopped_at     timestamptz,
    clock_offset_ms bigint NOT NULL DEFAULT 0,
    info           jsonb NOT NULL DEFAULT '{}'
);

CREATE TABLE settings (
    key        text PRIMARY KEY,
    value      text NOT NULL,
    updated_at timestamptz NOT NULL
);

-- Wake every listening node as soon as a migration commits: goose inserts
-- one row per applied migration, inside that migration's transaction, so
-- the notification is delivered at its commit. Polling stays the fallback.
-- +goose StatementBegin
CREATE FUNCTION podium_schema_notify() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('podium_schema', NEW.version_id::text);
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
-- +goose StatementEnd

CREATE TRIGGER goose_db_version_notify AFTER INSERT ON goose_db_version
    FOR EACH ROW EXECUTE FUNCTION podium_schema_notify();

-- +goose Down
DROP TRIGGER goose_db_version_notify ON goose_db_version;
DROP FUNCTION podium_schema_notify();
DROP TABLE settings;
DROP TABLE nodes;
