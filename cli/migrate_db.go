package cli

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/migrate"
	"github.com/podiumhq/podium/schema"
	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"
)

func init() {
	migrateSubcommands = append(migrateSubcommands, func(a *app) *cobra.Command { return a.migrateDBCmd() })
}

type migrateDBFlags struct {
	dropAll, yes, dryRun, json, check bool
	to                                string
	workers                           int
}

func (a *app) migrateDBCmd() *cobra.Command {
	var f migrateDBFlags
	cmd := &cobra.Command{
		Use:   "db",
		Short: "Copy every row of the SQLite database to PostgreSQL, verified, switched into place in one transaction",
		Long: `Copy every row of this configuration's SQLite database ([Database] Dir) to
the PostgreSQL database of [Postgres] URL (password from
PODIUM_POSTGRES_PASSWORD), the step from a single node to a cluster.

Stop the node first: the command holds the SQLite lock for the whole run and
refuses to start while a node holds it. It reads one consistent snapshot
and loads it into a staging schema that no node looks at: several tables
at once (--workers), each copied with COPY, indexed and verified (row count
and a digest PostgreSQL computes, compared with the client's) in its own
transaction. Then it checks the foreign keys, resets the identity
sequences, and switches the loaded tables into place in one short
transaction: an interrupted or failed run leaves the target as it was (a
rerun removes what it left in the staging schema). The SQLite file is not
changed (except that a schema older than this binary is first brought up
to date).

With --check, a preflight that may run while the node keeps serving: it
reads one snapshot of the SQLite database without its lock and without
writing to it, converts and checks every row as the real run would, and
reports rows and bytes per table, every value PostgreSQL would refuse, the
target's readiness and an estimate of the real run's duration. Exit codes
with --check: 0 the migration would succeed, 1 problems found, 2 bad
invocation or configuration.

Exit codes: 0 copied and verified; 2 refused with nothing written (a node
holds the SQLite database, the target already holds Podium data and
--drop-all was not given, --drop-all without --yes off a terminal, the
SQLite schema is newer than this binary, the source is not a Podium
database, the target is not PostgreSQL, a value PostgreSQL cannot store
unchanged, or --to sqlite: moving back from PostgreSQL is not supported);
1 any other failure (rolled back).`,
		Example: `  podium migrate db --config /etc/podium/podium.gcfg --check
  podium migrate db --config /etc/podium/podium.gcfg --dry-run
  PODIUM_POSTGRES_PASSWORD=... podium migrate db --config /etc/podium/podium.gcfg
  podium migrate db --drop-all --yes --json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return a.migrateDB(cmd, f) },
	}
	fl := cmd.Flags()
	fl.BoolVar(&f.dropAll, "drop-all", false, "empty the target's Podium tables first if they hold data (asks on a terminal; needs --yes otherwise)")
	fl.BoolVar(&f.yes, "yes", false, "do not ask for confirmation (needed with --drop-all when not on a terminal)")
	fl.BoolVar(&f.dryRun, "dry-run", false, "perform every check and read the whole source, but write nothing")
	fl.BoolVar(&f.json, "json", false, "print the result as JSON")
	fl.BoolVar(&f.check, "check", false, "preflight while the node keeps serving: read a snapshot without the lock, list every value PostgreSQL would refuse and the target's readiness; write nothing (exit 0 would succeed, 1 problems found)")
	fl.IntVar(&f.workers, "workers", 0, "tables loaded (or, with --check and --dry-run, read) at once, each on its own connections (default: one more than the lesser of this machine's cores and the server's max_parallel_workers, between 2 and 8)")
	fl.StringVar(&f.to, "to", "postgres", "direction: only \"postgres\" (SQLite to PostgreSQL) is supported")
	return cmd
}

func (a *app) migrateDB(cmd *cobra.Command, f migrateDBFlags) error {
	if f.to != "postgres" && f.to != "postgresql" {
		if f.to == "sqlite" {
			return podium.Errorf(podium.EREFUSED,
				"migrate db: moving from PostgreSQL back to SQLite is not supported. "+
					"To go back to a single node, keep PostgreSQL: run one node with [HA] Enabled = false (see docs/moving-to-postgresql.md)")
		}
		return podium.Errorf(podium.EINVALID, "migrate db: --to %q: only \"postgres\" is supported", f.to)
	}
	if f.check && f.dryRun {
		return podium.Errorf(podium.EINVALID, "migrate db: --check and --dry-run are two different runs: give one of them")
	}
	interactive := isTerminal(a.env.Stdin) && isTerminal(a.env.Stderr)
	if f.dropAll && !f.yes && !interactive && !f.check {
		return podium.Errorf(podium.EREFUSED,
			"migrate db: --drop-all deletes the target's Podium data: confirm with --yes when not running on a terminal")
	}
	cfg, err := a.loadConfig()
	if err != nil {
		return err
	}
	logger, err := a.logger()
	if err != nil {
		return err
	}
	log := logrus.NewEntry(logger)
	url, err := cfg.PostgresURL()
	if err != nil {
		return podium.Errorf(podium.EINVALID,
			"migrate db: [Postgres] URL must name the target PostgreSQL database (and PODIUM_POSTGRES_PASSWORD its password): %s", podium.ErrorMessage(err))
	}
	ctx, stop := signalContext(cmd.Context())
	defer stop()

	opts := migrate.Options{
		SQLiteDir:   cfg.Database.Dir,
		PostgresURL: url,
		DropAll:     f.dropAll,
		DryRun:      f.dryRun,
		Check:       f.check,
		Workers:     f.workers,
		Log:         log,
	}
	if f.workers < 0 || f.workers > 16 {
		return podium.Errorf(podium.EINVALID, "migrate db: --workers %d: give a number from 1 to 16 (0: the default)", f.workers)
	}
	if f.dropAll && !f.yes && !f.check {
		opts.ConfirmDropAll = func(tables []string) (bool, error) {
			return confirm(a.env.Stdin, a.env.Stderr, fmt.Sprintf(
				"The target %s holds Podium data (rows in %s).\n--drop-all deletes all of it. Type \"drop all\" to continue: ",
				cfg.PostgresURLRedacted(), strings.Join(tables, ", ")), "drop all")
		}
	}
	if isTerminal(a.env.Stderr) && !f.json {
		p := &termProgress{w: a.env.Stderr}
		opts.Progress = p.event
		defer p.finish()
	} else {
		p := &logProgress{log: log.WithField("component", "migrate-db"), every: 5 * time.Second}
		opts.Progress = p.event
	}
	log.WithFields(logrus.Fields{"source": cfg.Database.Dir, "target": cfg.PostgresURLRedacted(), "dry_run": f.dryRun}).Info("migrate db: starting")
	res, err := migrate.Run(ctx, opts)
	if err != nil {
		if ctx.Err() != nil && podium.ErrorCode(err) == podium.EINTERNAL {
			return podium.Errorf(podium.ECANCELED, "migrate db: interrupted: rolled back, the target is as it was")
		}
		return err
	}
	if f.json {
		enc := json.NewEncoder(a.env.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			return err
		}
	} else if res.Check != nil {
		printCheckResult(a.env.Stdout, res)
	} else {
		printMigrateResult(a.env.Stdout, res)
	}
	if res.Check != nil && !res.Check.OK {
		return podium.Errorf(podium.EPRECONDITION, "migrate db --check: %d problem(s) found: the migration would not succeed", len(res.Check.Problems))
	}
	return nil
}

// printCheckResult prints a preflight's report: rows and bytes per table,
// every refused value (at most checkListed per table, then a count), the
// target's readiness, the estimate and the problems.
func printCheckResult(w io.Writer, res *migrate.Result) {
	const checkListed = 100
	rep := res.Check
	fmt.Fprintf(w, "Preflight of %s (schema version %d), nothing was written anywhere:\n\n", res.Source, res.SchemaVersion)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "table\trows\tbytes\trefused\t")
	for _, t := range res.Tables {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t\n", t.Name, t.Rows, t.Bytes, rep.RefusedPerTable[t.Name])
	}
	var refused int64
	for _, n := range rep.RefusedPerTable {
		refused += n
	}
	fmt.Fprintf(tw, "total\t%d\t%d\t%d\t\n", res.Rows, res.Bytes, refused)
	tw.Flush()
	if len(rep.Refused) > 0 {
		fmt.Fprintln(w, "\nValues PostgreSQL would refuse (podium never changes data on its own: with the node stopped and after a backup, fix each row with the sqlite3 shell, as docs/moving-to-postgresql.md shows):")
		shown := map[string]int64{}
		for _, r := range rep.Refused {
			if shown[r.Table]++; shown[r.Table] > checkListed {
				continue
			}
			fmt.Fprintf(w, "  table %s, row %s, column %s: %s\n", r.Table, r.Key, r.Column, r.Reason)
		}
		for t, n := range rep.RefusedPerTable {
			if n > min(shown[t], checkListed) {
				fmt.Fprintf(w, "  ... table %s: %d more (--json lists up to 1000 per table)\n", t, n-min(shown[t], checkListed))
			}
		}
	}
	tg := rep.Target
	fmt.Fprintf(w, "\nTarget %s:\n", res.Target)
	if !tg.Reachable {
		fmt.Fprintf(w, "  reachable: no (%s)\n", tg.Error)
	} else {
		fmt.Fprintf(w, "  reachable: yes, %s\n", tg.Server)
		fmt.Fprintf(w, "  schema version: %d\n", tg.SchemaVersion)
		holds := "no"
		if tg.HoldsPodiumData {
			holds = "yes (" + strings.Join(tg.NonEmptyTables, ", ") + ")"
		}
		fmt.Fprintf(w, "  holds Podium data: %s\n", holds)
		fmt.Fprintf(w, "  role may create the schema: %s\n", yesNo(tg.CanCreateSchema))
	}
	if len(rep.CleanedByUpgrade) > 0 {
		fmt.Fprintln(w, "\nPodium's own output and runtime state that the schema upgrade cleans before the copy (NUL removed, invalid UTF-8 shown as U+FFFD, out-of-range settings clamped), not refused:")
		for _, k := range slices.Sorted(maps.Keys(rep.CleanedByUpgrade)) {
			fmt.Fprintf(w, "  %s: %d\n", k, rep.CleanedByUpgrade[k])
		}
	}
	fmt.Fprintf(w, "\nRead and checked %d rows in %.2f s (%.0f rows/s); the migration should take about %.1f s, plus the node's restart.\n",
		res.Rows, rep.ReadSeconds, rep.RowsPerSecond, rep.EstimatedSeconds)
	if rep.SchemaUpgradeSeconds > 0 {
		fmt.Fprintf(w, "That includes about %.1f s to bring the source's schema from version %d to %d first.\n",
			rep.SchemaUpgradeSeconds, res.SchemaVersion, schema.Latest())
	}
	if rep.OK {
		fmt.Fprintln(w, "\nOK: podium migrate db would succeed on this snapshot.")
		return
	}
	fmt.Fprintln(w, "\nProblems:")
	for _, p := range rep.Problems {
		fmt.Fprintf(w, "  - %s\n", p)
	}
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func printMigrateResult(w io.Writer, res *migrate.Result) {
	if res.DryRun {
		fmt.Fprintf(w, "Dry run: nothing was written. Would copy %s to %s:\n\n", res.Source, res.Target)
	} else {
		fmt.Fprintf(w, "Copied %s to %s, schema version %d, in one transaction:\n\n", res.Source, res.Target, res.SchemaVersion)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "table\trows\tbytes\tseconds\tverified\t")
	for _, t := range res.Tables {
		v := "yes"
		if !t.Verified {
			v = "no"
			if res.DryRun {
				v = "-"
			}
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.2f\t%s\t\n", t.Name, t.Rows, t.Bytes, t.Seconds, v)
	}
	fmt.Fprintf(tw, "total\t%d\t%d\t%.2f\t\t\n", res.Rows, res.Bytes, res.Seconds)
	tw.Flush()
	fmt.Fprintln(w)
	if res.SourceUpgradedFrom > 0 {
		verb := "was brought"
		if res.DryRun {
			verb = "would first be brought"
		}
		fmt.Fprintf(w, "The SQLite schema %s from version %d to this binary's version.\n", verb, res.SourceUpgradedFrom)
	}
	if len(res.Emptied) > 0 {
		verb := "Emptied"
		if res.DryRun {
			verb = "Would empty"
		}
		fmt.Fprintf(w, "%s the target tables that held data (--drop-all): %s.\n", verb, strings.Join(res.Emptied, ", "))
	}
	if res.DryRun {
		fmt.Fprintln(w, "Run the same command without --dry-run to copy.")
		return
	}
	fmt.Fprintf(w, "Identity sequences reset: %d.\n\n", len(res.Sequences))
	fmt.Fprint(w, `Next steps:
  1. On every node, set [Database] Provider = postgres (keep [Postgres] URL and
     PODIUM_POSTGRES_PASSWORD as used here).
  2. To run several nodes, set [HA] Enabled = true on every node.
  3. Point [Server] DataDir at storage shared by every node (bundles and
     rendered output live there), with the same content as this node's.
  4. Start the nodes. Keep the SQLite file as a backup: podium cannot move
     back from PostgreSQL to SQLite.
`)
}

// confirm asks a question on a terminal and reports whether the answer is
// want.
func confirm(in io.Reader, out io.Writer, question, want string) (bool, error) {
	fmt.Fprint(out, question)
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && line == "" {
		return false, nil
	}
	return strings.TrimSpace(line) == want, nil
}

func isTerminal(v any) bool {
	f, ok := v.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}

// progressState keeps the plan, the overall count and what each worker
// is doing across events, which come from several workers at once.
type progressState struct {
	mu      sync.Mutex
	plan    map[string]int64
	total   int64
	done    map[string]int64 // rows copied (or read) per table
	overall int64
	start   time.Time
	workers map[int]migrate.Event // each worker's last event
	phase   string                // the run's phase (keys, switch), or ""
}

func (s *progressState) update(e migrate.Event) {
	if s.plan == nil {
		s.plan = map[string]int64{}
		s.done = map[string]int64{}
		s.workers = map[int]migrate.Event{}
		s.start = time.Now()
	}
	switch e.Phase {
	case migrate.PhasePlan:
		for _, t := range e.Plan {
			s.plan[t.Name] = t.Rows
			s.total += t.Rows
		}
		s.start = time.Now()
		return
	case migrate.PhaseCopy, migrate.PhaseRead:
		s.overall += e.Rows - s.done[e.Table]
		s.done[e.Table] = e.Rows
	}
	if e.Worker == 0 {
		s.phase = e.Phase
		clear(s.workers)
		return
	}
	if e.Done && e.Phase != migrate.PhaseCopy {
		delete(s.workers, e.Worker)
		return
	}
	s.workers[e.Worker] = e
}

// line says what the run is doing: the overall count, then each worker's
// phase and table.
func (s *progressState) line() string {
	var b strings.Builder
	switch s.phase {
	case migrate.PhaseKeys:
		return "all tables copied, indexed and verified; checking foreign keys"
	case migrate.PhaseSwitch:
		return "switching the loaded tables into place"
	}
	b.WriteString(overall(s.overall, s.total, s.start))
	ids := make([]int, 0, len(s.workers))
	for id := range s.workers {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	for _, id := range ids {
		e := s.workers[id]
		fmt.Fprintf(&b, " | %d: %s %s", id, e.Phase, e.Table)
		if e.Phase == migrate.PhaseCopy || e.Phase == migrate.PhaseRead {
			fmt.Fprintf(&b, " %d/%d", e.Rows, s.plan[e.Table])
		}
	}
	return b.String()
}

// termProgress redraws one status line on a terminal, at most every
// 200 ms: the overall count, rows/s and ETA, then each worker's table.
type termProgress struct {
	progressState
	w     io.Writer
	last  time.Time
	drawn bool
}

func (p *termProgress) event(e migrate.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.update(e)
	if e.Phase == migrate.PhasePlan || (time.Since(p.last) < 200*time.Millisecond && e.Worker != 0) {
		return
	}
	p.last = time.Now()
	fmt.Fprintf(p.w, "\r\x1b[K%s", p.line())
	p.drawn = true
}

func (p *termProgress) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.drawn {
		fmt.Fprintln(p.w)
	}
}

func overall(done, total int64, start time.Time) string {
	el := time.Since(start).Seconds()
	rate := float64(done) / max(el, 1e-3)
	pct := 100 * float64(done) / float64(max(total, 1))
	eta := "?"
	if rate > 0 {
		eta = (time.Duration(float64(total-done)/rate) * time.Second).Round(time.Second).String()
	}
	return fmt.Sprintf("%d/%d (%.0f%%, %.0f rows/s, ETA %s)", done, total, pct, rate, eta)
}

// logProgress writes a log line every few seconds when not on a terminal,
// so that a long copy never looks like a hang.
type logProgress struct {
	progressState
	log   *logrus.Entry
	every time.Duration
	last  time.Time
}

func (p *logProgress) event(e migrate.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.update(e)
	if e.Phase == migrate.PhasePlan {
		p.log.WithFields(logrus.Fields{"tables": len(e.Plan), "rows": p.total}).Info("migrate db: snapshot taken")
		p.last = time.Now()
		return
	}
	if time.Since(p.last) < p.every && e.Worker != 0 {
		return
	}
	p.last = time.Now()
	p.log.WithField("progress", p.line()).Info("migrate db: progress")
}
