-- podium:class contract
-- +goose Up
-- Test-only migration of the rolling-upgrade test's binary N+1 (build tag
-- podium_rolling): drops the column that N writes, so N cannot work after
-- it. Deferred while N nodes are live; applied by "migrate schema finalize".
ALTER TABLE rolling_notes DROP COLUMN legacy_flag;

-- +goose Down
ALTER TABLE rolling_notes ADD COLUMN legacy_flag INTEGER NOT NULL DEFAULT 0 CHECK (legacy_flag IN (0, 1));
