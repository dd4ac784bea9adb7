-- podium:class contract
-- +goose Up
-- Test-only migration, embedded by the build tag podium_nplus1: the binary
-- of the upgrade rehearsal (schema N+1). It is additive, as a real Podium
-- migration must be while old nodes still run: old code never names what it
-- adds. ALTER TABLE takes a strong lock on settings for a moment, which is
-- what "migrate schema rehearse" measures and bounds with lock_timeout.
CREATE TABLE upgrade_rehearsal (
    id   INTEGER PRIMARY KEY,
    note TEXT NOT NULL DEFAULT ''
);
ALTER TABLE settings ADD COLUMN rehearsal_note TEXT;

-- +goose Down
ALTER TABLE settings DROP COLUMN rehearsal_note;
DROP TABLE upgrade_rehearsal;
