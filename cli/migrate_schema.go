package cli

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider/dbopen"
	"github.com/podiumhq/podium/schema"
	"github.com/spf13/cobra"
)

func init() {
	migrateSubcommands = append(migrateSubcommands, func(a *app) *cobra.Command { return a.migrateSchemaCmd() })
}

func (a *app) migrateSchemaCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "schema",
		Short: "Show, apply and rehearse the database schema migrations of this binary",
		Long: `Manage the database schema: the migrations embedded in this binary.

A node migrates the schema by itself when it starts; these commands are for
administrators who want to see where a cluster stands, to separate the schema
change from the restart, or to try the migrations in CI before an upgrade.
See docs/upgrading.md.`,
	}
	cmd.AddCommand(a.schemaStatusCmd(), a.schemaUpCmd(), a.schemaRehearseCmd(), a.schemaFinalizeCmd(), a.schemaRepairCmd())
	return cmd
}

func (a *app) schemaStatusCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the database's schema version, this binary's, the pending migrations and the nodes",
		Long: `Show the database's schema version, the highest version this binary knows,
the migrations this binary would apply, and every registered node with its
version, the schema it knows and its last heartbeat, so that a node still
running an old binary stands out (OUTDATED). Takes no lock; safe while nodes
run.`,
		Example: `  podium migrate schema status
  podium migrate schema status --json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			cfg, db, err := a.openDatabase(ctx, "migrate schema status")
			if err != nil {
				return err
			}
			defer db.Close()
			st, err := schema.StatusOf(ctx, db, cfg.HA.NodeTimeout)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), struct {
					Provider string `json:"provider"`
					Database string `json:"database"`
					*schema.Status
				}{db.Name(), db.Describe(), st})
			}
			return printSchemaStatus(cmd.OutOrStdout(), db.Name()+" "+db.Describe(), st)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the status as JSON")
	return cmd
}

func printSchemaStatus(w io.Writer, where string, st *schema.Status) error {
	fmt.Fprintf(w, "database:        %s\n", where)
	fmt.Fprintf(w, "database schema: %d\n", st.Database)
	fmt.Fprintf(w, "binary schema:   %d\n", st.Binary)
	fmt.Fprintf(w, "floor:           %d (the oldest binary schema that may serve; the cluster version)\n", st.Floor)
	switch {
	case st.DatabaseNewer:
		fmt.Fprintf(w, "this binary is below the database's floor: upgrade it before starting a node with it\n")
	case len(st.Pending) == 0:
		fmt.Fprintf(w, "pending:         none\n")
	default:
		fmt.Fprintf(w, "pending:         %d migration(s)\n", len(st.Pending))
		for _, m := range st.Pending {
			class := string(m.Class)
			if class == "" {
				class = "unmarked (treated as contract)"
			}
			fmt.Fprintf(w, "  %5d  %-40s %s\n", m.Version, m.Name, class)
		}
	}
	if st.BinaryOlder {
		fmt.Fprintf(w, "this binary:     older than the cluster (it knows schema %d; the database is at %d, the newest live node knows %d): "+
			"it cannot name the newer migrations; run \"podium migrate schema status\" with the newest binary for the full picture\n",
			st.Binary, st.Database, st.NewestLive)
	}
	if len(st.Deferred) > 0 {
		fmt.Fprintf(w, "deferred:        %d contract migration(s), applied by \"podium migrate schema finalize\" (with the newest binary):\n", len(st.Deferred))
		for _, m := range st.Deferred {
			name := m.Name
			if name == "" {
				name = "(unknown to this binary: recorded by the newer nodes)"
			}
			fmt.Fprintf(w, "  %5d  %s\n", m.Version, name)
		}
	}
	if st.UpgradeInProgress {
		if len(st.HeldBy) > 0 {
			fmt.Fprintf(w, "upgrade:         in progress; held up by %d node(s) on an older binary: %s\n", len(st.HeldBy), strings.Join(st.HeldBy, ", "))
		} else {
			fmt.Fprintf(w, "upgrade:         in progress; every live node runs a binary at schema %d or newer: run \"podium migrate schema finalize\" with that binary\n", max(st.Binary, st.NewestLive))
		}
	}
	fmt.Fprintf(w, "nodes:           %d registered\n", len(st.Nodes))
	if len(st.Nodes) == 0 {
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  NODE\tHOST\tPID\tVERSION\tSCHEMA\tSTATUS\tLAST HEARTBEAT\t")
	for _, n := range st.Nodes {
		note := ""
		switch {
		case n.Live && n.Outdated:
			note = "OUTDATED: upgrade this node"
		case n.Outdated:
			note = "outdated"
		case n.Live && n.Older:
			note = "older binary: holds the upgrade up"
		}
		if !n.Live && n.Status != podium.NodeStopped {
			note += " (no heartbeat: dead?)"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%d\t%s\t%d\t%s\t%s (%s ago)\t%s\n", n.ID, n.Hostname, n.PID, n.Version, n.SchemaVersion,
			n.Status, n.HeartbeatAt.UTC().Format(time.RFC3339), time.Duration(n.HeartbeatAge*float64(time.Second)).Round(time.Second), note)
	}
	return tw.Flush()
}

func (a *app) schemaUpCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "up",
		Short: "Apply the pending migrations of this binary",
		Long: `Apply the migrations this binary knows and the database lacks, under the
