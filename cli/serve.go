package cli

import (
	"errors"

	"github.com/podiumhq/podium"
	"github.com/sirupsen/logrus"
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
			if a.env.NewNode == nil {
				return podium.Errorf(podium.EREFUSED, "this binary cannot run a node (built without one)")
			}
			node := a.env.NewNode(cfg, log)
			if err := node.Open(ctx); err != nil {
				return logStartFailure(log, err)
			}
			defer node.Close()
			return node.Run(ctx)
		},
	}
}

// loggedError is an error already written to the log in its configured
// format: Main does not print it again as plain text.
type loggedError struct{ error }

func (e loggedError) Unwrap() error { return e.error }

// logStartFailure writes a refusal to start (a schema upgrade refused, a
// bad configuration) as one log entry when the log is JSON, so that log
// collectors get it whole and in the same format as the rest; a text log
// gets the usual "podium: ..." line from Main.
func logStartFailure(log *logrus.Logger, err error) error {
	if _, isJSON := log.Formatter.(*logrus.JSONFormatter); !isJSON {
		return err
	}
	log.WithFields(logrus.Fields{"component": "server", "exit_code": podium.ExitCode(err)}).Error(errorText(err))
	return loggedError{err}
}

// isLogged reports whether err was already logged (logStartFailure).
func isLogged(err error) bool {
	var l loggedError
	return errors.As(err, &l)
}
