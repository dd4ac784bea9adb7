package web

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/labstack/echo/v4"
	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/auth"
	"github.com/podiumhq/podium/config"
	"github.com/sirupsen/logrus"
)

// SetupPath is where the login page posts the creation of the first
// administrator.
const SetupPath = LoginPath + "/setup"

// firstRun is the one-time setup of a node whose database has no users:
// the login page offers to create the first administrator, guarded by a
// token the node printed in its log at start, so that a server reachable
// from the network cannot be claimed by whoever finds it first.
type firstRun struct {
	mu    sync.Mutex
	token string // "" when setup is off (users exist, or it was used)
	node  string
}

// EnableFirstRun turns on the first-run setup with token (the node's
// start-up found no users). It ends when an administrator is created.
func (s *Server) EnableFirstRun(token, node string) {
	s.firstRun.mu.Lock()
	s.firstRun.token, s.firstRun.node = token, node
	s.firstRun.mu.Unlock()
}

// FirstRunActive reports whether the setup is still offered.
func (s *Server) FirstRunActive() bool {
	s.firstRun.mu.Lock()
	defer s.firstRun.mu.Unlock()
	return s.firstRun.token != ""
}

// setupOffered reports whether the login page offers the setup: a token
// was printed and there is still no user (another node may have created
// one).
func (h *accountHandlers) setupOffered(c echo.Context) (bool, string) {
	if h.firstRun == nil || h.auth == nil {
		return false, ""
	}
	h.firstRun.mu.Lock()
	active, node := h.firstRun.token != "", h.firstRun.node
	h.firstRun.mu.Unlock()
	if !active {
		return false, ""
	}
	users, err := h.auth.ListUsers(c.Request().Context())
	if err != nil || len(users) > 0 {
		return false, ""
	}
	return true, node
}

// setup answers POST /__login__/setup (form fields login_csrf,
// setup_token, username, password): creates the first administrator and
// logs them in (303 to the dashboard). 403 for a wrong token or login
// CSRF token, 409 once a user exists.
func (h *accountHandlers) setup(c echo.Context) error {
	// A refused form keeps what was typed, the token too (it is the
	// typist's own, and worthless once used).
	page := loginPage{Username: c.FormValue("username"), Setup: true, SetupToken: c.FormValue("setup_token")}
	ctx := c.Request().Context()
	ck, err := c.Cookie(loginCSRFCookie)
	got := c.FormValue("login_csrf")
	if err != nil || got == "" || subtle.ConstantTimeCompare([]byte(ck.Value), []byte(got)) != 1 {
		page.Error = "Your form expired. Please try again."
		return h.renderSetup(c, http.StatusForbidden, page)
	}
	h.firstRun.mu.Lock()
	defer h.firstRun.mu.Unlock()
	page.Node = h.firstRun.node
	token := h.firstRun.token
	if token == "" {
		return podium.Errorf(podium.ECONFLICT, "this server is already set up: log in")
	}
	if users, err := h.auth.ListUsers(ctx); err != nil {
		return err
	} else if len(users) > 0 {
		h.firstRun.token = ""
		return podium.Errorf(podium.ECONFLICT, "this server is already set up: log in")
	}
	if subtle.ConstantTimeCompare([]byte(token), []byte(c.FormValue("setup_token"))) != 1 {
		page.Error = "Wrong setup token. It is printed in the log of node " + page.Node + " at start (look for \"PODIUM FIRST-RUN SETUP TOKEN\")."
		return h.renderSetup(c, http.StatusForbidden, page)
	}
	password := c.FormValue("password")
	SetAuditTarget(c, "user:"+page.Username)
	admin, err := h.auth.CreateUser(ctx, auth.CreateUserParams{Username: page.Username, Role: podium.RoleAdmin, Password: password})
	if err != nil {
		if podium.IsCode(err, podium.EINVALID) {
			page.Error = podium.ErrorMessage(err)
			return h.renderSetup(c, http.StatusBadRequest, page)
		}
		return err
	}
	SetAuditActor(c, admin.ID)
	h.firstRun.token = ""
	h.log.WithField("user", page.Username).Warn("first administrator created through the first-run setup; the setup token is spent")
	sess, err := h.auth.Login(ctx, page.Username, password, c.RealIP())
	if err != nil {
		return err
	}
	setSessionCookie(c, sess)
	prefix := h.prefix(c)
	c.SetCookie(&http.Cookie{Name: loginCSRFCookie, Value: "", Path: prefix + LoginPath, MaxAge: -1, HttpOnly: true})
	return c.Redirect(http.StatusSeeOther, prefix+"/__dashboard__/")
}

func (h *accountHandlers) renderSetup(c echo.Context, status int, page loginPage) error {
	page.Setup = true
	page.SetupAction = h.prefix(c) + SetupPath
	return h.renderLogin(c, status, page)
}

// FirstRunSetup is the node's service that offers the first-run setup
// when the database has no users at start: it prints a one-time token in
// the log, which the login page asks for before it creates the first
// administrator (EnableFirstRun).
type FirstRunSetup struct {
	server   *Server
	users    auth.AccountService // only ListUsers: whether a user exists
	nodeID   string
	provider string // [Authentication] Provider
	address  string // [Server] Address
	// out, when set, gets the token as plain lines besides the log.
	out io.Writer
	log *logrus.Entry
}

// FirstRunSetup returns the first-run setup of node nodeID, whose users
// are in users, signing in through provider ([Authentication] Provider),
// reached at address ([Server] Address, may be empty); out, when not
// nil, gets the token as plain lines besides the log.
func (s *Server) FirstRunSetup(users auth.AccountService, nodeID, provider, address string, out io.Writer, log *logrus.Entry) *FirstRunSetup {
	return &FirstRunSetup{server: s, users: users, nodeID: nodeID, provider: provider, address: address, out: out, log: log}
}

// Name names the service in logs.
func (s *FirstRunSetup) Name() string { return "first-run setup" }

// Start offers the setup when there is no user yet: with the password
// provider, a token in the log (and on out) that the login page asks for;
// with an external provider, a warning saying how the first
// administrator comes. It never fails the node's start.
func (s *FirstRunSetup) Start(ctx context.Context) error {
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
	s.server.EnableFirstRun(token, s.nodeID)
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

// Stop does nothing: the setup ends when the first administrator is
// created.
func (s *FirstRunSetup) Stop(context.Context) error { return nil }
