-- podium:class expand
-- +goose Up
-- Usage (docs/usage.md): the visits of content and the sessions of apps,
-- written in batches by the node's recorder (package usage) and read by
-- Connect's instrumentation API and the dashboard. No foreign keys: a
-- batch must not fail because a content item or user was deleted
-- meanwhile, and the history outlives them. Each column carries the rules
-- of 00035 (what PostgreSQL refuses). Same columns and indexes as the
-- PostgreSQL folder.
CREATE TABLE usage_visits (
    id           INTEGER PRIMARY KEY,
    at           TIMESTAMP NOT NULL
        CONSTRAINT at_time CHECK (at IS NULL OR (typeof(at) = 'text' AND at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9]*+00:00' AND (length(at) = 25 OR (length(at) BETWEEN 27 AND 35 AND substr(at, 20, 1) = '.' AND substr(at, 21, length(at) - 26) NOT GLOB '*[^0-9]*')) AND substr(at, 1, 4) <> '0000' AND strftime('%Y-%m-%d %H:%M:%S', substr(at, 1, 19)) IS substr(at, 1, 19))),
    content_id   INTEGER NOT NULL
        CONSTRAINT content_id_int8 CHECK (typeof(content_id) IN ('integer', 'null')),
    content_guid TEXT NOT NULL
        CONSTRAINT content_guid_text CHECK (typeof(content_guid) IN ('text', 'null') AND instr(CAST(content_guid AS BLOB), x'00') = 0),
    bundle_id    INTEGER
        CONSTRAINT bundle_id_int8 CHECK (typeof(bundle_id) IN ('integer', 'null')),
    user_id      INTEGER
        CONSTRAINT user_id_int8 CHECK (typeof(user_id) IN ('integer', 'null')),
    node_id      TEXT NOT NULL DEFAULT ''
        CONSTRAINT node_id_text CHECK (typeof(node_id) IN ('text', 'null') AND instr(CAST(node_id AS BLOB), x'00') = 0),
    path         TEXT NOT NULL DEFAULT ''
        CONSTRAINT path_text CHECK (typeof(path) IN ('text', 'null') AND instr(CAST(path AS BLOB), x'00') = 0)
);
CREATE TABLE usage_sessions (
    id           INTEGER PRIMARY KEY,
    started_at   TIMESTAMP NOT NULL
        CONSTRAINT started_at_time CHECK (started_at IS NULL OR (typeof(started_at) = 'text' AND started_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9]*+00:00' AND (length(started_at) = 25 OR (length(started_at) BETWEEN 27 AND 35 AND substr(started_at, 20, 1) = '.' AND substr(started_at, 21, length(started_at) - 26) NOT GLOB '*[^0-9]*')) AND substr(started_at, 1, 4) <> '0000' AND strftime('%Y-%m-%d %H:%M:%S', substr(started_at, 1, 19)) IS substr(started_at, 1, 19))),
    ended_at     TIMESTAMP NOT NULL
        CONSTRAINT ended_at_time CHECK (ended_at IS NULL OR (typeof(ended_at) = 'text' AND ended_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9]*+00:00' AND (length(ended_at) = 25 OR (length(ended_at) BETWEEN 27 AND 35 AND substr(ended_at, 20, 1) = '.' AND substr(ended_at, 21, length(ended_at) - 26) NOT GLOB '*[^0-9]*')) AND substr(ended_at, 1, 4) <> '0000' AND strftime('%Y-%m-%d %H:%M:%S', substr(ended_at, 1, 19)) IS substr(ended_at, 1, 19))),
    content_id   INTEGER NOT NULL
        CONSTRAINT content_id_int8 CHECK (typeof(content_id) IN ('integer', 'null')),
    content_guid TEXT NOT NULL
        CONSTRAINT content_guid_text CHECK (typeof(content_guid) IN ('text', 'null') AND instr(CAST(content_guid AS BLOB), x'00') = 0),
    bundle_id    INTEGER
        CONSTRAINT bundle_id_int8 CHECK (typeof(bundle_id) IN ('integer', 'null')),
    user_id      INTEGER
        CONSTRAINT user_id_int8 CHECK (typeof(user_id) IN ('integer', 'null')),
    node_id      TEXT NOT NULL DEFAULT ''
        CONSTRAINT node_id_text CHECK (typeof(node_id) IN ('text', 'null') AND instr(CAST(node_id AS BLOB), x'00') = 0)
);
CREATE INDEX usage_visits_at ON usage_visits (at, id);
CREATE INDEX usage_visits_content_at ON usage_visits (content_id, at);
CREATE INDEX usage_sessions_started ON usage_sessions (started_at, id);
CREATE INDEX usage_sessions_ended ON usage_sessions (ended_at);
CREATE INDEX usage_sessions_content_started ON usage_sessions (content_id, started_at);

-- +goose Down
DROP TABLE usage_sessions;
DROP TABLE usage_visits;
