-- podium:class contract
-- +goose Up
-- Test-only migration, embedded by the build tag podium_nplus1_broken: an
-- N+1 migration that fails half-way (its first statement works, its second
-- names a table that does not exist), so tests can check that a failed
-- rehearsal, or a failed "migrate schema up", leaves the database at N.
CREATE TABLE upgrade_rehearsal (
    id   INTEGER PRIMARY KEY,
    note TEXT NOT NULL DEFAULT ''
);
INSERT INTO no_such_table_nplus1 (id) VALUES (1);

-- +goose Down
DROP TABLE upgrade_rehearsal;
