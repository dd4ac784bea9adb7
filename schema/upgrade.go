package schema

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider"
	"github.com/sirupsen/logrus"
)

// The upgrade of a SQLite database from before the parity migration
// (schema 30, the release of 2026-11-26, to 00035 and later), as a node
// or "podium migrate schema up" runs it:
//
//  1. the free disk space is checked (refused, EREFUSED, with the figures);
//  2. every row is checked against the new constraints; values a user
//     entered that they refuse stop the upgrade before anything changes
//     (the refusal counts them per table and column, lists the first
//     rows, writes the full list to a file and names the command that
//     fixes or exports them);
//  3. Podium's own data is cleaned ([OwnText], [OwnRange]), counted per
//     table and column in the log;
//  4. 00035 runs table by table ([rebuildParity]), resumable.

// RefusalListLimit is how many rows per table and column a refusal lists
// in its message; the file it writes lists every one.
const RefusalListLimit = 3

// repairable reports whether the upgrade itself fixes a violation: a
// value of Podium's own data.
func repairable(v ParityViolation) bool {
	for _, c := range OwnText {
		if v.Table == c.Table && v.Column == c.Column && (v.Rule == "text" || v.Rule == "utf8") {
			return true
		}
	}
	for _, c := range OwnRange {
		if v.Table == c.Table && v.Column == c.Column && v.Rule == "int4" {
			return true
		}
	}
	return false
}

// SplitViolations separates the violations the upgrade repairs itself
// (Podium's own data) from those it refuses (values a user entered).
func SplitViolations(vs []ParityViolation) (own, refused []ParityViolation) {
	for _, v := range vs {
		if repairable(v) {
			own = append(own, v)
		} else {
			refused = append(refused, v)
		}
	}
	return own, refused
}

// upgradeSQLite runs steps 2 to 4 above on p (step 1 is checkDisk).
func upgradeSQLite(ctx context.Context, p dbprovider.Provider, log *logrus.Entry, opts Options, pr *progress, before int64) ([]Result, error) {
	res := Result{Version: ParityVersion, Name: "00035_parity.sql"}
	// The migrations before 00035 first (a database older than schema 30),
	// through goose as always.
	pending, err := PendingMigrations(ctx, p)
	if err != nil {
		return nil, err
	}
	var below []int64
	for _, m := range pending {
		if m.Version < ParityVersion {
			below = append(below, m.Version)
		}
	}
	m, err := apply(ctx, p, log, opts, false, below)
	done := m.Applied
	if err != nil {
		return done, err
	}
	started := time.Now()
	pr.step(Progress{Phase: PhaseCheck})
	rebuilt, err := rebuiltTables(ctx, p)
	if err != nil {
		return done, err
	}
	vs, err := checkParity(ctx, p, rebuilt)
	if err != nil {
		return done, err
	}
	own, refused := SplitViolations(vs)
	if log != nil {
		log.WithFields(logrus.Fields{"refused": len(refused), "own_data_to_clean": len(own), "duration": sinceMillis(started)}).
			Info("upgrade: rows checked against the new constraints")
	}
	if len(refused) > 0 {
		return done, RefusalError(refused, own, reportDir(p, opts))
	}
	if err := holdRetention(ctx, p, before, log); err != nil {
		return done, err
	}
	if len(own) > 0 {
		pr.step(Progress{Phase: PhaseRepair})
		reps, err := RepairOwnData(ctx, p, false, pr)
		if err != nil {
			return done, err
		}
		logOwnRepairs(log, reps)
	}
	t0 := time.Now()
	err = rebuildParity(ctx, p, pr)
	res.Duration = time.Since(t0)
	if err == nil && log != nil {
		log.WithFields(logrus.Fields{"version": res.Version, "migration": res.Name,
			"duration": res.Duration.Round(time.Microsecond).String()}).Info("applied migration")
	}
	if err != nil {
		return done, err
	}
	done = append(done, res)
	rest, err := applyAfterParity(ctx, p, log, opts, pr)
	return append(done, rest...), err
}

// writesRowsRe finds a statement that writes rows (a line that begins
// with one), in a migration's SQL.
var writesRowsRe = regexp.MustCompile(`(?im)^\s*(INSERT|UPDATE|DELETE|REPLACE|WITH)\b`)

