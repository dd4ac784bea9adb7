package web

import (
	"crypto/subtle"
	"net/http"
	"sync"

	"github.com/labstack/echo/v4"
	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/auth"
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
