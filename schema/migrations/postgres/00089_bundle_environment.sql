-- podium:class expand
-- +goose Up
-- +goose NO TRANSACTION
-- The runtime versions and the lockfile of the environment a bundle was
-- built in (docs/publishing.md, "Runtime versions and lockfiles"): set by
-- the deployment once the Python environment or the R library is ready,
-- copied to the content item when the bundle is activated, so that content
-- lists read them without a join. Connect's py_version, r_version and
-- quarto_version; lockfile is the requirements.txt.lock of
-- GET /__api__/v1/content/{guid}/lockfile. Same columns as the SQLite folder.
-- Nullable columns without a default: each ALTER takes its table's lock
-- for an instant; NO TRANSACTION and IF NOT EXISTS let a migration that
-- yielded to traffic run again from the top (docs/upgrading.md).
ALTER TABLE bundles ADD COLUMN IF NOT EXISTS py_version text;
ALTER TABLE bundles ADD COLUMN IF NOT EXISTS r_version text;
ALTER TABLE bundles ADD COLUMN IF NOT EXISTS quarto_version text;
ALTER TABLE bundles ADD COLUMN IF NOT EXISTS lockfile text;
ALTER TABLE content ADD COLUMN IF NOT EXISTS py_version text;
ALTER TABLE content ADD COLUMN IF NOT EXISTS r_version text;
ALTER TABLE content ADD COLUMN IF NOT EXISTS quarto_version text;

-- +goose Down
ALTER TABLE content DROP COLUMN IF EXISTS quarto_version;
ALTER TABLE content DROP COLUMN IF EXISTS r_version;
ALTER TABLE content DROP COLUMN IF EXISTS py_version;
ALTER TABLE bundles DROP COLUMN IF EXISTS lockfile;
ALTER TABLE bundles DROP COLUMN IF EXISTS quarto_version;
ALTER TABLE bundles DROP COLUMN IF EXISTS r_version;
ALTER TABLE bundles DROP COLUMN IF EXISTS py_version;
