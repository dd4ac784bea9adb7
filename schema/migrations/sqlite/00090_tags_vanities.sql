-- podium:class expand
-- +goose Up
-- Tags and vanity URLs, as Posit Connect has them (docs/publishing.md,
-- "Tags" and "Vanity URLs"). A tag tree: each tag has a name unique among
-- its siblings (parent_key is the parent's id, 0 at the root, so that one
-- UNIQUE constraint covers the root too, where parent_id is NULL); deleting
-- a tag deletes its descendants and untags the content. A vanity is one
-- path per content item, unique; the node checks the other rules (no
-- prefix of another vanity, none of Podium's own paths) before it writes.
-- Same tables as the PostgreSQL folder, with the rules of 00035.
CREATE TABLE tags (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 255)
        CONSTRAINT name_key CHECK (typeof(name) IN ('text', 'null') AND instr(CAST(name AS BLOB), x'00') = 0 AND length(CAST(name AS BLOB)) <= 2048),
    parent_id  INTEGER REFERENCES tags (id) ON DELETE CASCADE
        CONSTRAINT parent_id_int8 CHECK (typeof(parent_id) IN ('integer', 'null')),
    parent_key INTEGER NOT NULL DEFAULT 0
        CONSTRAINT parent_key_int8 CHECK (typeof(parent_key) IN ('integer', 'null')),
    created_at TIMESTAMP NOT NULL
        CONSTRAINT created_at_time CHECK (created_at IS NULL OR (typeof(created_at) = 'text' AND created_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9]*+00:00' AND (length(created_at) = 25 OR (length(created_at) BETWEEN 27 AND 35 AND substr(created_at, 20, 1) = '.' AND substr(created_at, 21, length(created_at) - 26) NOT GLOB '*[^0-9]*')) AND substr(created_at, 1, 4) <> '0000' AND strftime('%Y-%m-%d %H:%M:%S', substr(created_at, 1, 19)) IS substr(created_at, 1, 19))),
    updated_at TIMESTAMP NOT NULL
        CONSTRAINT updated_at_time CHECK (updated_at IS NULL OR (typeof(updated_at) = 'text' AND updated_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9]*+00:00' AND (length(updated_at) = 25 OR (length(updated_at) BETWEEN 27 AND 35 AND substr(updated_at, 20, 1) = '.' AND substr(updated_at, 21, length(updated_at) - 26) NOT GLOB '*[^0-9]*')) AND substr(updated_at, 1, 4) <> '0000' AND strftime('%Y-%m-%d %H:%M:%S', substr(updated_at, 1, 19)) IS substr(updated_at, 1, 19))),
    UNIQUE (parent_key, name)
);
CREATE INDEX tags_parent ON tags (parent_id);

CREATE TABLE content_tags (
    content_id INTEGER NOT NULL REFERENCES content (id) ON DELETE CASCADE
        CONSTRAINT content_id_int8 CHECK (typeof(content_id) IN ('integer', 'null')),
    tag_id     INTEGER NOT NULL REFERENCES tags (id) ON DELETE CASCADE
        CONSTRAINT tag_id_int8 CHECK (typeof(tag_id) IN ('integer', 'null')),
    created_at TIMESTAMP NOT NULL
        CONSTRAINT created_at_time CHECK (created_at IS NULL OR (typeof(created_at) = 'text' AND created_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9]*+00:00' AND (length(created_at) = 25 OR (length(created_at) BETWEEN 27 AND 35 AND substr(created_at, 20, 1) = '.' AND substr(created_at, 21, length(created_at) - 26) NOT GLOB '*[^0-9]*')) AND substr(created_at, 1, 4) <> '0000' AND strftime('%Y-%m-%d %H:%M:%S', substr(created_at, 1, 19)) IS substr(created_at, 1, 19))),
    PRIMARY KEY (content_id, tag_id)
);
CREATE INDEX content_tags_tag ON content_tags (tag_id);

CREATE TABLE vanities (
    content_id INTEGER PRIMARY KEY REFERENCES content (id) ON DELETE CASCADE
        CONSTRAINT content_id_int8 CHECK (typeof(content_id) IN ('integer', 'null')),
    path       TEXT NOT NULL UNIQUE CHECK (length(path) BETWEEN 1 AND 2048)
        CONSTRAINT path_key CHECK (typeof(path) IN ('text', 'null') AND instr(CAST(path AS BLOB), x'00') = 0 AND length(CAST(path AS BLOB)) <= 2048),
    created_at TIMESTAMP NOT NULL
        CONSTRAINT created_at_time CHECK (created_at IS NULL OR (typeof(created_at) = 'text' AND created_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9]*+00:00' AND (length(created_at) = 25 OR (length(created_at) BETWEEN 27 AND 35 AND substr(created_at, 20, 1) = '.' AND substr(created_at, 21, length(created_at) - 26) NOT GLOB '*[^0-9]*')) AND substr(created_at, 1, 4) <> '0000' AND strftime('%Y-%m-%d %H:%M:%S', substr(created_at, 1, 19)) IS substr(created_at, 1, 19)))
);

-- +goose Down
DROP TABLE vanities;
DROP TABLE content_tags;
DROP TABLE tags;
