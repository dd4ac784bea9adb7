package cli

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/auth"
	"github.com/podiumhq/podium/dbprovider"
	"github.com/podiumhq/podium/dbprovider/dbopen"
	"github.com/podiumhq/podium/schema"
	"github.com/spf13/cobra"
)

func init() {
	extraCommands = append(extraCommands, func(a *app) *cobra.Command {
		cmd := &cobra.Command{
			Use:   "users",
			Short: "Create and list user accounts",
			Long: `Manage user accounts directly on the configured database.

These commands work while a node runs, on PostgreSQL and on SQLite alike;
on SQLite the node must have been started once to create the database.

Exit codes: 0 success, 1 runtime failure, 2 refused (invalid input, a
username that is taken, an unknown user), 3 schema mismatch.`,
		}
		cmd.AddCommand(a.usersCreateCmd(), a.usersListCmd(), a.usersSetPasswordCmd(), a.usersLockCmd(true), a.usersLockCmd(false),
			a.usersSetRoleCmd(), a.usersEndSessionsCmd(), a.usersDeleteCmd())
		return cmd
	})
}

// accountsDB is the database and accounts service of an administrative
// command.
type accountsDB struct {
	db   dbprovider.Provider
	auth *auth.Service
}

func (d *accountsDB) Close() { _ = d.db.Close() }

// audit records an administrative command in the audit log (no actor:
// whoever runs the command on the host; detail says so). A failed write
// is reported on standard error and does not fail the command, which has
// already done its work.
func (d *accountsDB) audit(ctx context.Context, a *app, action, target string) {
	host, _ := os.Hostname()
	detail, _ := json.Marshal(map[string]any{"via": "cli", "host": host, "pid": os.Getpid()})
	if err := d.db.AuditInsert(context.WithoutCancel(ctx), &dbprovider.AuditInsertParams{Action: action, Target: target, Detail: string(detail)}); err != nil {
		fmt.Fprintf(a.env.Stderr, "warning: cannot write the audit log: %v\n", err)
	}
}

// openAccounts opens the configured database without the SQLite lock (so
// that it works beside a running node) and refuses a schema that is not
// this binary's.
func (a *app) openAccounts(ctx context.Context, purpose string) (*accountsDB, error) {
	cfg, log, err := a.configAndLogger()
	if err != nil {
		return nil, err
	}
	db, err := dbopen.Open(ctx, cfg, "", purpose, false)
	if err != nil {
		return nil, err
	}
	v, err := schema.Check(ctx, db)
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	// Deferred contract migrations (a rolling upgrade not finalized yet)
	// are fine: this binary's code works without them.
	pending, err := schema.PendingMigrations(ctx, db)
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	for _, m := range pending {
		if !m.Deferrable() || v == 0 {
			_ = db.Close()
			return nil, podium.Errorf(podium.EREFUSED,
				"database schema version %d is older than this binary (%d): start the node once (podium serve) or run \"podium migrate schema up\"", v, schema.Latest())
		}
	}
	svc := auth.New(db, log.WithField("component", "auth"), auth.OptionsFromConfig(cfg, auth.Options{}))
	return &accountsDB{db: db, auth: svc}, nil
}

// userByName finds a user for a command: an unknown user is invalid input
// (exit 2).
func (d *accountsDB) userByName(ctx context.Context, username string) (*podium.User, error) {
	if username == "" {
		return nil, podium.Errorf(podium.EINVALID, "--username is required")
	}
	u, err := d.auth.GetUserByName(ctx, username)
	if podium.IsCode(err, podium.ENOTFOUND) {
		return nil, podium.Errorf(podium.EINVALID, "no user named %q (see podium users list)", username)
	}
	return u, err
}

// openAccountsUser is openAccounts then userByName, for the commands that
// act on one user. The caller closes d.
func (a *app) openAccountsUser(ctx context.Context, purpose, username string) (d *accountsDB, u *podium.User, err error) {
	d, err = a.openAccounts(ctx, purpose)
	if err != nil {
		return nil, nil, err
	}
	u, err = d.userByName(ctx, username)
	if err != nil {
		d.Close()
		return nil, nil, err
	}
	return d, u, nil
}

