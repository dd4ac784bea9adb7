// Package migrate moves a Podium database from its embedded SQLite file to
// PostgreSQL: "podium migrate db".
//
// The copy is driven by the two schemas themselves, not by a list of
// tables: the source tables are read from sqlite_master, the target tables,
// column types, primary keys, foreign keys and identity columns from
// PostgreSQL's catalog, after the target schema has been created from the
// embedded goose migrations. A table added by a future migration is copied
// without any change here.
//
// Safety, in order of the run:
//
//   - the SQLite lock file is held for the whole run, so no node starts on
//     the source meanwhile; the source is opened read-only (a source whose
//     schema is behind the binary is first brought up to date, the only
//     write this package ever makes to it);
//   - every row is read from one SQLite read transaction: one consistent
//     snapshot, even if an administrative command writes meanwhile;
//   - values that PostgreSQL would reject or alter (text with NUL bytes,
//     invalid UTF-8, JSON that jsonb refuses, out-of-range integers) are
//     found as each value is converted, before it is sent, and named by
//     table, key and column; the run then stops and rolls back, so nothing
//     is written;
//   - the target schema, the rows (binary COPY), the identity sequences and
//     goose's version rows are written in one PostgreSQL transaction, which
//     commits only after every table's row count and checksum, computed the
//     same way on both sides, match. Killing the process at any moment
//     leaves the target as it was.
//
// migrate imports the providers and the schema package, and no database
// driver: what it needs of one (a held PostgreSQL connection with binary
// COPY and binary results, SQLSTATE codes, SQLite read snapshots) is a
// method of dbprovider/postgres or dbprovider/sqlite. Nothing imports it
// but the cli package ("podium migrate db"). The benchmark (bench/migrate,
// make bench-migrate) runs the podium binary and shares only the test data
// generator, migrate/migratetest. internal/importrules enforces this.
package migrate
