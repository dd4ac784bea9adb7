package schema

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider"
	"github.com/pressly/goose/v3"
	"github.com/sirupsen/logrus"
)

// RehearseOptions configure Rehearse.
type RehearseOptions struct {
	// LockTimeout bounds each statement's wait for a lock (PostgreSQL
	// lock_timeout; default 2s), so that a rehearsal never queues
	// production traffic behind it for long.
	LockTimeout time.Duration
	// StatementTimeout bounds each statement (PostgreSQL
	// statement_timeout; default 5 minutes).
	StatementTimeout time.Duration
	// TempDir holds the SQLite copy (default os.TempDir()).
	TempDir string
	// Log receives progress messages (optional).
	Log *logrus.Entry
}

// Step is the rehearsal of one migration.
type Step struct {
	Version int64  `json:"version"`
	Name    string `json:"name"`
	// Class is the migration's declared compatibility (expand, contract,
	// breaking; "" when unmarked).
	Class    Class  `json:"class"`
	Duration Millis `json:"duration_ms"`
	// LockWait is the time the migration spent waiting for locks held by
	// other sessions (PostgreSQL, sampled every 10ms).
	LockWait Millis `json:"lock_wait_ms"`
	// OK is true when the migration applied.
	OK bool `json:"ok"`
	// Skipped says why the migration was not tried (it cannot run inside a
	// transaction).
	Skipped string `json:"skipped,omitempty"`
	// Error is the database's error when the migration failed.
	Error string `json:"error,omitempty"`
}

// Millis is a duration that marshals as fractional milliseconds.
type Millis time.Duration

// MarshalJSON implements json.Marshaler.
func (m Millis) MarshalJSON() ([]byte, error) {
	return []byte(fmt.Sprintf("%.3f", float64(m)/float64(time.Millisecond))), nil
}

// UnmarshalJSON implements json.Unmarshaler.
func (m *Millis) UnmarshalJSON(b []byte) error {
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return fmt.Errorf("millis: %w", err)
	}
	*m = Millis(f * float64(time.Millisecond))
	return nil
}

// String formats the duration like time.Duration, rounded to 0.1ms.
func (m Millis) String() string { return time.Duration(m).Round(100 * time.Microsecond).String() }

// Rehearsal is the report of Rehearse.
type Rehearsal struct {
	Provider string `json:"provider"`
	// Method says how the migrations were tried without keeping them.
	Method string `json:"method"`
	// From is the database's version; To the binary's.
	From int64 `json:"from"`
	To   int64 `json:"to"`
	// Steps are the pending migrations, in order, up to the first failure.
	Steps []Step `json:"steps"`
	// OK is true when every pending migration applied.
	OK       bool   `json:"ok"`
	Duration Millis `json:"duration_ms"`
	// CanRoll is true when the upgrade can be done node by node (no
	// migration without an expand path); Roll says how or why not.
	CanRoll bool   `json:"can_roll"`
	Roll    string `json:"roll,omitempty"`
	// Rows are the problems the start-up's row checks find (a SQLite
	// database before 00035), by class: what the upgrade cleans itself
	// and what it refuses.
	Rows []RowProblem `json:"row_problems"`
}

// Failed returns the failing step, or nil.
func (r *Rehearsal) Failed() *Step {
	for i := range r.Steps {
		if !r.Steps[i].OK && r.Steps[i].Skipped == "" {
			return &r.Steps[i]
		}
	}
	return nil
}

// Rehearsal methods.
const (
	MethodRollback = "one transaction, rolled back"
	MethodCopy     = "a consistent copy of the database file, deleted afterwards"
)

// Rehearse tries this binary's pending migrations on p without keeping
// them. On PostgreSQL it runs them all in one transaction that it rolls
// back, with lock_timeout and statement_timeout set, holding the migration
// advisory lock for the transaction only (it refuses, EUNAVAILABLE, while
// a node migrates). On SQLite it never touches the live file: it copies
// the database (VACUUM INTO, a consistent snapshot even while a node
// writes) to a temporary file, migrates the copy and deletes it.
//
// A failing migration is not an error: the report says which one failed
// and why (OK false). Errors are for a rehearsal that could not run, and
// ESCHEMA when the database is newer than the binary.
func Rehearse(ctx context.Context, p dbprovider.Provider, opts RehearseOptions) (*Rehearsal, error) {
	from, err := Check(ctx, p)
	if err != nil {
		return nil, err
	}
	pending, err := PendingMigrations(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("rehearse: %w", err)
	}
	r := &Rehearsal{Provider: p.Name(), From: from, To: Latest(), Steps: []Step{}}
	started := time.Now()
	switch p.RehearsalMethod() {
	case dbprovider.RehearseRollback:
		r.Method = MethodRollback
		err = rehearseRollback(ctx, p, pending, opts, r)
	case dbprovider.RehearseCopy:
		r.Method = MethodCopy
		err = rehearseCopy(ctx, p, opts, r, pending)
	default:
		return nil, podium.Errorf(podium.EUNSUPPORTED, "rehearse: provider %s has no rehearsal method", p.Name())
	}
	r.Duration = Millis(time.Since(started))
	classes := map[int64]Class{}
	for _, m := range pending {
		classes[m.Version] = m.Class
	}
	for i := range r.Steps {
		r.Steps[i].Class = classes[r.Steps[i].Version]
	}
	if p.SupportsHA() {
		// Only where several nodes can share the database: a SQLite
		// file serves one node, so there is no rolling upgrade to speak of.
		r.CanRoll, r.Roll = rollPlan(pending)
	}
	if err != nil {
		return r, err
	}
	r.OK = r.Failed() == nil
	return r, nil
}

