package cli

import "github.com/spf13/cobra"

// migrateSubcommands lets the files of each migrate subcommand (db, schema)
// add themselves under "podium migrate".
var migrateSubcommands []func(*app) *cobra.Command

func init() {
	extraCommands = append(extraCommands, func(a *app) *cobra.Command {
		cmd := &cobra.Command{
			Use:   "migrate",
			Short: "Move data between databases and manage the database schema",
		}
		for _, add := range migrateSubcommands {
			cmd.AddCommand(add(a))
		}
		return cmd
	})
}