// readPasswordStdin reads a password from stdin: everything up to the first
// newline (so that `echo pw |` and a file with a final newline both work).
func readPasswordStdin(r io.Reader) (string, error) {
	line, err := bufio.NewReader(io.LimitReader(r, auth.MaxPasswordLen+2)).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", fmt.Errorf("read password from stdin: %w", err)
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return "", podium.Errorf(podium.EINVALID, "--password-stdin: no password on standard input")
	}
	return pw, nil
}

// generatePassword returns 144 random bits as 24 URL-safe characters.
func generatePassword() (string, error) {
	b := make([]byte, 18)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate password: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func (a *app) usersCreateCmd() *cobra.Command {
	var (
		username, role          string
		passwordStdin, noPasswd bool
		asJSON                  bool
	)
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create a user",
		Long: `Create a user with a role: admin (manages users, sees everything), publisher
(creates and deploys content) or viewer (reads what is shared with them).

The password is read from standard input with --password-stdin (up to the
first newline). It must have [Password] MinimumLength characters (10 by
default), must not be or contain the username, and must not be one of the
commonest passwords. Without it, a strong password is
generated and printed once on standard error. With --no-password the user
cannot log in to the web pages and works with API keys only.

Usernames are 1 to 64 characters of a-z, 0-9, '.', '_' and '-', starting
with a letter or digit. A username that is taken is refused (exit 2).`,
		Example: `  printf '%s\n' "$PASSWORD" | podium users create --username alice --role publisher --password-stdin
  podium users create --username admin --role admin
  podium users create --username ci --role publisher --no-password`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := auth.ValidateUsername(username); err != nil {
				return err
			}
			if err := auth.ValidateRole(role); err != nil {
				return err
			}
			if passwordStdin && noPasswd {
				return podium.Errorf(podium.EINVALID, "--password-stdin and --no-password exclude each other")
			}
			var password string
			generated := false
			switch {
			case passwordStdin:
				pw, err := readPasswordStdin(a.env.Stdin)
				if err != nil {
					return err
				}
				password = pw
			case !noPasswd:
				pw, err := generatePassword()
				if err != nil {
					return err
				}
				password, generated = pw, true
			}
			ctx := cmd.Context()
			d, err := a.openAccounts(ctx, "users create")
			if err != nil {
				return err
			}
			defer d.Close()
			u, err := d.auth.CreateUser(ctx, auth.CreateUserParams{Username: username, Role: role, Password: password})
			if podium.IsCode(err, podium.ECONFLICT) {
				return podium.Errorf(podium.EREFUSED, "user %q already exists", username)
			}
			if err != nil {
				return err
			}
			d.audit(ctx, a, podium.AuditUserCreate, "user:"+u.Username)
			if generated {
				fmt.Fprintf(a.env.Stderr, "Generated password for %s (shown only now): %s\n", u.Username, password)
			}
			if asJSON {
				return writeJSON(a.env.Stdout, u)
			}
			fmt.Fprintf(a.env.Stdout, "created user %s (id %d, role %s)\n", u.Username, u.ID, u.Role)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&username, "username", "", "the new user's name (required)")
	f.StringVar(&role, "role", "", "admin, publisher or viewer (required)")
	f.BoolVar(&passwordStdin, "password-stdin", false, "read the password from standard input")
	f.BoolVar(&noPasswd, "no-password", false, "no password: the user works with API keys only")
	f.BoolVar(&asJSON, "json", false, "print the user as JSON")
	return cmd
}

