package cli

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/client"
	"github.com/spf13/cobra"
)

func init() {
	extraCommands = append(extraCommands, func(a *app) *cobra.Command { return a.contentCmd() })
}

// remote are the flags of the commands that call a server's API.
type remote struct{ server, apiKey string }

func (r *remote) flags(cmd *cobra.Command) {
	f := cmd.PersistentFlags()
	f.StringVar(&r.server, "server", "", "the server's URL, e.g. http://localhost:3939 (default $PODIUM_SERVER)")
	f.StringVar(&r.apiKey, "api-key", "", "your API key (default $PODIUM_API_KEY)")
}

// client returns an API client of the server, from the flags or the
// environment.
func (r *remote) client(a *app, what string) (*client.Client, error) {
	if r.server == "" {
		r.server, _ = a.env.LookupEnv("PODIUM_SERVER")
	}
	if r.apiKey == "" {
		r.apiKey, _ = a.env.LookupEnv("PODIUM_API_KEY")
	}
	if r.server == "" {
		return nil, usageError{fmt.Errorf("%s needs --server URL (or PODIUM_SERVER)", what)}
	}
	if r.apiKey == "" {
		return nil, usageError{fmt.Errorf("%s needs --api-key KEY (or PODIUM_API_KEY)", what)}
	}
	return client.New(client.Options{Server: r.server, APIKey: podium.Secret(r.apiKey), UserAgent: "podium-content/" + a.env.Version})
}

func (a *app) contentCmd() *cobra.Command {
	r := &remote{}
	cmd := &cobra.Command{
		Use:   "content",
		Short: "Change content on a server: access, schedule, environment, roll back",
		Long: `Change content through a server's API, as the dashboard's content settings do,
with the rights of the API key's user (the owner, a collaborator or an
administrator). Content is named by its GUID (the dashboard and "podium deploy"
show it).

The server and key come from --server/--api-key or PODIUM_SERVER/PODIUM_API_KEY.

Exit codes: 0 success, 1 runtime failure, 2 refused (bad input, no right to do
it, unknown content).`,
	}
	r.flags(cmd)
	cmd.AddCommand(a.contentAccessCmd(r), a.contentScheduleCmd(r), a.contentEnvCmd(r), a.contentRollbackCmd(r))
	return cmd
}

// oneGUID checks the argument list: one content GUID.
func oneGUID(cmd *cobra.Command, args []string) error {
	if len(args) != 1 {
		return usageError{fmt.Errorf("%s takes the content's GUID, got %d arguments", cmd.CommandPath(), len(args))}
	}
	return nil
}

