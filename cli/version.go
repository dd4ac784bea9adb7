package cli

import (
	"encoding/json"
	"fmt"

	"github.com/podiumhq/podium/schema"
	"github.com/spf13/cobra"
)

func (a *app) versionCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version of this binary and the schema version it knows",
		Example: `  podium version
  podium version --json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if asJSON {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(struct {
					Version string `json:"version"`
					Schema  int64  `json:"schema"`
				}{a.env.Version, schema.Latest()})
			}
			_, err := fmt.Fprintf(cmd.OutOrStdout(), "podium %s (schema %d)\n", a.env.Version, schema.Latest())
			return err
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, `print {"version": ..., "schema": N} where N is the highest schema version this binary knows`)
	return cmd
}
