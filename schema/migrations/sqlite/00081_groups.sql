-- podium:class expand
-- +goose Up
-- Sign-in by external providers and groups (issue 26, docs/accounts.md):
-- users get a display name and an email, which providers send; each
-- external identity (provider, the provider's unique id) points at the
-- user it signed in, so a renamed username keeps its user and content;
-- groups are local (provider '') or come from a provider and are
-- synchronised at each sign-in; content access lists grant groups as they
-- grant users. New columns with defaults and new tables only: older nodes
-- keep working (they ignore groups). Same columns and indexes as the
-- PostgreSQL folder; each column carries the rules of 00035.
ALTER TABLE users ADD COLUMN name TEXT NOT NULL DEFAULT ''
    CONSTRAINT name_text CHECK (typeof(name) IN ('text', 'null') AND instr(CAST(name AS BLOB), x'00') = 0);
ALTER TABLE users ADD COLUMN email TEXT NOT NULL DEFAULT ''
    CONSTRAINT email_text CHECK (typeof(email) IN ('text', 'null') AND instr(CAST(email AS BLOB), x'00') = 0);

CREATE TABLE user_identities (
    provider   TEXT NOT NULL CHECK (length(provider) BETWEEN 1 AND 64)
        CONSTRAINT provider_key CHECK (typeof(provider) IN ('text', 'null') AND instr(CAST(provider AS BLOB), x'00') = 0 AND length(CAST(provider AS BLOB)) <= 2048),
    unique_id  TEXT NOT NULL CHECK (length(unique_id) BETWEEN 1 AND 1024)
        CONSTRAINT unique_id_key CHECK (typeof(unique_id) IN ('text', 'null') AND instr(CAST(unique_id AS BLOB), x'00') = 0 AND length(CAST(unique_id AS BLOB)) <= 2048),
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE
        CONSTRAINT user_id_int8 CHECK (typeof(user_id) IN ('integer', 'null')),
    created_at TIMESTAMP NOT NULL
        CONSTRAINT created_at_time CHECK (created_at IS NULL OR (typeof(created_at) = 'text' AND created_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9]*+00:00' AND (length(created_at) = 25 OR (length(created_at) BETWEEN 27 AND 35 AND substr(created_at, 20, 1) = '.' AND substr(created_at, 21, length(created_at) - 26) NOT GLOB '*[^0-9]*')) AND substr(created_at, 1, 4) <> '0000' AND strftime('%Y-%m-%d %H:%M:%S', substr(created_at, 1, 19)) IS substr(created_at, 1, 19))),
    PRIMARY KEY (provider, unique_id)
);
CREATE INDEX user_identities_user ON user_identities (user_id);

CREATE TABLE groups (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 255)
        CONSTRAINT name_key CHECK (typeof(name) IN ('text', 'null') AND instr(CAST(name AS BLOB), x'00') = 0 AND length(CAST(name AS BLOB)) <= 2048),
    provider   TEXT NOT NULL DEFAULT '' CHECK (length(provider) <= 64)
        CONSTRAINT provider_key CHECK (typeof(provider) IN ('text', 'null') AND instr(CAST(provider AS BLOB), x'00') = 0 AND length(CAST(provider AS BLOB)) <= 2048),
    created_at TIMESTAMP NOT NULL
        CONSTRAINT created_at_time CHECK (created_at IS NULL OR (typeof(created_at) = 'text' AND created_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9]*+00:00' AND (length(created_at) = 25 OR (length(created_at) BETWEEN 27 AND 35 AND substr(created_at, 20, 1) = '.' AND substr(created_at, 21, length(created_at) - 26) NOT GLOB '*[^0-9]*')) AND substr(created_at, 1, 4) <> '0000' AND strftime('%Y-%m-%d %H:%M:%S', substr(created_at, 1, 19)) IS substr(created_at, 1, 19))),
    updated_at TIMESTAMP NOT NULL
        CONSTRAINT updated_at_time CHECK (updated_at IS NULL OR (typeof(updated_at) = 'text' AND updated_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9]*+00:00' AND (length(updated_at) = 25 OR (length(updated_at) BETWEEN 27 AND 35 AND substr(updated_at, 20, 1) = '.' AND substr(updated_at, 21, length(updated_at) - 26) NOT GLOB '*[^0-9]*')) AND substr(updated_at, 1, 4) <> '0000' AND strftime('%Y-%m-%d %H:%M:%S', substr(updated_at, 1, 19)) IS substr(updated_at, 1, 19))),
    UNIQUE (provider, name)
);

CREATE TABLE group_members (
    group_id   INTEGER NOT NULL REFERENCES groups (id) ON DELETE CASCADE
        CONSTRAINT group_id_int8 CHECK (typeof(group_id) IN ('integer', 'null')),
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE
        CONSTRAINT user_id_int8 CHECK (typeof(user_id) IN ('integer', 'null')),
    created_at TIMESTAMP NOT NULL
        CONSTRAINT created_at_time CHECK (created_at IS NULL OR (typeof(created_at) = 'text' AND created_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9]*+00:00' AND (length(created_at) = 25 OR (length(created_at) BETWEEN 27 AND 35 AND substr(created_at, 20, 1) = '.' AND substr(created_at, 21, length(created_at) - 26) NOT GLOB '*[^0-9]*')) AND substr(created_at, 1, 4) <> '0000' AND strftime('%Y-%m-%d %H:%M:%S', substr(created_at, 1, 19)) IS substr(created_at, 1, 19))),
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_members_user ON group_members (user_id);

CREATE TABLE content_group_acl (
    content_id INTEGER NOT NULL REFERENCES content (id) ON DELETE CASCADE
        CONSTRAINT content_id_int8 CHECK (typeof(content_id) IN ('integer', 'null')),
    group_id   INTEGER NOT NULL REFERENCES groups (id) ON DELETE CASCADE
        CONSTRAINT group_id_int8 CHECK (typeof(group_id) IN ('integer', 'null')),
    role       TEXT NOT NULL DEFAULT 'viewer' CHECK (role IN ('viewer', 'collaborator'))
        CONSTRAINT role_text CHECK (typeof(role) IN ('text', 'null') AND instr(CAST(role AS BLOB), x'00') = 0),
    PRIMARY KEY (content_id, group_id)
);
CREATE INDEX content_group_acl_group ON content_group_acl (group_id);

-- +goose Down
DROP TABLE content_group_acl;
DROP TABLE group_members;
DROP TABLE groups;
DROP TABLE user_identities;
ALTER TABLE users DROP COLUMN email;
ALTER TABLE users DROP COLUMN name;
