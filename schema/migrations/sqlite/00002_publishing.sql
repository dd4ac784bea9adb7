-- podium:class contract
-- (baseline: the schema rolling upgrades start from; see docs/upgrading.md)
-- +goose Up
-- Accounts, content, bundles, tasks, renders, schedules and jobs: the
-- publishing domain. Same tables and columns as the PostgreSQL folder;
-- INTEGER PRIMARY KEY is SQLite's rowid alias (no AUTOINCREMENT, so no
-- sqlite_sequence table), BOOLEAN is 0/1, TIMESTAMP is UTC text, BLOB is
-- bytea's counterpart and TEXT holds the JSON that PostgreSQL keeps in jsonb.
CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'publisher', 'viewer')),
    password_hash TEXT NOT NULL DEFAULT '',
    locked        BOOLEAN NOT NULL DEFAULT 0,
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL
);

CREATE TABLE api_keys (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    key_hash     BLOB NOT NULL UNIQUE,
    prefix       TEXT NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP,
    revoked_at   TIMESTAMP
);

CREATE TABLE sessions (
    id_hash    BLOB PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);

-- Failed logins per account ("user:NAME") and per address ("ip:ADDR").
CREATE TABLE login_attempts (
    key          TEXT PRIMARY KEY,
    failures     INTEGER NOT NULL DEFAULT 0,
    last_at      TIMESTAMP NOT NULL,
    locked_until TIMESTAMP
);

CREATE TABLE content (
    id               INTEGER PRIMARY KEY,
    guid             TEXT NOT NULL UNIQUE,
    name             TEXT NOT NULL,
    title            TEXT NOT NULL DEFAULT '',
    description      TEXT NOT NULL DEFAULT '',
    owner_id         INTEGER NOT NULL REFERENCES users (id),
    appmode          TEXT NOT NULL DEFAULT '',
    access_type      TEXT NOT NULL DEFAULT 'acl' CHECK (access_type IN ('acl', 'logged_in', 'all')),
    active_bundle_id INTEGER,
    settings         TEXT NOT NULL DEFAULT '{}',
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL
);

CREATE TABLE content_acl (
    content_id INTEGER NOT NULL REFERENCES content (id) ON DELETE CASCADE,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role       TEXT NOT NULL DEFAULT 'viewer' CHECK (role IN ('viewer', 'collaborator')),
    PRIMARY KEY (content_id, user_id)
);

CREATE TABLE bundles (
    id         INTEGER PRIMARY KEY,
    content_id INTEGER NOT NULL REFERENCES content (id) ON DELETE CASCADE,
    size       INTEGER NOT NULL,
    sha256     BLOB NOT NULL,
    manifest   TEXT NOT NULL DEFAULT '{}',
    created_by INTEGER REFERENCES users (id),
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE tasks (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    content_id  INTEGER REFERENCES content (id) ON DELETE CASCADE,
    user_id     INTEGER REFERENCES users (id),
    node_id     TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    finished    BOOLEAN NOT NULL DEFAULT 0,
    code        INTEGER NOT NULL DEFAULT 0,
    error       TEXT NOT NULL DEFAULT '',
    result      TEXT
);

CREATE TABLE task_output (
    task_id TEXT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    line_no INTEGER NOT NULL,
    at      TIMESTAMP NOT NULL,
    line    TEXT NOT NULL,
    PRIMARY KEY (task_id, line_no)
);

CREATE TABLE renders (
    id          INTEGER PRIMARY KEY,
    content_id  INTEGER NOT NULL REFERENCES content (id) ON DELETE CASCADE,
    bundle_id   INTEGER NOT NULL REFERENCES bundles (id) ON DELETE CASCADE,
    task_id     TEXT,
    job_id      INTEGER,
    node_id     TEXT NOT NULL,
    status      TEXT NOT NULL,
    started_at  TIMESTAMP NOT NULL,
    finished_at TIMESTAMP
);

CREATE TABLE schedules (
    content_id  INTEGER PRIMARY KEY REFERENCES content (id) ON DELETE CASCADE,
    spec        TEXT NOT NULL,
    timezone    TEXT NOT NULL DEFAULT 'UTC',
    enabled     BOOLEAN NOT NULL DEFAULT 1,
    next_run_at TIMESTAMP,
    updated_at  TIMESTAMP NOT NULL
);

-- One row per due time of a schedule: the unique key makes "exactly one job
-- per due time" a fact of the database, whichever nodes notice it.
CREATE TABLE jobs (
    id           INTEGER PRIMARY KEY,
    content_id   INTEGER NOT NULL REFERENCES content (id) ON DELETE CASCADE,
    queue        TEXT NOT NULL DEFAULT 'render',
    due_at       TIMESTAMP NOT NULL,
    status       TEXT NOT NULL DEFAULT 'queued',
    attempts     INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL DEFAULT 3,
    claim_token  TEXT,
    node_id      TEXT,
    heartbeat_at TIMESTAMP,
    created_at   TIMESTAMP NOT NULL,
    started_at   TIMESTAMP,
    finished_at  TIMESTAMP,
    exit_code    INTEGER,
    error        TEXT NOT NULL DEFAULT '',
    UNIQUE (content_id, due_at)
);
CREATE INDEX jobs_status_due ON jobs (status, due_at);

CREATE TABLE job_attempts (
    id           INTEGER PRIMARY KEY,
    job_id       INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    attempt      INTEGER NOT NULL,
    node_id      TEXT NOT NULL,
    claim_token  TEXT NOT NULL,
    status       TEXT NOT NULL,
    started_at   TIMESTAMP NOT NULL,
    heartbeat_at TIMESTAMP NOT NULL,
    finished_at  TIMESTAMP,
    exit_code    INTEGER,
    error        TEXT NOT NULL DEFAULT '',
    log          TEXT NOT NULL DEFAULT ''
);

CREATE TABLE audit_log (
    id      INTEGER PRIMARY KEY,
    at      TIMESTAMP NOT NULL,
    user_id INTEGER REFERENCES users (id) ON DELETE SET NULL,
    node_id TEXT NOT NULL DEFAULT '',
    action  TEXT NOT NULL,
    object  TEXT NOT NULL DEFAULT '',
    detail  TEXT NOT NULL DEFAULT '{}'
);

-- +goose Down
DROP TABLE audit_log;
DROP TABLE job_attempts;
DROP TABLE jobs;
DROP TABLE schedules;
DROP TABLE renders;
DROP TABLE task_output;
DROP TABLE tasks;
DROP TABLE bundles;
DROP TABLE content_acl;
DROP TABLE content;
DROP TABLE login_attempts;
DROP TABLE sessions;
DROP TABLE api_keys;
DROP TABLE users;
