// Package cli is the podium command line: the cobra command tree, flag and
// configuration handling, and the mapping of errors to exit codes (0
// success, 1 runtime failure, 2 refused, 3 schema mismatch). cmd/podium
// calls Main with the binary's version and the node that podium serve
// runs (Env): cli does not import server.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/config"
	"github.com/podiumhq/podium/dbprovider"
	"github.com/podiumhq/podium/dbprovider/dbopen"
	"github.com/podiumhq/podium/internal/logging"
	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"
)

// Env is what a command run sees of its process: streams, environment.
type Env struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	LookupEnv      func(string) (string, bool)
	// DefaultConfigPath overrides config.DefaultPath (tests).
	DefaultConfigPath string
	// Version is this binary's version (podium version, the clients'
	// User-Agent); "dev" when empty.
	Version string
	// NewNode builds the node podium serve opens and runs (cmd/podium
	// passes one that builds a server.Node). Nil: podium serve refuses.
	NewNode func(cfg *config.Config, log *logrus.Logger) Node
}

// Node is what podium serve runs: Open prepares it (its errors carry
// podium codes), Run serves until ctx ends, Close releases it.
type Node interface {
	Open(ctx context.Context) error
	Run(ctx context.Context) error
	Close()
}

// app holds the global flags and what commands share.
type app struct {
	env        Env
	configPath string
	logFormat  string
	logLevel   string
}

// Main runs the podium command with args (without the program name) and
// returns the process exit code.
func Main(ctx context.Context, args []string, env Env) int {
	if env.LookupEnv == nil {
		env.LookupEnv = os.LookupEnv
	}
	if env.Version == "" {
		env.Version = "dev"
	}
	a := &app{env: env}
	root := a.root()
	root.SetArgs(args)
	root.SetIn(env.Stdin)
	root.SetOut(env.Stdout)
	root.SetErr(env.Stderr)
	// cobra reports an unknown command with a plain error; Find fails only
	// for that, so ask it first and make it a usage error (exit 2). The
	// help and completion commands are added lazily: add them before.
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd(args...)
	guardGroups(root)
	if _, _, err := root.Find(args); err != nil {
		fmt.Fprintf(env.Stderr, "podium: %v\nRun 'podium --help' for usage.\n", err)
		return podium.ExitRefused
	}
	err := root.ExecuteContext(ctx)
	if err == nil {
		return podium.ExitOK
	}
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(env.Stderr, "podium: %v\nRun 'podium --help' for usage.\n", err)
		return podium.ExitRefused
	}
	if !isLogged(err) {
		fmt.Fprintf(env.Stderr, "podium: %s\n", errorText(err))
	}
	return podium.ExitCode(err)
}

// guardGroups gives every command that only groups subcommands (config,
// migrate, users, ...) a RunE: cobra would otherwise print help and exit 0
// for "podium migrate nope". Without arguments the group prints its help;
// with an unknown one it is a usage error (exit 2).
func guardGroups(cmd *cobra.Command) {
	for _, sub := range cmd.Commands() {
		guardGroups(sub)
	}
	if cmd.HasParent() && cmd.HasSubCommands() && !cmd.Runnable() {
		cmd.Args = func(c *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageError{fmt.Errorf("unknown command %q for %q", args[0], c.CommandPath())}
			}
			return nil
		}
		cmd.RunE = func(c *cobra.Command, args []string) error { return c.Help() }
	}
}

// errorText is what the user reads: the podium message when there is one
// (never internal detail that could hold a secret), else the error.
func errorText(err error) string {
	var pe *podium.Error
	if errors.As(err, &pe) && pe.Message != "" {
		return pe.Message
	}
	return err.Error()
}

// usageError marks bad flags or arguments (exit 2).
type usageError struct{ error }

func (a *app) root() *cobra.Command {
	root := &cobra.Command{
		Use:   "podium",
		Short: "Podium publishes static sites, rendered reports, and hosted apps and APIs",
		Long: `Podium is a self-hosted publishing server for data content.

It runs as a single node on an embedded SQLite database with no set-up, or as
a highly available cluster of nodes sharing one PostgreSQL database and one
data directory.

Exit codes: 0 success, 1 runtime failure, 2 refused (bad configuration or an
unsafe request), 3 schema mismatch (this binary is older than the database).`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usageError{err} })
	pf := root.PersistentFlags()
	pf.StringVar(&a.configPath, "config", "", "configuration file (default $PODIUM_CONFIG, else "+config.DefaultPath+" if it exists)")
	pf.StringVar(&a.logFormat, "log-format", "auto", "log format: auto (text on a terminal, JSON otherwise), text or json")
	pf.StringVar(&a.logLevel, "log-level", "info", "log level: error, warn, info, debug")
	root.AddCommand(a.serveCmd(), a.versionCmd(), a.configCmd())
	for _, add := range extraCommands {
		root.AddCommand(add(a))
	}
	return root
}

// extraCommands lets other files of this package add top-level commands
// (migrate, users, keys, deploy, ha) without editing root.
var extraCommands []func(*app) *cobra.Command

// loadConfig loads the configuration for a command.
func (a *app) loadConfig() (*config.Config, error) {
	return config.Load(config.Options{Path: a.configPath, LookupEnv: a.env.LookupEnv, DefaultPath: a.env.DefaultConfigPath})
}

// logger builds the logger of a command, on stderr.
func (a *app) logger() (*logrus.Logger, error) {
	return logging.New(a.env.Stderr, a.logFormat, a.logLevel)
}

// configAndLogger is loadConfig then logger, for the commands that log.
func (a *app) configAndLogger() (*config.Config, *logrus.Logger, error) {
	cfg, err := a.loadConfig()
	if err != nil {
		return nil, nil, err
	}
	log, err := a.logger()
	if err != nil {
		return nil, nil, err
	}
	return cfg, log, nil
}

// openDatabase loads the configuration and opens its database for an
// administrative command, without the SQLite lock, so that it works beside
// a running node; purpose names the command. The caller closes the database.
func (a *app) openDatabase(ctx context.Context, purpose string) (*config.Config, dbprovider.Provider, error) {
	cfg, err := a.loadConfig()
	if err != nil {
		return nil, nil, err
	}
	db, err := dbopen.Open(ctx, cfg, "", purpose, false)
	if err != nil {
		return nil, nil, err
	}
	return cfg, db, nil
}

// signalContext ends on SIGINT or SIGTERM.
func signalContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
}

// noArgs is cobra.NoArgs reported as a usage error.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageError{fmt.Errorf("%s takes no arguments, got %q", cmd.CommandPath(), args)}
	}
	return nil
}
