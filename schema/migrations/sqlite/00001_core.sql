-- podium:class contract
-- (baseline: the schema rolling upgrades start from; see docs/upgrading.md)
-- +goose Up
-- SQLite has no boolean, timestamptz or jsonb: booleans are INTEGER 0/1,
-- times are UTC text in TIMESTAMP columns (modernc parses them back into
-- time.Time by the declared type), JSON is TEXT. "podium migrate db"
-- converts each by the PostgreSQL column's type.
CREATE TABLE nodes (
    id             TEXT PRIMARY KEY,
    hostname       TEXT NOT NULL,
    pid            INTEGER NOT NULL,
    version        TEXT NOT NULL,
    schema_version INTEGER NOT NULL,
    listen         TEXT NOT NULL DEFAULT '',
    provider       TEXT NOT NULL,
    ha_enabled     BOOLEAN NOT NULL DEFAULT 0,
    status         TEXT NOT NULL DEFAULT 'starting',
    started_at     TIMESTAMP NOT NULL,
    heartbeat_at   TIMESTAMP NOT NULL,
    stopped_at     TIMESTAMP,
    clock_offset_ms INTEGER NOT NULL DEFAULT 0,
    info           TEXT NOT NULL DEFAULT '{}'
);

CREATE TABLE settings (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- No schema notification trigger: SQLite has no LISTEN/NOTIFY; the watcher
-- polls (and a SQLite database serves one node anyway).

-- +goose Down
DROP TABLE settings;
DROP TABLE nodes;
