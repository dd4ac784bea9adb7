package cli

import (
	"context"
	"fmt"

	"github.com/podiumhq/podium"
	"github.com/spf13/cobra"
)

func init() {
	extraCommands = append(extraCommands, func(a *app) *cobra.Command {
		cmd := &cobra.Command{
			Use:   "groups",
			Short: "Create, list and delete groups, and manage the members of local groups",
			Long: `Manage groups directly on the configured database, as the
/__api__/v1/groups API does. Local groups are managed here; a provider's
groups (LDAP, OpenID Connect, SAML, proxy) and their members come from the
provider at each member's sign-in.

Exit codes: 0 success, 1 runtime failure, 2 refused (invalid input, a name
that is taken, an unknown group or user, a provider's group), 3 schema
mismatch.`,
		}
		cmd.AddCommand(a.groupsListCmd(), a.groupsCreateCmd(), a.groupsDeleteCmd(), a.groupsMemberCmd(true), a.groupsMemberCmd(false))
		return cmd
	})
}

func (a *app) usersDeleteCmd() *cobra.Command {
	var username string
	cmd := &cobra.Command{
		Use:   "delete",
		Short: "Delete a user with their API keys and sessions (refused while they own content)",
		Long: `Delete a user: their API keys stop working and their sessions end on every
node. Refused (exit 2) while the user owns content: give it another owner or
delete it first, or lock the user instead (podium users lock).`,
		Example: `  podium users delete --username alice`,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			d, u, err := a.openAccountsUser(ctx, "users delete", username)
			if err != nil {
				return err
			}
			defer d.Close()
			if err := d.auth.DeleteUser(ctx, u.ID); err != nil {
				if podium.IsCode(err, podium.EPRECONDITION) {
					return podium.Errorf(podium.EREFUSED, "%s", podium.ErrorMessage(err))
				}
				return err
			}
			d.audit(ctx, a, podium.AuditUserDelete, "user:"+u.Username)
			fmt.Fprintf(a.env.Stdout, "user %s deleted\n", u.Username)
			return nil
		},
	}
	cmd.Flags().StringVar(&username, "username", "", "the user (required)")
	return cmd
}

func (a *app) groupsListCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List groups with their provider and members",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			d, err := a.openAccounts(ctx, "groups list")
			if err != nil {
				return err
			}
			defer d.Close()
			gs, err := d.auth.ListGroups(ctx)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.env.Stdout, "%-32s %-10s %s\n", "NAME", "PROVIDER", "MEMBERS")
			for _, g := range gs {
				ms, err := d.auth.ListGroupMembers(ctx, g.ID)
				if err != nil {
					return err
				}
				names := ""
				for i, m := range ms {
					if i > 0 {
						names += ","
					}
					names += m.Username
				}
				prov := g.Provider
				if prov == "" {
					prov = "local"
				}
				fmt.Fprintf(a.env.Stdout, "%-32s %-10s %s\n", g.Name, prov, names)
			}
			return nil
		},
	}
}

// localGroupByName finds a local group for a command (exit 2 when none).
func (d *accountsDB) localGroupByName(ctx context.Context, name string) (*podium.Group, error) {
	if name == "" {
		return nil, podium.Errorf(podium.EINVALID, "--name is required")
	}
	g, err := d.db.GroupGetByName(ctx, "", name)
	if podium.IsCode(err, podium.ENOTFOUND) {
		return nil, podium.Errorf(podium.EINVALID, "no local group named %q (see podium groups list)", name)
	}
	return g, err
}

func (a *app) groupsCreateCmd() *cobra.Command {
	var name string
	cmd := &cobra.Command{
		Use:     "create",
		Short:   "Create a local group",
		Example: `  podium groups create --name analysts`,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			d, err := a.openAccounts(ctx, "groups create")
			if err != nil {
				return err
			}
			defer d.Close()
			g, err := d.auth.CreateGroup(ctx, name)
			if podium.IsCode(err, podium.ECONFLICT) {
				return podium.Errorf(podium.EREFUSED, "%s", podium.ErrorMessage(err))
			} else if err != nil {
				return err
			}
			d.audit(ctx, a, podium.AuditGroupCreate, "group:"+g.Name)
			fmt.Fprintf(a.env.Stdout, "group %s created\n", g.Name)
			return nil
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "the group's name (required)")
	return cmd
}

func (a *app) groupsDeleteCmd() *cobra.Command {
	var name string
	cmd := &cobra.Command{
		Use:     "delete",
		Short:   "Delete a local group with its memberships and its grants on content",
		Example: `  podium groups delete --name analysts`,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			d, err := a.openAccounts(ctx, "groups delete")
			if err != nil {
				return err
			}
			defer d.Close()
			g, err := d.localGroupByName(ctx, name)
			if err != nil {
				return err
			}
			if err := d.auth.DeleteGroup(ctx, g.ID); err != nil {
				return err
			}
			d.audit(ctx, a, podium.AuditGroupDelete, "group:"+g.Name)
			fmt.Fprintf(a.env.Stdout, "group %s deleted\n", g.Name)
			return nil
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "the group's name (required)")
	return cmd
}

// groupsMemberCmd is "groups add-member" (add) or "groups remove-member".
func (a *app) groupsMemberCmd(add bool) *cobra.Command {
	var name, username string
	use, short, action := "remove-member", "Remove a user from a local group", podium.AuditGroupDelMember
	if add {
		use, short, action = "add-member", "Add a user to a local group", podium.AuditGroupAddMember
	}
	cmd := &cobra.Command{
		Use:     use,
		Short:   short,
		Example: "  podium groups " + use + " --name analysts --username alice",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			d, u, err := a.openAccountsUser(ctx, "groups "+use, username)
			if err != nil {
				return err
			}
			defer d.Close()
			g, err := d.localGroupByName(ctx, name)
			if err != nil {
				return err
			}
			if add {
				err = d.auth.AddGroupMember(ctx, g.ID, u.ID)
			} else {
				err = d.auth.RemoveGroupMember(ctx, g.ID, u.ID)
			}
			if podium.IsCode(err, podium.ENOTFOUND) {
				return podium.Errorf(podium.EINVALID, "%s", podium.ErrorMessage(err))
			} else if err != nil {
				return err
			}
			d.audit(ctx, a, action, "group:"+g.Name)
			fmt.Fprintf(a.env.Stdout, "%s: %s %s\n", g.Name, use, u.Username)
			return nil
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "the group (required)")
	cmd.Flags().StringVar(&username, "username", "", "the user (required)")
	return cmd
}
