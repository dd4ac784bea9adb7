package cli

import (
	"fmt"
	"io"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider/dbopen"
	"github.com/podiumhq/podium/schema"
	"github.com/spf13/cobra"
)

func (a *app) schemaRepairCmd() *cobra.Command {
	var dryRun, asJSON bool
	cmd := &cobra.Command{
		Use:   "repair",
		Short: "Fix the values of a SQLite database that the schema upgrade refuses, where one fix is safe",
		Long: `Fix, on your request, the values of a SQLite database that the upgrade to
this binary's schema refuses (values users entered: podium never changes
them on its own), where one fix is safe: NUL bytes removed from text,
invalid UTF-8 replaced with U+FFFD, integers clamped into PostgreSQL's
integer range. Everything else (a time in another form, JSON that does not
parse, a reference to a row that does not exist) is listed for a hand to fix.

Every value found is written, without its content, to a file in the
database's folder (table, row, column, rule, what repair does), named in
the output: the export of the refused rows.

--dry-run changes nothing and works beside a running node; without it the
node must be stopped (the database lock) and you should have a backup.
Exits 0 when nothing is left to fix by hand, 1 otherwise.`,
		Example: `  podium migrate schema repair --dry-run
  podium migrate schema repair`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := a.loadConfig()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			db, err := dbopen.Open(ctx, cfg, "", "migrate schema repair", !dryRun)
			if err != nil {
				return err
			}
			defer db.Close()
			rep, err := schema.Repair(ctx, db, dryRun, "")
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				if err := writeJSON(out, rep); err != nil {
					return err
				}
			} else {
				printRepair(out, rep)
			}
			if rep.Left > 0 {
				return podium.Errorf(podium.EPRECONDITION, "%d value(s) need a hand: see %s", rep.Left, rep.File)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVar(&dryRun, "dry-run", false, "change nothing: say what repair would do")
	f.BoolVar(&asJSON, "json", false, "print the report as JSON")
	return cmd
}

func printRepair(w io.Writer, r *schema.RepairReport) {
	if len(r.Columns) == 0 {
		fmt.Fprintln(w, "nothing to repair: every value is one the schema upgrade accepts")
		return
	}
	verb := "fixed"
	if r.DryRun {
		verb = "would fix"
	}
	for _, c := range r.Columns {
		fix := c.Fix
		if c.Fixed == 0 && fix == "" {
			fix = "by hand"
		}
		fmt.Fprintf(w, "  %s.%s (%s): %d found, %s %d: %s\n", c.Table, c.Column, c.Rule, c.Found, verb, c.Fixed, fix)
	}
	if r.Left > 0 {
		fmt.Fprintf(w, "%d value(s) need a hand (correct or delete those rows with the sqlite3 shell, node stopped, after a backup)\n", r.Left)
	}
	fmt.Fprintf(w, "every value found is listed in %s\n", r.File)
	if r.DryRun {
		fmt.Fprintln(w, "dry run: nothing was changed")
	}
}
