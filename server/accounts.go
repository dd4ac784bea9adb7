package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/auth"
	"github.com/podiumhq/podium/config"
	"github.com/podiumhq/podium/dbprovider"
	"github.com/podiumhq/podium/web"
	"github.com/sirupsen/logrus"
)

// newAccounts creates the accounts service on db (its options from the
// configuration over base; external, when set, checks passwords of an
// external directory) and returns it with the authentication middleware
// build installs on every route, in order: the origin checks, the session
// or API key, and with [Authentication] Provider = proxy the proxy's
// headers.
func newAccounts(cfg *config.Config, db dbprovider.Provider, base auth.Options, external auth.PasswordAuthenticator,
	w *web.Server, log *logrus.Entry) (*auth.Service, []echo.MiddlewareFunc) {
	opts := auth.OptionsFromConfig(cfg, base)
	if external != nil {
		opts.External = external
	}
	svc := auth.New(db, log, opts)
	mw := []echo.MiddlewareFunc{w.Origins(svc), web.Authenticate(svc)}
	if pa := cfg.ProxyAuth; cfg.Authentication.Provider == config.AuthProxy {
		mw = append(mw, web.ProxyAuth(svc, web.ProxyAuthOptions{Trusted: trustedProxies(pa.TrustedProxies),
			UsernameHeader: pa.UsernameHeader, UniqueIDHeader: pa.UniqueIDHeader, NameHeader: pa.NameHeader, EmailHeader: pa.EmailHeader,
			GroupsHeader: pa.GroupsHeader, GroupsSeparator: pa.GroupsSeparator, RoleHeader: pa.RoleHeader, Log: log}))
	}
	return svc, mw
}

// Auth returns the node's accounts service (after Open): in-process tests
// create users and API keys with it.
func (n *Node) Auth() *auth.Service { return n.auth }

// firstRunSetup offers the first-run setup when the database has no users
// at start: it prints a one-time token in the log, which the login page
// asks for before it creates the first administrator.
type firstRunSetup struct {
	users interface {
		ListUsers(context.Context) ([]*podium.User, error)
	}
	// enable turns the setup on in the login pages (web.Server's
	// EnableFirstRun).
	enable   func(token, node string)
	nodeID   string
	provider string // [Authentication] Provider
	address  string // [Server] Address
	// out, when set, gets the token as plain lines besides the log.
	out io.Writer
	log *logrus.Entry
}

func (s *firstRunSetup) Name() string { return "first-run setup" }

func (s *firstRunSetup) Start(ctx context.Context) error {
	users, err := s.users.ListUsers(ctx)
	if err != nil || len(users) > 0 {
		return nil // not fatal: the administrator can use `podium users create`
	}
	if p := s.provider; p != config.AuthPassword {
		// With an external provider a first administrator made with a
		// password could not sign in: they come from the provider.
		s.log.WithField("provider", p).Warn("no users yet: users are created at their first sign-in through the " + p +
			" provider; the first administrator is a member of a group in [Authorization] AdministratorRoleMapping, or is made one after their first sign-in with: podium users set-role --username NAME --role admin")
		return nil
	}
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return nil
	}
	token := hex.EncodeToString(b)
	s.enable(token, s.nodeID)
	// The token is meant for this log (in the message: the redaction hook
	// masks fields named like tokens); it is worthless once the first
	// administrator exists.
	s.log.Warn("no users yet: open /__login__ in a browser and create the first administrator with the first-run setup token " +
		token + " (or run: podium users create --role admin)")
	// The same as plain lines that stand out among the JSON ones, for
	// whoever reads the terminal or journalctl.
	if out := s.out; out != nil {
		where := "/__login__"
		if a := s.address; a != "" {
			where = strings.TrimRight(a, "/") + where
		}
		_, _ = fmt.Fprintf(out, "\n%s\n  PODIUM FIRST-RUN SETUP TOKEN: %s\n  Open %s in a browser and enter it to create the first administrator.\n%s\n\n",
			setupRule, token, where, setupRule)
	}
	return nil
}

// setupRule frames the plain setup token lines in the log.
const setupRule = "=================================================================="

func (s *firstRunSetup) Stop(context.Context) error { return nil }
