package cli

import (
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider"
	"github.com/spf13/cobra"
)

func init() {
	extraCommands = append(extraCommands, func(a *app) *cobra.Command {
		cmd := &cobra.Command{
			Use:   "keys",
			Short: "Create, list and revoke API keys",
			Long: `Manage API keys directly on the configured database, also while a node runs
(on SQLite too, once the node has created the database).

Clients send a key as "Authorization: Key <key>". Only a hash of each key is
stored: a key is shown once, when it is created, and cannot be shown again.

Exit codes: 0 success, 1 runtime failure, 2 refused (invalid input, an
unknown user or key), 3 schema mismatch.`,
		}
		cmd.AddCommand(a.keysCreateCmd(), a.keysListCmd(), a.keysRevokeCmd())
		return cmd
	})
}

func (a *app) keysCreateCmd() *cobra.Command {
	var username, name string
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create an API key for a user and print it alone on standard output",
		Example: `  KEY=$(podium keys create --username alice --name laptop)
  curl -H "Authorization: Key $KEY" https://podium.example.com/__api__/v1/user`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			d, u, err := a.openAccountsUser(ctx, "keys create", username)
			if err != nil {
				return err
			}
			defer d.Close()
			key, rec, err := d.auth.CreateAPIKey(ctx, u.ID, name)
			if err != nil {
				return err
			}
			d.audit(ctx, a, podium.AuditKeyCreate, "key:"+strconv.FormatInt(rec.ID, 10))
			_, err = fmt.Fprintln(a.env.Stdout, key)
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&username, "username", "", "the key's user (required)")
	f.StringVar(&name, "name", "cli", "a name to recognize the key by in listings")
	return cmd
}

func (a *app) keysListCmd() *cobra.Command {
	var (
		username string
		asJSON   bool
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the active API keys of a user, or of every user (never the keys themselves)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			d, err := a.openAccounts(ctx, "keys list")
			if err != nil {
				return err
			}
			defer d.Close()
			var owner int64
			names := map[int64]string{}
			if username != "" {
				u, err := d.userByName(ctx, username)
				if err != nil {
					return err
				}
				owner = u.ID
				names[u.ID] = u.Username
			} else {
				users, err := d.auth.ListUsers(ctx)
				if err != nil {
					return err
				}
				for _, u := range users {
					names[u.ID] = u.Username
				}
			}
			keys, err := d.auth.ListAPIKeys(ctx, owner)
			if err != nil {
				return err
			}
			return writeList(a.env.Stdout, asJSON, keys, "ID\tUSER\tNAME\tPREFIX\tCREATED\tLAST USED", func(w io.Writer, k *dbprovider.APIKey) {
				used := "never"
				if k.LastUsedAt != nil {
					used = k.LastUsedAt.Format(time.RFC3339)
				}
				fmt.Fprintf(w, "%d\t%s\t%s\t%s…\t%s\t%s\n", k.ID, names[k.UserID], k.Name, k.Prefix, k.CreatedAt.Format(time.RFC3339), used)
			})
		},
	}
	cmd.Flags().StringVar(&username, "username", "", "only this user's keys")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON array")
	return cmd
}

func (a *app) keysRevokeCmd() *cobra.Command {
	var (
		username, name string
		id             int64
	)
	cmd := &cobra.Command{
		Use:   "revoke",
		Short: "Revoke an API key, by user and name or by id",
		Long: `Revoke an API key: requests with it get 401 from then on, on every node.

Name the key with --username and --name, or with --id (from podium keys
list). When several active keys of the user share the name, revoke by --id.`,
		Example: `  podium keys revoke --username alice --name laptop
  podium keys revoke --id 42`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if (id == 0) == (name == "") {
				return podium.Errorf(podium.EINVALID, "name the key with --username and --name, or with --id")
			}
			ctx := cmd.Context()
			d, err := a.openAccounts(ctx, "keys revoke")
			if err != nil {
				return err
			}
			defer d.Close()
			if id != 0 {
				var owner int64
				if username != "" {
					u, err := d.userByName(ctx, username)
					if err != nil {
						return err
					}
					owner = u.ID
				}
				if err := d.auth.RevokeAPIKey(ctx, owner, id); err != nil {
					if podium.IsCode(err, podium.ENOTFOUND) {
						return podium.Errorf(podium.EINVALID, "no active API key with id %d", id)
					}
					return err
				}
				d.audit(ctx, a, podium.AuditKeyRevoke, "key:"+strconv.FormatInt(id, 10))
				fmt.Fprintf(a.env.Stdout, "revoked API key %d\n", id)
				return nil
			}
			u, err := d.userByName(ctx, username)
			if err != nil {
				return err
			}
			k, err := d.auth.RevokeAPIKeyByName(ctx, u.ID, name)
			if podium.IsCode(err, podium.ENOTFOUND) {
				return podium.Errorf(podium.EINVALID, "%s has no active API key named %q", u.Username, name)
			}
			if err != nil {
				return err
			}
			d.audit(ctx, a, podium.AuditKeyRevoke, "key:"+strconv.FormatInt(k.ID, 10))
			fmt.Fprintf(a.env.Stdout, "revoked API key %d (%s of %s)\n", k.ID, k.Name, u.Username)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&username, "username", "", "the key's user")
	f.StringVar(&name, "name", "", "the key's name")
	f.Int64Var(&id, "id", 0, "the key's id")
	return cmd
}
