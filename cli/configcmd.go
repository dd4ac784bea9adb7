package cli

import (
	"github.com/spf13/cobra"
)

func (a *app) configCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Inspect the configuration",
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "dump",
		Short: "Print the effective configuration, secrets masked",
		Long: `Print the effective configuration (defaults, then the file, then PODIUM_*
environment variables) in gcfg format. Passwords are masked. Exits 2 if the
configuration is invalid, listing every problem.`,
		Example: `  podium config dump
  podium config dump --config /etc/podium/podium.gcfg`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := a.loadConfig()
			if err != nil {
				return err
			}
			return cfg.Dump(cmd.OutOrStdout())
		},
	})
	return cmd
}
