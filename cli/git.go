package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

func init() {
	extraCommands = append(extraCommands, func(a *app) *cobra.Command { return a.gitCmd() })
}

func (a *app) gitCmd() *cobra.Command {
	r := &remote{}
	cmd := &cobra.Command{
		Use:   "git",
		Short: "Set the credentials Podium fetches private git repositories with",
		Long: `Manage the account Podium uses for the http(s) repositories of a host, for
git-backed content (docs/publishing.md, "Git-backed content"), through a
server's API with an administrator's API key. Secrets are write-only: no one
reads them back.

The server and key come from --server/--api-key or PODIUM_SERVER/PODIUM_API_KEY.

Exit codes: 0 success, 1 failure (the server refused it: not an administrator,
unknown host), 2 bad input.`,
	}
	r.flags(cmd)
	cred := &cobra.Command{Use: "credential", Short: "List, set or delete the credential of a repository host"}
	cred.AddCommand(a.gitCredListCmd(r), a.gitCredSetCmd(r), a.gitCredDeleteCmd(r))
	cmd.AddCommand(cred)
	return cmd
}

func (a *app) gitCredListCmd(r *remote) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the hosts with a credential, and their user names",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := r.client(a, "git credential list")
			if err != nil {
				return err
			}
			ctx, cancel := signalContext(cmd.Context())
			defer cancel()
			list, err := c.GitCredentialList(ctx)
			if err != nil {
				return apiError(err)
			}
			for _, cr := range list {
				fmt.Fprintf(a.env.Stdout, "%s\t%s\n", cr.Host, cr.Username)
			}
			return nil
		},
	}
}

func (a *app) gitCredSetCmd(r *remote) *cobra.Command {
	var username, fromEnv string
	cmd := &cobra.Command{
		Use:   "set HOST",
		Short: "Set the user name and secret (password or token) for a host",
		Long: `Set the account for the http(s) repositories of HOST (a host name, with :port
if not the default). The secret is read from the environment variable named by
--secret-from-env, which keeps it off the command line.`,
		Example: `  GIT_TOKEN=... podium git credential set git.example.com --username deploy-bot --secret-from-env GIT_TOKEN`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if fromEnv == "" {
				return usageError{fmt.Errorf("git credential set needs --secret-from-env NAME")}
			}
			secret, ok := a.env.LookupEnv(fromEnv)
			if !ok || secret == "" {
				return usageError{fmt.Errorf("--secret-from-env %s: %s is not set in this environment", fromEnv, fromEnv)}
			}
			c, err := r.client(a, "git credential set")
			if err != nil {
				return err
			}
			ctx, cancel := signalContext(cmd.Context())
			defer cancel()
			cr, err := c.GitCredentialSet(ctx, args[0], username, secret)
			if err != nil {
				return apiError(err)
			}
			fmt.Fprintf(a.env.Stdout, "%s\t%s\n", cr.Host, cr.Username)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&username, "username", "", "the account's user name (for a token, what the host documents, e.g. x-access-token or oauth2)")
	f.StringVar(&fromEnv, "secret-from-env", "", "the environment variable that holds the password or token")
	return cmd
}

func (a *app) gitCredDeleteCmd(r *remote) *cobra.Command {
	return &cobra.Command{
		Use:   "delete HOST",
		Short: "Delete the credential of a host",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := r.client(a, "git credential delete")
			if err != nil {
				return err
			}
			ctx, cancel := signalContext(cmd.Context())
			defer cancel()
			if err := c.GitCredentialDelete(ctx, args[0]); err != nil {
				return apiError(err)
			}
			return nil
		},
	}
}