same lock as a starting node: on PostgreSQL the migration advisory lock
(concurrent migrators wait, nothing is applied twice); on SQLite the
database lock, so it is refused (exit 2) while a node runs: stop it first.
Each migration is logged with its duration. Exits 3 if this binary is
below the database's compatibility floor. While other nodes are live, only
expand migrations are applied and contract migrations are deferred to
"podium migrate schema finalize" (docs/upgrading.md, Rolling upgrades).`,
		Example: `  podium migrate schema up --config /etc/podium/podium.gcfg`,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, log, err := a.configAndLogger()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			db, err := dbopen.Open(ctx, cfg, "", "migrate schema up", true)
			if err != nil {
				return err
			}
			defer db.Close()
			migrated, err := schema.Up(ctx, db, log.WithField("component", "schema"), schema.Options{NodeTimeout: cfg.HA.NodeTimeout, DDLLockTimeout: cfg.Database.MigrationLockTimeout})
			out := cmd.OutOrStdout()
			for _, r := range migrated.Applied {
				fmt.Fprintf(out, "applied %s in %s\n", r.Name, r.Duration.Round(100*time.Microsecond))
			}
			for _, m := range migrated.Deferred {
				fmt.Fprintf(out, "deferred %s (contract; nodes are live): run \"podium migrate schema finalize\" once every node runs this binary\n", m.Name)
			}
			if err != nil {
				return err
			}
			v := migrated.Version
			if len(migrated.Applied) == 0 {
				fmt.Fprintf(out, "database schema is at version %d: nothing to apply\n", v)
			} else {
				fmt.Fprintf(out, "database schema is now at version %d\n", v)
			}
			return nil
		},
	}
}

func (a *app) schemaRehearseCmd() *cobra.Command {
	var (
		asJSON           bool
		lockTimeout      time.Duration
		statementTimeout time.Duration
	)
	cmd := &cobra.Command{
		Use:   "rehearse",
		Short: "Try the pending migrations without keeping them",
		Long: `Try the migrations this binary would apply, and keep none of them.

On PostgreSQL they run in one transaction that is rolled back, with
lock_timeout and statement_timeout set so that a rehearsal never holds up
production traffic for long; the report gives each migration's duration and
the time it waited for locks. On SQLite they run on a consistent copy of the
database file (VACUUM INTO a temporary file), never on the live file.