// applyAfterParity applies the migrations after 00035 in an upgrade from
// before it, in order. Every row of every table was checked against the
// CHECK constraints moments ago (upgradeSQLite), but SQLite's ALTER TABLE
// ADD COLUMN checks every row of the table against all of its CHECK
// constraints again (a quick_check: the GLOBs and strftime of every
// timestamp), once per column added: 00050's three columns on jobs and
// renders cost more than the whole parity rebuild. So a migration that
// writes no rows (schema only: tables, columns with constant defaults,
// indexes) runs on a connection that does not evaluate CHECK constraints
// ([dbprovider.Provider.MigrationDBUnchecked]); NOT NULL, types and foreign keys are still checked.
// A migration that writes rows (an UPDATE, INSERT, ...) runs on the
// provider's writer with every check, as goose runs it anywhere else.
func applyAfterParity(ctx context.Context, p dbprovider.Provider, log *logrus.Entry, opts Options, pr *progress) ([]Result, error) {
	pending, err := PendingMigrations(ctx, p)
	if err != nil {
		return nil, err
	}
	fsys, err := Migrations(p.GooseDialect())
	if err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	var unchecked *sql.DB
	defer func() {
		if unchecked != nil {
			_ = unchecked.Close()
		}
	}()
	// Consecutive migrations that run on the same connection run as one
	// batch (one "schema migrated" line each).
	var done []Result
	var batch []Migration
	var batchOn dbprovider.Provider
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		versions := make([]int64, len(batch))
		for i, m := range batch {
			versions[i] = m.Version
		}
		stop := pr.during(Progress{Phase: PhaseMigrate, Migration: strings.Join(migrationNames(batch), ", ")}, 0)
		r, err := apply(ctx, batchOn, log, opts, false, versions)
		stop()
		done = append(done, r.Applied...)
		batch = nil
		return err
	}
	for _, m := range pending {
		if m.Version <= ParityVersion {
			continue
		}
		on := p
		src, err := fs.ReadFile(fsys, m.Name)
		if err != nil {
			return done, fmt.Errorf("schema: %w", err)
		}
		if up, _, _ := strings.Cut(string(src), "-- +goose Down"); !writesRowsRe.MatchString(up) {
			if unchecked == nil {
				if unchecked, err = p.MigrationDBUnchecked(ctx); err != nil {
					return done, fmt.Errorf("schema: %s: %w", m.Name, err)
				}
			}
			on = onDB{Provider: p, db: unchecked}
		}
		if len(batch) > 0 && (on == p) != (batchOn == p) {
			if err := flush(); err != nil {
				return done, err
			}
		}
		batch, batchOn = append(batch, m), on
	}
	return done, flush()
}

// onDB is a provider whose migrations run on db instead of its writer.
type onDB struct {
	dbprovider.Provider
	db *sql.DB
}

func (o onDB) MigrationDB() (*sql.DB, bool, error) { return o.db, false, nil }

// reportDir is where a refusal writes its full list: opts.ReportDir, else
// the SQLite database's folder, else the temporary folder.
func reportDir(p dbprovider.Provider, opts Options) string {
	if opts.ReportDir != "" {
		return opts.ReportDir
	}
	if s, ok := p.(interface{ Path() string }); ok {
		return filepath.Dir(s.Path())
	}
	return os.TempDir()
}

// RefusalError is the refusal to upgrade a database holding values a user
// entered that the new constraints refuse: counts per table and column,
// the first rows of each, the file with every row, and what to do. own
// are the values the upgrade would clean itself (counted only).
func RefusalError(refused, own []ParityViolation, dir string) error {
	type tc struct{ table, column string }
	count := map[tc][]ParityViolation{}
	for _, v := range refused {
		k := tc{v.Table, v.Column}
		count[k] = append(count[k], v)
	}
	keys := make([]tc, 0, len(count))
	for k := range count {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].table != keys[j].table {
			return keys[i].table < keys[j].table
		}
		return keys[i].column < keys[j].column
	})
	file, ferr := writeRefusalFile(dir, refused)
	var b strings.Builder
	fmt.Fprintf(&b, "schema: migration %05d (SQLite parity with PostgreSQL) refused: %d value(s) entered by users would be refused by the new constraints, and PostgreSQL would refuse them too; nothing was changed (the database is still at its old version). Per table and column:",
		ParityVersion, len(refused))
	for _, k := range keys {
		fmt.Fprintf(&b, " %s.%s %d;", k.table, k.column, len(count[k]))
	}
	b.WriteString("\n")
	for _, k := range keys {
		for i, v := range count[k] {
			if i == RefusalListLimit {
				fmt.Fprintf(&b, "  … and %d more in %s.%s\n", len(count[k])-RefusalListLimit, k.table, k.column)
				break
			}
			b.WriteString("  " + v.String() + "\n")
		}
	}
	if len(own) > 0 {
		fmt.Fprintf(&b, "(Besides these, %d value(s) of Podium's own output and runtime state will be cleaned by the upgrade itself.)\n", len(own))
	}
	if ferr == nil {
		fmt.Fprintf(&b, "Every row is listed in %s.\n", file)
	} else {
		fmt.Fprintf(&b, "(The full list could not be written to %s: %v.)\n", dir, ferr)
	}
	b.WriteString("What to do: with the node stopped and after a backup, run \"podium migrate schema repair --dry-run\" to see what it would change " +
		"(text without NUL bytes, invalid UTF-8 shown as U+FFFD, integers brought into range) and what it cannot fix, then \"podium migrate schema repair\"; " +
		"correct or delete the rest with the sqlite3 shell (for example UPDATE audit_log SET detail = '{}' WHERE id = 1), then start podium again. " +
		"podium never changes values users entered on its own. \"podium migrate schema rehearse\" and \"podium migrate db --check\" list the same rows while the node runs.")
	return podium.Errorf(podium.EREFUSED, "%s", b.String())
}

