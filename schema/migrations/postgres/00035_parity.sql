-- podium:class contract
-- (as in SQLite, where it rebuilds tables; here it changes nothing, and is
-- applied at finalize like any contract migration)
-- +goose Up
-- Parity with SQLite (see the SQLite 00035): the SQLite schema now refuses
-- every value PostgreSQL would refuse. PostgreSQL itself needs no change:
-- every integer column's domain fits its declared width (process ids,
-- attempt counts, line numbers, exit codes and concurrency are 32-bit
-- integers; ids, sizes and offsets are already bigint). This migration
-- keeps the version numbers of the two dialects in step.
SELECT 1;

-- +goose Down
SELECT 1;