Exits 0 when every pending migration would apply, 1 when one fails (the
report names it, with the database's error), 3 when the database is newer
than this binary. Meant for CI: restore last night's backup, run rehearse
with the new binary, fail the pipeline if it fails.`,
		Example: `  podium migrate schema rehearse
  podium migrate schema rehearse --json --lock-timeout 500ms`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			_, db, err := a.openDatabase(ctx, "migrate schema rehearse")
			if err != nil {
				return err
			}
			defer db.Close()
			r, err := schema.Rehearse(ctx, db, schema.RehearseOptions{LockTimeout: lockTimeout, StatementTimeout: statementTimeout})
			if err != nil {
				return err
			}
			after, err := db.SchemaVersion(ctx)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				if err := writeJSON(out, struct {
					*schema.Rehearsal
					DatabaseAfter int64 `json:"database_schema_after"`
				}{r, after}); err != nil {
					return err
				}
			} else {
				printSchemaRehearsal(out, r, after)
			}
			if f := r.Failed(); f != nil {
				return podium.Errorf(podium.EPRECONDITION, "rehearsal failed: migration %s: %s", f.Name, f.Error)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVar(&asJSON, "json", false, "print the report as JSON")
	f.DurationVar(&lockTimeout, "lock-timeout", 2*time.Second, "PostgreSQL: fail a statement that waits longer than this for a lock")
	f.DurationVar(&statementTimeout, "statement-timeout", 5*time.Minute, "PostgreSQL: fail a statement that runs longer than this")
	return cmd
}

func printSchemaRehearsal(w io.Writer, r *schema.Rehearsal, after int64) {
	fmt.Fprintf(w, "rehearsal on %s (%s): schema %d -> %d\n", r.Provider, r.Method, r.From, r.To)
	if len(r.Steps) == 0 {
		fmt.Fprintf(w, "no pending migration: nothing to rehearse\n")
	}
	for _, s := range r.Steps {
		switch {
		case s.Skipped != "":
			fmt.Fprintf(w, "  %-40s %-9s skipped: %s\n", s.Name, classOf(s.Class), s.Skipped)
		case s.OK:
			fmt.Fprintf(w, "  %-40s %-9s ok      %10s  (lock wait %s)\n", s.Name, classOf(s.Class), s.Duration, s.LockWait)
		default:
			fmt.Fprintf(w, "  %-40s %-9s FAILED  %10s  (lock wait %s)\n    %s\n", s.Name, classOf(s.Class), s.Duration, s.LockWait, s.Error)
		}
	}
	if len(r.Rows) > 0 {
		fmt.Fprintf(w, "row checks (as a starting node makes them):\n")
		for _, p := range r.Rows {
			fmt.Fprintf(w, "  %s.%s: %d row(s): %s; %s (for example %s)\n", p.Table, p.Column, p.Count, p.Reason, p.Action, strings.Join(p.Examples, ", "))
		}
	}
	if len(r.Steps) > 0 && r.Roll != "" {
		if r.CanRoll {
			fmt.Fprintf(w, "rolling upgrade: possible: %s\n", r.Roll)
		} else {
			fmt.Fprintf(w, "rolling upgrade: NOT possible: %s\n", r.Roll)
		}
	}
	if r.OK {
		fmt.Fprintf(w, "every pending migration would apply (%s); nothing was kept: database schema still %d\n", r.Duration, after)
	} else {
		fmt.Fprintf(w, "rehearsal FAILED; nothing was kept: database schema still %d\n", after)
	}
}

func (a *app) schemaFinalizeCmd() *cobra.Command {
	var (
		retireOld bool
		wait      time.Duration
	)
	cmd := &cobra.Command{
		Use:   "finalize",
		Short: "End a rolling upgrade: apply the deferred contract migrations and raise the floor",
		Long: `End a rolling upgrade (docs/upgrading.md, Rolling upgrades).

While older nodes were live, the new nodes applied only the expand
migrations and deferred the contract ones. Once every live node runs this
binary, finalize applies the deferred migrations (under the migration lock)
and raises the database's compatibility floor, the cluster version, to this
binary's schema: features that older nodes could not handle turn on, and an
older binary started afterwards exits with code 3 at once.

Refused (exit 2), naming them, while a node of an older binary is live,
unless --retire-old: then the floor is raised first, the older nodes drain
and exit (code 3), finalize waits for them to leave (--wait) and then
applies the deferred migrations.`,
		Example: `  podium migrate schema finalize
  podium migrate schema finalize --retire-old`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, log, err := a.configAndLogger()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			db, err := dbopen.Open(ctx, cfg, "", "migrate schema finalize", true)
			if err != nil {
				return err
			}
			defer db.Close()
			f, err := schema.Finalize(ctx, db, log.WithField("component", "schema"), schema.FinalizeOptions{
				Options: schema.Options{NodeTimeout: cfg.HA.NodeTimeout, DDLLockTimeout: cfg.Database.MigrationLockTimeout}, RetireOld: retireOld, Wait: wait})
			out := cmd.OutOrStdout()
			for _, id := range f.Retired {
				fmt.Fprintf(out, "retired older node %s\n", id)
			}
			for _, r := range f.Applied {
				fmt.Fprintf(out, "applied %s in %s\n", r.Name, r.Duration.Round(100*time.Microsecond))
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "finalized: database schema %d, floor (cluster version) %d\n", f.Version, f.Floor)
			return nil
		},
	}
	cmd.Flags().BoolVar(&retireOld, "retire-old", false, "raise the floor even while older nodes are live: they drain and exit (code 3)")
	cmd.Flags().DurationVar(&wait, "wait", 60*time.Second, "with --retire-old: how long to wait for the older nodes to leave")
	return cmd
}

// classOf prints a migration class, "unmarked" for none.
func classOf(c schema.Class) string {
	if c == "" {
		return "unmarked"
	}
	return string(c)
}
