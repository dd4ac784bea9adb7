-- podium:class expand
-- +goose Up
-- Test-only migration of the rolling-upgrade test's binary N (build tags
-- podium_rolling_n and podium_rolling): a table the test's code of version
-- N writes and reads, legacy_flag included. Version N+1 drops legacy_flag
-- (00098, contract) and adds author (00097, expand).
CREATE TABLE rolling_notes (
    id          INTEGER PRIMARY KEY,
    body        TEXT NOT NULL,
    legacy_flag INTEGER NOT NULL DEFAULT 0 CHECK (legacy_flag IN (0, 1))
);

-- +goose Down
DROP TABLE rolling_notes;
