-- podium:class expand
-- +goose Up
-- Test-only migration of the rolling-upgrade test's binary N+1 (build tag
-- podium_rolling): a nullable column that N+1 writes and reads and N never
-- names, so N keeps working once it is applied.
ALTER TABLE rolling_notes ADD COLUMN author TEXT;

-- +goose Down
ALTER TABLE rolling_notes DROP COLUMN author;