// writeRefusalFile writes every refused value, one per line (table, row
// key, column, rule, reason; tab-separated, no values: they may be
// secrets), to a new file in dir and returns its path.
func writeRefusalFile(dir string, vs []ParityViolation) (string, error) {
	f, err := os.CreateTemp(dir, "podium-upgrade-refused-"+time.Now().UTC().Format("20060102T150405Z")+"-*.tsv")
	if err != nil {
		return "", err
	}
	defer f.Close()
	var b strings.Builder
	b.WriteString("table\tkey\tcolumn\trule\treason\n")
	for _, v := range vs {
		fmt.Fprintf(&b, "%s\t%s\t%s\t%s\t%s\n", v.Table, v.Key, v.Column, v.Rule, v.Reason)
	}
	if _, err := f.WriteString(b.String()); err != nil {
		return "", err
	}
	return f.Name(), f.Close()
}

// freeSpace returns the bytes free for an unprivileged writer in dir's
// filesystem (a variable for tests).
var freeSpace = func(dir string) (uint64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return st.Bavail * uint64(st.Bsize), nil
}

// DiskNeeded is the free space an upgrade of a SQLite database of size
// bytes asks for: the rebuilt tables and new indexes are written beside
// the old pages (and through the WAL) before the old pages are freed; a
// table at a time, but the largest table may be most of the file, so the
// rule is the file's size again, plus 16 MiB.
func DiskNeeded(size int64) int64 { return size + 16<<20 }

// checkDisk refuses (EREFUSED, exit 2) to start an upgrade of a SQLite
// database whose filesystem has less free space than [DiskNeeded].
func checkDisk(p dbprovider.Provider, pr *progress) error {
	s, ok := p.(interface{ Path() string })
	if !ok {
		return nil
	}
	pr.step(Progress{Phase: PhaseDisk})
	return CheckDiskSpace(s.Path())
}

// CheckDiskSpace returns EREFUSED, with the figures, when the filesystem
// of the SQLite database at path has less free space than an upgrade of
// it needs ([DiskNeeded]); nil when it has enough or the file does not
// exist yet.
func CheckDiskSpace(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return nil // a new database
	}
	size := fi.Size()
	if wal, err := os.Stat(path + "-wal"); err == nil {
		size += wal.Size()
	}
	need := DiskNeeded(size)
	free, err := freeSpace(filepath.Dir(path))
	if err != nil {
		return fmt.Errorf("schema: free disk space of %s: %w", filepath.Dir(path), err)
	}
	if int64(free) < need {
		return podium.Errorf(podium.EREFUSED, "schema: the upgrade needs %s free beside the database %s (%s: the size of the database again, "+
			"for the tables it rebuilds and the indexes it adds), and only %s is free: free %s or more, then start again. Nothing was changed",
			podium.FormatBytes(need), path, podium.FormatBytes(size), podium.FormatBytes(int64(free)), podium.FormatBytes(need-int64(free)))
	}
	return nil
}

// IsOwnData reports whether a column holds Podium's own output or runtime
// state, which the upgrade from before the parity migration cleans
// ([OwnText], [OwnRange]) rather than refuses.
func IsOwnData(table, column string) bool {
	for _, c := range append(append([]OwnColumn(nil), OwnText...), OwnRange...) {
		if c.Table == table && c.Column == column {
			return true
		}
	}
	return false
}

// RetentionVersion is the migration of the release that introduced
// [Applications] HistoryRetention (00050_scheduler_scale).
const RetentionVersion int64 = 50

// holdRetention records [podium.RetentionHoldKey] on a database that
// held history before HistoryRetention existed (schema from 1 to 49), so
// that the upgrade deletes nothing the administrator did not ask for. It
// is written before the migration that introduces the retention, and
// kept if present.
func holdRetention(ctx context.Context, p dbprovider.Provider, before int64, log *logrus.Entry) error {
	if before <= 0 || before >= RetentionVersion {
		return nil
	}
	if _, err := p.SettingGet(ctx, podium.RetentionHoldKey); err == nil {
		return nil
	} else if !podium.IsCode(err, podium.ENOTFOUND) {
		return fmt.Errorf("schema: history retention hold: %w", err)
	}
	if err := p.SettingPut(ctx, podium.RetentionHoldKey, time.Now().UTC().Format(time.RFC3339)); err != nil {
		return fmt.Errorf("schema: history retention hold: %w", err)
	}
	if log != nil {
		log.WithField("from_schema", before).Info("upgrade: [Applications] HistoryRetention is new to this installation: " +
			"no history is deleted until the administrator sets it (docs/upgrading.md)")
	}
	return nil
}