func (a *app) contentAccessCmd(r *remote) *cobra.Command {
	var (
		accessType string
		add, drop  []string
	)
	cmd := &cobra.Command{
		Use:   "access GUID",
		Short: "Show or change who may see content",
		Long: `Without flags, print the access type and the access list. --type sets the
access type: acl (only the people on the list), logged_in (anyone logged in) or
all (anyone, without logging in). --add USER[=ROLE] adds a user as a viewer
(the default) or a collaborator, or changes their role; --remove USER takes
them off. Changing access is for the owner and administrators.`,
		Example: `  podium content access $GUID --type acl --add alice --add bob=collaborator
  podium content access $GUID --remove alice`,
		Args: oneGUID,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := r.client(a, "content access")
			if err != nil {
				return err
			}
			ctx, cancel := signalContext(cmd.Context())
			defer cancel()
			guid := args[0]
			p, err := c.PermissionsGet(ctx, guid)
			if err != nil {
				return apiError(err)
			}
			if accessType != "" || len(add) > 0 || len(drop) > 0 {
				if p, err = changeAccess(p, accessType, add, drop); err != nil {
					return err
				}
				if p, err = c.PermissionsSet(ctx, guid, p); err != nil {
					return apiError(err)
				}
			}
			fmt.Fprintf(a.env.Stdout, "access type: %s\n", p.AccessType)
			for _, e := range p.Permissions {
				if e.PrincipalType == "group" {
					fmt.Fprintf(a.env.Stdout, "group %s\t%s\n", e.Name, e.Role)
					continue
				}
				fmt.Fprintf(a.env.Stdout, "%s\t%s\n", e.Username, e.Role)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&accessType, "type", "", "the access type: acl, logged_in or all")
	f.StringArrayVar(&add, "add", nil, "add USER or USER=viewer|collaborator (repeatable)")
	f.StringArrayVar(&drop, "remove", nil, "remove USER (repeatable)")
	return cmd
}

// changeAccess applies the flags of "content access" to p. Returns a
// usage error for a bad role or an unknown user to remove.
func changeAccess(p *client.Permissions, accessType string, add, remove []string) (*client.Permissions, error) {
	out := &client.Permissions{AccessType: accessType, Permissions: append([]client.Permission(nil), p.Permissions...)}
	for _, name := range remove {
		kept := out.Permissions[:0]
		for _, e := range out.Permissions {
			if e.PrincipalType == "group" || e.Username != name {
				kept = append(kept, e)
			}
		}
		if len(kept) == len(out.Permissions) {
			return nil, usageError{fmt.Errorf("--remove %s: not on the access list", name)}
		}
		out.Permissions = kept
	}
	for _, s := range add {
		name, role, _ := strings.Cut(s, "=")
		if role == "" {
			role = podium.ACLViewer
		}
		if name == "" || (role != podium.ACLViewer && role != podium.ACLCollaborator) {
			return nil, usageError{fmt.Errorf("--add %q: give USER or USER=viewer or USER=collaborator", s)}
		}
		found := false
		for i := range out.Permissions {
			if out.Permissions[i].PrincipalType != "group" && out.Permissions[i].Username == name {
				out.Permissions[i].Role, found = role, true
			}
		}
		if !found {
			out.Permissions = append(out.Permissions, client.Permission{Username: name, Role: role})
		}
	}
	return out, nil
}

func (a *app) contentScheduleCmd(r *remote) *cobra.Command {
	var (
		spec, timezone string
		disable, del   bool
	)
	cmd := &cobra.Command{
		Use:   "schedule GUID",
		Short: "Show, set or remove a report's schedule",
		Long: `Without flags, print the schedule and its next run. --set SPEC sets it: a cron
expression (five fields, six with seconds first) or a descriptor such as
@daily or "@every 2h" (whole seconds), in --timezone (an IANA name, default
UTC); --disable keeps it but pauses it. --remove removes it. A spec that
would not run as written is refused with the reason.`,
		Example: `  podium content schedule $GUID --set "0 6 * * 1-5" --timezone Europe/Paris
  podium content schedule $GUID --remove`,
		Args: oneGUID,
		RunE: func(cmd *cobra.Command, args []string) error {
			if del && spec != "" {
				return usageError{errors.New("give --set or --remove, not both")}
			}
			c, err := r.client(a, "content schedule")
			if err != nil {
				return err
			}
			ctx, cancel := signalContext(cmd.Context())
			defer cancel()
			guid := args[0]
			switch {
			case del:
				if err := c.ScheduleDelete(ctx, guid); err != nil {
					return apiError(err)
				}
				fmt.Fprintln(a.env.Stdout, "not scheduled")
				return nil
			case spec != "":
				s, err := c.SchedulePut(ctx, guid, spec, timezone, !disable)
				if err != nil {
					return apiError(err)
				}
				return printSchedule(a, s)
			}
			s, err := c.ScheduleGet(ctx, guid)
			if client.IsStatus(err, http.StatusNotFound) {
				if _, gerr := c.ContentGet(ctx, guid); gerr != nil {
					return apiError(gerr)
				}
				fmt.Fprintln(a.env.Stdout, "not scheduled")
				return nil
			} else if err != nil {
				return apiError(err)
			}
			return printSchedule(a, s)
		},
	}
	f := cmd.Flags()
	f.StringVar(&spec, "set", "", "the schedule: a cron expression or a descriptor such as @daily")
	f.StringVar(&timezone, "timezone", "", "the schedule's IANA time zone (default UTC)")
	f.BoolVar(&disable, "disable", false, "with --set: keep the schedule paused")
	f.BoolVar(&del, "remove", false, "remove the schedule")
	return cmd
}

func printSchedule(a *app, s *client.Schedule) error {
	state := "enabled"
	if !s.Enabled {
		state = "paused"
	}
	next := "—"
	if s.NextRunAt != nil {
		next = s.NextRunAt.UTC().Format(time.RFC3339)
	}
	_, err := fmt.Fprintf(a.env.Stdout, "schedule: %s\ntimezone: %s\nstate: %s\nnext run: %s\n", s.Spec, s.Timezone, state, next)
	return err
}

func (a *app) contentEnvCmd(r *remote) *cobra.Command {
	var set, fromEnv, unset []string
	cmd := &cobra.Command{
		Use:   "env GUID",
		Short: "List, set or remove content's environment variables (values are never shown)",
		Long: `Without flags, print the names of the content's environment variables (values
are write-only: no one reads them back). --set NAME=VALUE sets one; --from-env
NAME sets NAME to the value it has in this command's own environment, which
keeps the value off the command line; --unset NAME removes one. All changes
apply together or not at all.`,
		Example: `  DB_PASSWORD=... podium content env $GUID --from-env DB_PASSWORD --set REGION=eu
  podium content env $GUID --unset OLD_TOKEN`,
		Args: oneGUID,
		RunE: func(cmd *cobra.Command, args []string) error {
			var changes []client.EnvChange
			for _, s := range set {
				name, value, ok := strings.Cut(s, "=")
				if !ok || name == "" {
					return usageError{fmt.Errorf("--set %q: give NAME=VALUE", name)}
				}
				changes = append(changes, client.EnvChange{Name: name, Value: &value})
			}
			for _, name := range fromEnv {
				value, ok := a.env.LookupEnv(name)
				if !ok {
					return usageError{fmt.Errorf("--from-env %s: %s is not set in this environment", name, name)}
				}
				changes = append(changes, client.EnvChange{Name: name, Value: &value})
			}
			for _, name := range unset {
				changes = append(changes, client.EnvChange{Name: name})
			}
			c, err := r.client(a, "content env")
			if err != nil {
				return err
			}
			ctx, cancel := signalContext(cmd.Context())
			defer cancel()
			var names []string
			if len(changes) > 0 {
				names, err = c.EnvUpdate(ctx, args[0], changes)
			} else {
				names, err = c.EnvNames(ctx, args[0])
			}
			if err != nil {
				return apiError(err)
			}
			sort.Strings(names)
			for _, n := range names {
				fmt.Fprintln(a.env.Stdout, n)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&set, "set", nil, "set NAME=VALUE (repeatable)")
	f.StringArrayVar(&fromEnv, "from-env", nil, "set NAME to its value in this environment (repeatable)")
	f.StringArrayVar(&unset, "unset", nil, "remove NAME (repeatable)")
	return cmd
}

func (a *app) contentRollbackCmd(r *remote) *cobra.Command {
	var (
		bundleID int64
		poll     time.Duration
	)
	cmd := &cobra.Command{
		Use:   "rollback GUID",
		Short: "Deploy an earlier bundle again (by default the one before the active bundle)",
		Long: `Deploy an earlier bundle of the content again, streaming the deployment's
output: --bundle ID, or by default the newest bundle older than the active one.
A report is rendered from that bundle as at any deployment.`,
		Example: `  podium content rollback $GUID
  podium content rollback $GUID --bundle 3`,
		Args: oneGUID,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := r.client(a, "content rollback")
			if err != nil {
				return err
			}
			ctx, cancel := signalContext(cmd.Context())
			defer cancel()
			return a.rollback(ctx, c, args[0], bundleID, poll)
		},
	}
	f := cmd.Flags()
	f.Int64Var(&bundleID, "bundle", 0, "the bundle to deploy (default: the one before the active bundle)")
	f.DurationVar(&poll, "poll-interval", 500*time.Millisecond, "how often to poll the deployment's progress")
	return cmd
}

func (a *app) rollback(ctx context.Context, c *client.Client, guid string, bundleID int64, poll time.Duration) error {
	if bundleID == 0 {
		list, err := c.BundleList(ctx, guid)
		if err != nil {
			return apiError(err)
		}
		var active int64
		for _, b := range list {
			if b.Active {
				active = b.ID
			}
		}
		for _, b := range list {
			if active != 0 && b.ID < active && b.ID > bundleID {
				bundleID = b.ID
			}
		}
		if bundleID == 0 {
			return podium.Errorf(podium.EPRECONDITION, "content %s has no bundle older than the active one to roll back to: give --bundle ID", guid)
		}
	}
	fmt.Fprintf(a.env.Stderr, "Deploying bundle %d\n", bundleID)
	taskID, err := c.Deploy(ctx, guid, bundleID)
	if err != nil {
		return apiError(err)
	}
	t, err := c.WaitTask(ctx, taskID, poll, func(line string) { fmt.Fprintln(a.env.Stderr, "  "+line) })
	if err != nil {
		return apiError(err)
	}
	if t.Code != 0 {
		return podium.Errorf(podium.EPRECONDITION, "deployment failed: %s", t.Error)
	}
	_, err = fmt.Fprintf(a.env.Stdout, "bundle %d is active\n", bundleID)
	return err
}
