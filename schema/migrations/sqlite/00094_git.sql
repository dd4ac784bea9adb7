-- podium:class expand
-- +goose Up
-- Git-backed content (docs/publishing.md, "Git-backed content"): the
-- repository, branch and directory a content item follows, with what its
-- poller last saw. last_known_commit is the commit whose bundle was made
-- (bundle_id): the poller moves it from the old value to the new one in the
-- transaction that records the bundle (compare and set), so each commit
-- becomes one bundle even while two nodes poll. git_credentials holds one
-- user name and secret per repository host, the secret encrypted like the
-- environment values of content. Same tables as the PostgreSQL folder, with
-- the rules of 00035.
CREATE TABLE content_repositories (
    content_id        INTEGER PRIMARY KEY REFERENCES content (id) ON DELETE CASCADE
        CONSTRAINT content_id_int8 CHECK (typeof(content_id) IN ('integer', 'null')),
    repository        TEXT NOT NULL CHECK (length(repository) BETWEEN 1 AND 2048)
        CONSTRAINT repository_text CHECK (typeof(repository) IN ('text', 'null') AND instr(CAST(repository AS BLOB), x'00') = 0),
    branch            TEXT NOT NULL CHECK (length(branch) BETWEEN 1 AND 255)
        CONSTRAINT branch_text CHECK (typeof(branch) IN ('text', 'null') AND instr(CAST(branch AS BLOB), x'00') = 0),
    directory         TEXT NOT NULL CHECK (length(directory) BETWEEN 1 AND 1024)
        CONSTRAINT directory_text CHECK (typeof(directory) IN ('text', 'null') AND instr(CAST(directory AS BLOB), x'00') = 0),
    polling           BOOLEAN NOT NULL
        CONSTRAINT polling_bool CHECK (polling IN (0, 1)),
    last_known_commit TEXT NOT NULL DEFAULT ''
        CONSTRAINT last_known_commit_text CHECK (typeof(last_known_commit) IN ('text', 'null') AND instr(CAST(last_known_commit AS BLOB), x'00') = 0),
    bundle_id         INTEGER
        CONSTRAINT bundle_id_int8 CHECK (typeof(bundle_id) IN ('integer', 'null')),
    last_error        TEXT NOT NULL DEFAULT ''
        CONSTRAINT last_error_text CHECK (typeof(last_error) IN ('text', 'null') AND instr(CAST(last_error AS BLOB), x'00') = 0),
    last_fetched_at   TIMESTAMP
        CONSTRAINT last_fetched_at_time CHECK (last_fetched_at IS NULL OR (typeof(last_fetched_at) = 'text' AND last_fetched_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9]*+00:00' AND (length(last_fetched_at) = 25 OR (length(last_fetched_at) BETWEEN 27 AND 35 AND substr(last_fetched_at, 20, 1) = '.' AND substr(last_fetched_at, 21, length(last_fetched_at) - 26) NOT GLOB '*[^0-9]*')) AND substr(last_fetched_at, 1, 4) <> '0000' AND strftime('%Y-%m-%d %H:%M:%S', substr(last_fetched_at, 1, 19)) IS substr(last_fetched_at, 1, 19))),
    created_at        TIMESTAMP NOT NULL
        CONSTRAINT created_at_time CHECK (created_at IS NULL OR (typeof(created_at) = 'text' AND created_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9]*+00:00' AND (length(created_at) = 25 OR (length(created_at) BETWEEN 27 AND 35 AND substr(created_at, 20, 1) = '.' AND substr(created_at, 21, length(created_at) - 26) NOT GLOB '*[^0-9]*')) AND substr(created_at, 1, 4) <> '0000' AND strftime('%Y-%m-%d %H:%M:%S', substr(created_at, 1, 19)) IS substr(created_at, 1, 19))),
    updated_at        TIMESTAMP NOT NULL
        CONSTRAINT updated_at_time CHECK (updated_at IS NULL OR (typeof(updated_at) = 'text' AND updated_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9]*+00:00' AND (length(updated_at) = 25 OR (length(updated_at) BETWEEN 27 AND 35 AND substr(updated_at, 20, 1) = '.' AND substr(updated_at, 21, length(updated_at) - 26) NOT GLOB '*[^0-9]*')) AND substr(updated_at, 1, 4) <> '0000' AND strftime('%Y-%m-%d %H:%M:%S', substr(updated_at, 1, 19)) IS substr(updated_at, 1, 19)))
);

CREATE TABLE git_credentials (
    host       TEXT NOT NULL PRIMARY KEY CHECK (length(host) BETWEEN 1 AND 255)
        CONSTRAINT host_key CHECK (typeof(host) IN ('text', 'null') AND instr(CAST(host AS BLOB), x'00') = 0 AND length(CAST(host AS BLOB)) <= 2048),
    username   TEXT NOT NULL
        CONSTRAINT username_text CHECK (typeof(username) IN ('text', 'null') AND instr(CAST(username AS BLOB), x'00') = 0),
    secret     BLOB NOT NULL
        CONSTRAINT secret_bytea CHECK (typeof(secret) IN ('blob', 'null')),
    created_at TIMESTAMP NOT NULL
        CONSTRAINT created_at_time CHECK (created_at IS NULL OR (typeof(created_at) = 'text' AND created_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9]*+00:00' AND (length(created_at) = 25 OR (length(created_at) BETWEEN 27 AND 35 AND substr(created_at, 20, 1) = '.' AND substr(created_at, 21, length(created_at) - 26) NOT GLOB '*[^0-9]*')) AND substr(created_at, 1, 4) <> '0000' AND strftime('%Y-%m-%d %H:%M:%S', substr(created_at, 1, 19)) IS substr(created_at, 1, 19))),
    updated_at TIMESTAMP NOT NULL
        CONSTRAINT updated_at_time CHECK (updated_at IS NULL OR (typeof(updated_at) = 'text' AND updated_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9]*+00:00' AND (length(updated_at) = 25 OR (length(updated_at) BETWEEN 27 AND 35 AND substr(updated_at, 20, 1) = '.' AND substr(updated_at, 21, length(updated_at) - 26) NOT GLOB '*[^0-9]*')) AND substr(updated_at, 1, 4) <> '0000' AND strftime('%Y-%m-%d %H:%M:%S', substr(updated_at, 1, 19)) IS substr(updated_at, 1, 19)))
);

-- +goose Down
DROP TABLE git_credentials;
DROP TABLE content_repositories;
