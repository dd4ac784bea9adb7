package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/hacheck"
	"github.com/podiumhq/podium/schema"
	"github.com/spf13/cobra"
)

func init() {
	extraCommands = append(extraCommands, func(a *app) *cobra.Command {
		ha := &cobra.Command{Use: "ha", Short: "Operate a cluster of nodes"}
		ha.AddCommand(a.haCheckCmd())
		return ha
	})
}

// errChecksFailed makes podium ha check exit 1 after printing its table.
var errChecksFailed = podium.Errorf(podium.EINTERNAL, "some HA checks failed")

func (a *app) haCheckCmd() *cobra.Command {
	var (
		asJSON bool
		lb     string
	)
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Check the running cluster against the HA checklist",
		Long: `Check the running cluster against the HA checklist (docs/ha-checklist.md):
the same version and schema on every live node, PostgreSQL with HA enabled,
a shared DataDir (each node reports which nodes' marker files it sees), a
consistent LandingDir, a unique metrics DataPath per node, clock offsets
against the database, the same uid/gid for the app user and group, a node
that runs scheduled work and, with --lb, sticky sessions at the load
balancer.

It reads what the running nodes report in the database, so run it with the
configuration of any node. Prints one row per item (pass, warn, fail) and
exits 1 when any item fails.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
			defer cancel()
			cfg, db, err := a.openDatabase(ctx, "ha check")
			if err != nil {
				return err
			}
			defer db.Close()
			// Nodes that just started are seen by the others at their
			// next heartbeat: wait for it rather than report them pending.
			results, err := hacheck.Run(ctx, db, hacheck.Options{NodeTimeout: cfg.HA.NodeTimeout,
				ClockWarn: cfg.HA.ClockWarnOffset, ClockFail: cfg.HA.ClockFailOffset, BinarySchema: schema.Latest(), LB: lb,
				Wait: min(2*cfg.HA.HeartbeatInterval, 20*time.Second)})
			if err != nil {
				return err
			}
			if asJSON {
				err = hacheck.WriteJSON(a.env.Stdout, results)
			} else {
				err = hacheck.WriteTable(a.env.Stdout, results)
			}
			if err != nil {
				return fmt.Errorf("ha check: %w", err)
			}
			if hacheck.Failed(results) {
				return errChecksFailed
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON array of results")
	cmd.Flags().StringVar(&lb, "lb", "", "also check the load balancer at this base URL (sticky cookie, /__ping__)")
	return cmd
}
