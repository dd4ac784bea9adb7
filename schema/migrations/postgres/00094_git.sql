-- podium:class expand
-- +goose Up
-- +goose NO TRANSACTION
-- Git-backed content (docs/publishing.md, "Git-backed content"): the
-- repository, branch and directory a content item follows, with what its
-- poller last saw. last_known_commit is the commit whose bundle was made
-- (bundle_id): the poller moves it from the old value to the new one in the
-- transaction that records the bundle (compare and set), so each commit
-- becomes one bundle even while two nodes poll. git_credentials holds one
-- user name and secret per repository host, the secret encrypted like the
-- environment values of content. Same tables as the SQLite folder. New
-- tables only: each statement commits alone (NO TRANSACTION) and can run
-- again (IF NOT EXISTS); the reference locks content for an instant.
CREATE TABLE IF NOT EXISTS content_repositories (
    content_id        bigint PRIMARY KEY REFERENCES content (id) ON DELETE CASCADE,
    repository        text NOT NULL CHECK (length(repository) BETWEEN 1 AND 2048),
    branch            text NOT NULL CHECK (length(branch) BETWEEN 1 AND 255),
    directory         text NOT NULL CHECK (length(directory) BETWEEN 1 AND 1024),
    polling           boolean NOT NULL,
    last_known_commit text NOT NULL DEFAULT '',
    bundle_id         bigint,
    last_error        text NOT NULL DEFAULT '',
    last_fetched_at   timestamptz,
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL
);

CREATE TABLE IF NOT EXISTS git_credentials (
    host       text PRIMARY KEY CHECK (length(host) BETWEEN 1 AND 255),
    username   text NOT NULL,
    secret     bytea NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);

-- +goose Down
DROP TABLE IF EXISTS git_credentials;
DROP TABLE IF EXISTS content_repositories;
