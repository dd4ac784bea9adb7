-- podium:class expand
-- +goose Up
-- The runtime versions and the lockfile of the environment a bundle was
-- built in (docs/publishing.md, "Runtime versions and lockfiles"): set by
-- the deployment once the Python environment or the R library is ready,
-- copied to the content item when the bundle is activated, so that content
-- lists read them without a join. Connect's py_version, r_version and
-- quarto_version; lockfile is the requirements.txt.lock of
-- GET /__api__/v1/content/{guid}/lockfile. Same columns as the PostgreSQL
-- folder; each carries the rules of 00035 (what PostgreSQL refuses).
ALTER TABLE bundles ADD COLUMN py_version TEXT
    CONSTRAINT py_version_text CHECK (typeof(py_version) IN ('text', 'null') AND instr(CAST(py_version AS BLOB), x'00') = 0);
ALTER TABLE bundles ADD COLUMN r_version TEXT
    CONSTRAINT r_version_text CHECK (typeof(r_version) IN ('text', 'null') AND instr(CAST(r_version AS BLOB), x'00') = 0);
ALTER TABLE bundles ADD COLUMN quarto_version TEXT
    CONSTRAINT quarto_version_text CHECK (typeof(quarto_version) IN ('text', 'null') AND instr(CAST(quarto_version AS BLOB), x'00') = 0);
ALTER TABLE bundles ADD COLUMN lockfile TEXT
    CONSTRAINT lockfile_text CHECK (typeof(lockfile) IN ('text', 'null') AND instr(CAST(lockfile AS BLOB), x'00') = 0);
ALTER TABLE content ADD COLUMN py_version TEXT
    CONSTRAINT py_version_text CHECK (typeof(py_version) IN ('text', 'null') AND instr(CAST(py_version AS BLOB), x'00') = 0);
ALTER TABLE content ADD COLUMN r_version TEXT
    CONSTRAINT r_version_text CHECK (typeof(r_version) IN ('text', 'null') AND instr(CAST(r_version AS BLOB), x'00') = 0);
ALTER TABLE content ADD COLUMN quarto_version TEXT
    CONSTRAINT quarto_version_text CHECK (typeof(quarto_version) IN ('text', 'null') AND instr(CAST(quarto_version AS BLOB), x'00') = 0);

-- +goose Down
ALTER TABLE content DROP COLUMN quarto_version;
ALTER TABLE content DROP COLUMN r_version;
ALTER TABLE content DROP COLUMN py_version;
ALTER TABLE bundles DROP COLUMN lockfile;
ALTER TABLE bundles DROP COLUMN quarto_version;
ALTER TABLE bundles DROP COLUMN r_version;
ALTER TABLE bundles DROP COLUMN py_version;
