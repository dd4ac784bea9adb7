package cli

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/schema"
	"github.com/podiumhq/podium/server"
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
	cmd.AddCommand(a.schemaStatusCmd(), a.schemaUpCmd(), a.schemaRehearseCmd())
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
	switch {
	case st.DatabaseNewer:
		fmt.Fprintf(w, "this binary is older than the database: upgrade it before starting a node with it\n")
	case len(st.Pending) == 0:
		fmt.Fprintf(w, "pending:         none\n")
	default:
		fmt.Fprintf(w, "pending:         %d migration(s)\n", len(st.Pending))
		for _, m := range st.Pending {
			fmt.Fprintf(w, "  %5d  %s\n", m.Version, m.Name)
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
		if n.Live && n.Outdated {
			note = "OUTDATED: upgrade this node"
		} else if n.Outdated {
			note = "outdated"
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
Each migration is logged with its duration. Exits 3 if the database is
newer than this binary.`,
		Example: `  podium migrate schema up --config /etc/podium/podium.gcfg`,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, log, err := a.configAndLogger()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			db, err := server.OpenDatabase(ctx, cfg, "", "migrate schema up", true)
			if err != nil {
				return err
			}
			defer db.Close()
			migrated, err := schema.Up(ctx, db, log.WithField("component", "schema"), schema.Options{})
			out := cmd.OutOrStdout()
			for _, r := range migrated.Applied {
				fmt.Fprintf(out, "applied %s in %s\n", r.Name, r.Duration.Round(100*time.Microsecond))
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
			fmt.Fprintf(w, "  %-40s skipped: %s\n", s.Name, s.Skipped)
		case s.OK:
			fmt.Fprintf(w, "  %-40s ok      %10s  (lock wait %s)\n", s.Name, s.Duration, s.LockWait)
		default:
			fmt.Fprintf(w, "  %-40s FAILED  %10s  (lock wait %s)\n    %s\n", s.Name, s.Duration, s.LockWait, s.Error)
		}
	}
	if r.OK {
		fmt.Fprintf(w, "every pending migration would apply (%s); nothing was kept: database schema still %d\n", r.Duration, after)
	} else {
		fmt.Fprintf(w, "rehearsal FAILED; nothing was kept: database schema still %d\n", after)
	}
}