// rehearseRollback runs the pending migrations in one transaction on a
// dedicated connection (PostgreSQL: DDL is transactional), measuring each
// one's lock waits, and rolls it back.
func rehearseRollback(ctx context.Context, p dbprovider.Provider, pending []Migration, opts RehearseOptions, r *Rehearsal) error {
	lockTimeout, stmtTimeout := opts.LockTimeout, opts.StatementTimeout
	if lockTimeout <= 0 {
		lockTimeout = 2 * time.Second
	}
	if stmtTimeout <= 0 {
		stmtTimeout = 5 * time.Minute
	}
	fsys, err := Migrations(p.GooseDialect())
	if err != nil {
		return fmt.Errorf("rehearse: %w", err)
	}
	db, owned, err := p.MigrationDB()
	if err != nil {
		return fmt.Errorf("rehearse: %w", err)
	}
	if owned {
		defer db.Close()
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return podium.Errorf(podium.EUNAVAILABLE, "rehearse: cannot connect to %s", p.Describe())
	}
	defer conn.Close()
	if err := p.SetApplicationName(ctx, conn, "podium rehearse"); err != nil {
		return podium.Errorf(podium.EUNAVAILABLE, "rehearse: cannot connect to %s", p.Describe())
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("rehearse: begin: %w", err)
	}
	// Never committed: everything below is undone, pg_notify included
	// (notifications are delivered at commit only).
	defer func() { _ = tx.Rollback() }()
	if err := p.SetTxTimeouts(ctx, tx, lockTimeout, stmtTimeout); err != nil {
		return fmt.Errorf("rehearse: set timeouts: %w", err)
	}
	got, err := p.MigrationLockTryTx(ctx, tx)
	if err != nil {
		return fmt.Errorf("rehearse: %w", err)
	}
	if !got {
		return podium.Errorf(podium.EUNAVAILABLE, "rehearse: a migration is running on this database now (its advisory lock is held): try again when it is over")
	}
	if r.From == 0 {
		// An empty database: goose would create its version table first
		// (the same definition as goose's PostgreSQL dialect).
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS goose_db_version (
			id integer PRIMARY KEY GENERATED BY DEFAULT AS IDENTITY,
			version_id bigint NOT NULL, is_applied boolean NOT NULL, tstamp timestamp NOT NULL DEFAULT now())`); err != nil {
			return fmt.Errorf("rehearse: version table: %w", err)
		}
	}
	pid, err := p.SessionID(ctx, tx)
	if err != nil {
		return fmt.Errorf("rehearse: %w", err)
	}
	for _, m := range pending {
		step := Step{Version: m.Version, Name: m.Name}
		up, noTx, err := upSection(fsys, m.Name)
		if err != nil {
			return fmt.Errorf("rehearse: %w", err)
		}
		if noTx {
			// An expand migration runs outside a transaction to build its
			// indexes CONCURRENTLY and commit each statement alone: the
			// same statements without CONCURRENTLY check the same things
			// inside the rehearsal's transaction. Anything else that cannot
			// run in a transaction is not rehearsed.
			var ok bool
			if up, ok = inTransactionForm(up); !ok {
				step.Skipped = "runs outside a transaction (goose NO TRANSACTION): cannot be rehearsed and rolled back"
				r.Steps = append(r.Steps, step)
				continue
			}
		}
		mon := watchLockWaits(ctx, p, pid)
		t0 := time.Now()
		// No arguments: pgx sends it with the simple protocol, which runs
		// every statement of the file (PL/pgSQL bodies included) in order.
		_, err = tx.ExecContext(ctx, up)
		if err == nil {
			_, err = tx.ExecContext(ctx, `INSERT INTO goose_db_version (version_id, is_applied) VALUES ($1, true)`, m.Version)
		}
		step.Duration = Millis(time.Since(t0))
		step.LockWait = Millis(mon.stop())
		if opts.Log != nil {
			opts.Log.WithFields(logrus.Fields{"migration": m.Name, "duration": step.Duration.String(),
				"lock_wait": step.LockWait.String(), "ok": err == nil}).Info("rehearsed migration")
		}
		if err != nil {
			step.Error = describeDBError(p, err, lockTimeout, stmtTimeout)
			r.Steps = append(r.Steps, step)
			return nil
		}
		step.OK = true
		r.Steps = append(r.Steps, step)
	}
	return nil
}

// describeDBError is the database's error for the report, with what it
// means when it is one of the rehearsal's own timeouts.
func describeDBError(p dbprovider.Provider, err error, lockTimeout, stmtTimeout time.Duration) string {
	de, ok := p.ErrorDetail(err)
	if !ok {
		return err.Error()
	}
	msg := fmt.Sprintf("%s (SQLSTATE %s)", de.Message, de.Code)
	if de.Detail != "" {
		msg += ": " + de.Detail
	}
	switch {
	case de.LockTimeout:
		msg += fmt.Sprintf("; waited more than lock_timeout (%s) for a lock held by other sessions: "+
			"run the migration when traffic is low, or expect it to queue requests", lockTimeout)
	case de.Canceled:
		msg += fmt.Sprintf("; a statement ran longer than statement_timeout (%s)", stmtTimeout)
	}
	return msg
}

// upSection returns the Up part of a goose SQL migration and whether it is
// marked NO TRANSACTION. Annotations are SQL comments, so the text can be
// sent as it is.
func upSection(fsys fs.FS, name string) (string, bool, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return "", false, fmt.Errorf("migration %s: %w", name, err)
	}
	defer f.Close()
	var b strings.Builder
	inUp, noTx := false, false
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if a, ok := strings.CutPrefix(strings.TrimSpace(line), "-- +goose "); ok {
			switch strings.ToUpper(strings.TrimSpace(a)) {
			case "UP":
				inUp = true
				continue
			case "DOWN":
				inUp = false
				continue
			case "NO TRANSACTION":
				noTx = true
				continue
			}
		}
		if inUp {
			b.WriteString(line)
			b.WriteByte('\n')
		}
	}
	if err := sc.Err(); err != nil {
		return "", false, fmt.Errorf("migration %s: %w", name, err)
	}
	return b.String(), noTx, nil
}

// lockMonitor samples whether a session waits on a lock
// (Provider.SessionWaitsOnLock) and adds up the time it spends waiting.
type lockMonitor struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
	waited time.Duration
}

func watchLockWaits(ctx context.Context, p dbprovider.Provider, session int64) *lockMonitor {
	ctx, cancel := context.WithCancel(ctx)
	m := &lockMonitor{cancel: cancel}
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		const every = 10 * time.Millisecond
		t := time.NewTicker(every)
		defer t.Stop()
		last := time.Now()
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-t.C:
				waiting, err := p.SessionWaitsOnLock(ctx, session)
				if err == nil && waiting {
					m.waited += now.Sub(last)
				}
				last = now
			}
		}
	}()
	return m
}

func (m *lockMonitor) stop() time.Duration {
	m.cancel()
	m.wg.Wait()
	return m.waited
}

// rehearseCopy upgrades a snapshot of the database (SQLite: a consistent
// copy of the file, while a node beside us keeps writing) as a starting
// node would ([Up]: the same disk check, row checks, cleaning and
// migrations), reports what the row checks found, and deletes the copy.
func rehearseCopy(ctx context.Context, p dbprovider.Provider, opts RehearseOptions, r *Rehearsal, pending []Migration) error {
	dir, err := os.MkdirTemp(opts.TempDir, "podium-rehearse-*")
	if err != nil {
		return fmt.Errorf("rehearse: %w", err)
	}
	defer os.RemoveAll(dir)
	cp, err := p.Snapshot(ctx, dir)
	if err != nil {
		return fmt.Errorf("rehearse: %w", err)
	}
	defer cp.Close()
	if r.From > 0 && r.From < ParityVersion {
		vs, err := checkParity(ctx, cp, nil)
		if err != nil {
			return fmt.Errorf("rehearse: %w", err)
		}
		own, refused := SplitViolations(vs)
		r.Rows = append(summarize(own, "cleaned by the upgrade"), summarize(refused, "refused: the upgrade stops")...)
		if len(refused) > 0 {
			r.Steps = append(r.Steps, Step{Version: ParityVersion, Name: "00035_parity.sql",
				Error: fmt.Sprintf("refused: %d value(s) entered by users break the new constraints (see the row problems); "+
					"\"podium migrate schema repair --dry-run\" says what it can fix", len(refused))})
			return nil
		}
	}
	m, err := Up(ctx, cp, opts.Log, Options{})
	for _, a := range m.Applied {
		step := Step{Version: a.Version, Name: a.Name, Duration: Millis(a.Duration), OK: true}
		if opts.Log != nil {
			opts.Log.WithFields(logrus.Fields{"migration": step.Name, "duration": step.Duration.String(), "ok": true}).Info("rehearsed migration")
		}
		r.Steps = append(r.Steps, step)
	}
	if err == nil {
		return nil
	}
	if podium.ErrorCode(err) == podium.EREFUSED && len(m.Applied) == 0 && strings.Contains(podium.ErrorMessage(err), "free") {
		r.Steps = append(r.Steps, Step{Name: "disk space", Error: podium.ErrorMessage(err)})
		return nil
	}
	// The failing migration: the first pending one not applied.
	done := map[int64]bool{}
	for _, a := range m.Applied {
		done[a.Version] = true
	}
	for _, pm := range pending {
		if !done[pm.Version] {
			r.Steps = append(r.Steps, Step{Version: pm.Version, Name: pm.Name, Error: sqliteError(err)})
			return nil
		}
	}
	return fmt.Errorf("rehearse: %w", err)
}

// RowProblem is one class of problem the row checks found: a table,
// column and rule, how many rows, the first keys, and what the upgrade
// does about it.
type RowProblem struct {
	Table    string   `json:"table"`
	Column   string   `json:"column"`
	Rule     string   `json:"rule"`
	Reason   string   `json:"reason"`
	Count    int      `json:"count"`
	Examples []string `json:"examples"`
	Action   string   `json:"action"`
}

func summarize(vs []ParityViolation, action string) []RowProblem {
	var out []RowProblem
	idx := map[[3]string]int{}
	for _, v := range vs {
		k := [3]string{v.Table, v.Column, v.Rule}
		i, ok := idx[k]
		if !ok {
			i = len(out)
			idx[k] = i
			out = append(out, RowProblem{Table: v.Table, Column: v.Column, Rule: v.Rule, Reason: v.Reason, Action: action, Examples: []string{}})
		}
		out[i].Count++
		if len(out[i].Examples) < RefusalListLimit {
			out[i].Examples = append(out[i].Examples, v.Key)
		}
	}
	return out
}

// sqliteError is the innermost error of a failed goose migration: goose
// wraps the driver's message in its own context several times.
func sqliteError(err error) string {
	var pe *goose.PartialError
	if errors.As(err, &pe) && pe.Err != nil {
		err = pe.Err
	}
	return err.Error()
}

// rollPlan says whether pending can be applied as a rolling upgrade, and
// how.
func rollPlan(pending []Migration) (bool, string) {
	if err := CanRoll(pending); err != nil {
		return false, err.Error() + "; use the stop-all procedure (docs/upgrading.md)"
	}
	var deferred []string
	for _, m := range pending {
		if m.Deferrable() {
			deferred = append(deferred, m.Name)
		}
	}
	if len(deferred) == 0 {
		return true, "every pending migration is expand: the first new node applies them while older nodes serve; " +
			"run \"podium migrate schema finalize\" once every node runs the new binary"
	}
	return true, fmt.Sprintf("the first new node applies the expand migrations while older nodes serve; "+
		"%s deferred to \"podium migrate schema finalize\", once every node runs the new binary", strings.Join(deferred, ", "))
}

var (
	concurrentlyRe = regexp.MustCompile(`(?i)\b(CREATE\s+(?:UNIQUE\s+)?INDEX|DROP\s+INDEX|REINDEX\s+(?:\(\s*[^)]*\)\s*)?(?:INDEX|TABLE|SCHEMA|DATABASE|SYSTEM))\s+CONCURRENTLY\b`)
	noTxOnlyRe     = regexp.MustCompile(`(?i)^(VACUUM|CREATE\s+DATABASE|DROP\s+DATABASE|ALTER\s+SYSTEM|CREATE\s+TABLESPACE|DROP\s+TABLESPACE)\b`)
)

// inTransactionForm returns a NO TRANSACTION migration's Up section as it
// can run inside the rehearsal's transaction (CONCURRENTLY removed), and
// false when a statement cannot run in a transaction at all.
func inTransactionForm(up string) (string, bool) {
	for _, st := range splitStatements(up) {
		if noTxOnlyRe.MatchString(st) {
			return "", false
		}
	}
	return concurrentlyRe.ReplaceAllString(up, "$1"), true
}
