-- podium:class contract
-- +goose Up
-- Test-only migration, embedded by the build tag podium_nplus1: the binary
-- of the upgrade rehearsal (schema N+1). Its statements are additive, but it
-- is marked contract (always allowed: the safe side) so that the N+1 nodes
-- defer it beside live N nodes and the tests see those retire when
-- "migrate schema finalize --retire-old" raises the floor. ALTER TABLE takes a strong lock on settings for a moment, which is
-- what "migrate schema rehearse" measures and bounds with lock_timeout.
CREATE TABLE upgrade_rehearsal (
    id   INTEGER PRIMARY KEY,
    note TEXT NOT NULL DEFAULT ''
);
ALTER TABLE settings ADD COLUMN rehearsal_note TEXT;

-- +goose Down
ALTER TABLE settings DROP COLUMN rehearsal_note;
DROP TABLE upgrade_rehearsal;
