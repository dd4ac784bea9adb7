package cli

import (
	"github.com/podiumhq/podium/server"
	"github.com/spf13/cobra"
)

func (a *app) serveCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "serve",
		Short: "Run a Podium node",
		Long: `Run a Podium node until SIGTERM or SIGINT.

With no configuration file the node keeps its data in ./podium-data on an
embedded SQLite database and listens on :3939. On start it brings the
database schema to this binary's version; if the database is newer, it
refuses with exit code 3. While it runs it checks the schema every
[Database] SchemaCheckInterval and exits with code 3 if another node migrated
past it.`,
		Example: `  podium serve
  podium serve --config /etc/podium/podium.gcfg
  PODIUM_HTTP_LISTEN=127.0.0.1:8080 podium serve`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, log, err := a.configAndLogger()
			if err != nil {
				return err
			}
			ctx, stop := signalContext(cmd.Context())
			defer stop()
			node := server.New(cfg, log)
			if err := node.Open(ctx); err != nil {
				return err
			}
			defer node.Close()
			return node.Run(ctx)
		},
	}
}