func (a *app) usersListCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List users",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			d, err := a.openAccounts(ctx, "users list")
			if err != nil {
				return err
			}
			defer d.Close()
			users, err := d.auth.ListUsers(ctx)
			if err != nil {
				return err
			}
			return writeList(a.env.Stdout, asJSON, users, "ID\tUSERNAME\tROLE\tLOCKED\tCREATED", func(w io.Writer, u *podium.User) {
				fmt.Fprintf(w, "%d\t%s\t%s\t%t\t%s\n", u.ID, u.Username, u.Role, u.Locked, u.CreatedAt.Format("2006-01-02 15:04:05Z"))
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON array")
	return cmd
}

func (a *app) usersSetPasswordCmd() *cobra.Command {
	var username string
	cmd := &cobra.Command{
		Use:     "set-password",
		Aliases: []string{"reset-password"},
		Short:   "Set a user's password, read from standard input, and end the user's sessions",
		Example: `  printf '%s\n' "$PASSWORD" | podium users set-password --username alice`,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			pw, err := readPasswordStdin(a.env.Stdin)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			d, u, err := a.openAccountsUser(ctx, "users set-password", username)
			if err != nil {
				return err
			}
			defer d.Close()
			if err := d.auth.SetPassword(ctx, u.ID, pw); err != nil {
				return err
			}
			d.audit(ctx, a, podium.AuditUserSetPassword, "user:"+u.Username)
			fmt.Fprintf(a.env.Stdout, "password of %s set\n", u.Username)
			return nil
		},
	}
	cmd.Flags().StringVar(&username, "username", "", "the user (required)")
	return cmd
}

// usersLockCmd is "users lock" (lock true) or "users unlock".
func (a *app) usersLockCmd(lock bool) *cobra.Command {
	var username string
	use, short := "unlock", "Let a locked user log in and use their API keys again (no old session comes back)"
	if lock {
		use, short = "lock", "Stop a user at once: no login, sessions ended and API keys refused on every node"
	}
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			d, u, err := a.openAccountsUser(ctx, "users "+use, username)
			if err != nil {
				return err
			}
			defer d.Close()
			if err := d.auth.SetLocked(ctx, u.ID, lock); err != nil {
				return err
			}
			action := podium.AuditUserUnlock
			if lock {
				action = podium.AuditUserLock
			}
			d.audit(ctx, a, action, "user:"+u.Username)
			fmt.Fprintf(a.env.Stdout, "%s: locked = %t\n", u.Username, lock)
			return nil
		},
	}
	cmd.Flags().StringVar(&username, "username", "", "the user (required)")
	return cmd
}

func (a *app) usersSetRoleCmd() *cobra.Command {
	var username, role string
	cmd := &cobra.Command{
		Use:   "set-role",
		Short: "Change a user's role (admin, publisher or viewer) and end the user's sessions",
		Long: `Change a user's role. The user's login sessions end on every node, so
that no page opened under the old role acts with it; API keys act with the
new role from their next request.`,
		Example: `  podium users set-role --username alice --role viewer`,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := auth.ValidateRole(role); err != nil {
				return err
			}
			ctx := cmd.Context()
			d, u, err := a.openAccountsUser(ctx, "users set-role", username)
			if err != nil {
				return err
			}
			defer d.Close()
			if _, err := d.auth.SetRole(ctx, u.ID, role); err != nil {
				return err
			}
			d.audit(ctx, a, podium.AuditUserSetRole, "user:"+u.Username)
			fmt.Fprintf(a.env.Stdout, "%s: role = %s\n", u.Username, role)
			return nil
		},
	}
	cmd.Flags().StringVar(&username, "username", "", "the user (required)")
	cmd.Flags().StringVar(&role, "role", "", "admin, publisher or viewer (required)")
	return cmd
}

func (a *app) usersEndSessionsCmd() *cobra.Command {
	var username string
	cmd := &cobra.Command{
		Use:   "end-sessions",
		Short: "End every login session of a user, on every node",
		Long: `End every login session of a user: the browsers logged in as the user
must log in again. The user's API keys stay valid (podium keys revoke).
The same as DELETE /__api__/v1/users/{guid}/sessions.`,
		Example: `  podium users end-sessions --username alice`,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			d, u, err := a.openAccountsUser(ctx, "users end-sessions", username)
			if err != nil {
				return err
			}
			defer d.Close()
			n, err := d.auth.EndSessions(ctx, u.ID)
			if err != nil {
				return err
			}
			d.audit(ctx, a, podium.AuditUserEndSessions, "user:"+u.Username)
			fmt.Fprintf(a.env.Stdout, "%s: %d sessions ended\n", u.Username, n)
			return nil
		},
	}
	cmd.Flags().StringVar(&username, "username", "", "the user (required)")
	return cmd
}
