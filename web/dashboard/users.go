package dashboard

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/labstack/echo/v4"
	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/auth"
	"github.com/podiumhq/podium/web"
	"github.com/podiumhq/podium/web/route"
)

// UserSource manages users and the caller's own account (package auth).
type UserSource interface {
	ListUsers(ctx context.Context) ([]*podium.User, error)
	GetUser(ctx context.Context, id int64) (*podium.User, error)
	CreateUser(ctx context.Context, p auth.CreateUserParams) (*podium.User, error)
	SetRole(ctx context.Context, userID int64, role string) (*podium.User, error)
	SetLocked(ctx context.Context, userID int64, locked bool) error
	SetPassword(ctx context.Context, userID int64, password string) error
	DeleteUser(ctx context.Context, id int64) error
	ChangePassword(ctx context.Context, userID int64, current, next string) error
	ListSessions(ctx context.Context, userID int64, current string) ([]auth.SessionInfo, error)
	EndSession(ctx context.Context, userID int64, id string) error
	UserGroups(ctx context.Context, userID int64) ([]*podium.Group, error)
}

// usersData is the data of the administrators' users page.
type usersData struct {
	Users    []*podium.User
	Done     string // what the last form did
	DoneCode string // its ?done= code, for the page's data-done
	Error    string
	Provider string // [Authentication] Provider
	// Passwords says whether Podium keeps the passwords (the password
	// provider): only then are users created and passwords reset here.
	Passwords bool
}

// accountData is the data of the caller's account page.
type accountData struct {
	Groups    []*podium.Group
	Sessions  []auth.SessionInfo
	Done      string
	DoneCode  string
	Error     string
	Provider  string
	Passwords bool
}

// userDoneMessages are the fixed messages a form's redirect names (?done=),
// so that no text from the URL reaches the page.
var userDoneMessages = map[string]string{
	"created":  "User created.",
	"role":     "Role changed: the user's sessions ended.",
	"locked":   "User locked: their sessions ended and their API keys are refused.",
	"unlocked": "User unlocked.",
	"password": "Password reset: the user's sessions ended.",
	"deleted":  "User deleted.",
	"session":  "Session ended.",
}

func (d *Dashboard) usersRoutes(login []echo.MiddlewareFunc) []route.Route {
	admin := append(append([]echo.MiddlewareFunc{}, login...), d.requireAdminUsers)
	return []route.Route{
		{Method: http.MethodGet, Path: Path + "/users", Handler: d.page(d.usersPage), Middleware: admin},
		{Method: http.MethodPost, Path: Path + "/users", Handler: d.createUser, Middleware: admin, Audit: podium.AuditUserCreate},
		{Method: http.MethodPost, Path: Path + "/users/:uid/role", Handler: d.setRole, Middleware: admin, Audit: podium.AuditUserSetRole, AuditTarget: "user:{uid}"},
		{Method: http.MethodPost, Path: Path + "/users/:uid/lock", Handler: d.lockUser(true), Middleware: admin, Audit: podium.AuditUserLock, AuditTarget: "user:{uid}"},
		{Method: http.MethodPost, Path: Path + "/users/:uid/unlock", Handler: d.lockUser(false), Middleware: admin, Audit: podium.AuditUserUnlock, AuditTarget: "user:{uid}"},
		{Method: http.MethodPost, Path: Path + "/users/:uid/password", Handler: d.resetPassword, Middleware: admin, Audit: podium.AuditUserSetPassword, AuditTarget: "user:{uid}"},
		{Method: http.MethodPost, Path: Path + "/users/:uid/delete", Handler: d.deleteUser, Middleware: admin, Audit: podium.AuditUserDelete, AuditTarget: "user:{uid}"},
		{Method: http.MethodGet, Path: Path + "/account", Handler: d.page(d.accountPage), Middleware: login},
		{Method: http.MethodPost, Path: Path + "/account/password", Handler: d.changePassword, Middleware: login, Audit: podium.AuditUserSetPassword},
		{Method: http.MethodPost, Path: Path + "/account/sessions/:session/end", Handler: d.endSession, Middleware: login, Audit: podium.AuditSessionEnd, AuditDetail: []string{"session"}},
	}
}

func (d *Dashboard) requireAdminUsers(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if !web.CurrentUser(c).IsAdmin() {
			return d.renderError(c, podium.Errorf(podium.EFORBIDDEN, "only administrators may manage users"))
		}
		if d.opts.Users == nil {
			return d.renderError(c, podium.Errorf(podium.EUNAVAILABLE, "user management is not available on this node"))
		}
		return next(c)
	}
}

func (d *Dashboard) passwords() bool {
	return d.opts.AuthProvider == "" || d.opts.AuthProvider == "password"
}

func (d *Dashboard) usersView(c echo.Context, data *usersData) (*view, error) {
	users, err := d.opts.Users.ListUsers(c.Request().Context())
	if err != nil {
		return nil, err
	}
	data.Users, data.Provider, data.Passwords = users, d.opts.AuthProvider, d.passwords()
	if m, ok := userDoneMessages[c.QueryParam("done")]; ok && data.Done == "" {
		data.Done, data.DoneCode = m, c.QueryParam("done")
	}
	return &view{Name: "users", Title: "Users", Data: data}, nil
}

// usersPage answers GET /__dashboard__/users (administrators): every
// user with forms to change the role, lock, unlock, reset the password
// and delete, and a form to create one.
func (d *Dashboard) usersPage(c echo.Context) (*view, error) { return d.usersView(c, &usersData{}) }

// usersRefused shows the users page again with a refusal (400-class) or
// renders the error page.
func (d *Dashboard) usersRefused(c echo.Context, err error) error {
	status := web.StatusOf(podium.ErrorCode(err))
	if status >= 500 || status == http.StatusNotFound {
		return d.renderError(c, err)
	}
	v, verr := d.usersView(c, &usersData{Error: podium.ErrorMessage(err)})
	if verr != nil {
		return d.renderError(c, verr)
	}
	return d.render(c, status, v)
}

func (d *Dashboard) usersDone(c echo.Context, done string) error {
	return c.Redirect(http.StatusSeeOther, d.prefix(c)+Path+"/users?done="+url.QueryEscape(done))
}

// targetUser returns the user of the :uid parameter, named as the audit
// target.
func (d *Dashboard) targetUser(c echo.Context) (*podium.User, error) {
	web.SetAuditTarget(c, "user:"+c.Param("uid"))
	id, err := strconv.ParseInt(c.Param("uid"), 10, 64)
	if err != nil || id <= 0 {
		return nil, podium.Errorf(podium.ENOTFOUND, "user %q not found", c.Param("uid"))
	}
	u, err := d.opts.Users.GetUser(c.Request().Context(), id)
	if err != nil {
		return nil, err
	}
	web.SetAuditTarget(c, "user:"+u.Username)
	return u, nil
}

func notSelf(c echo.Context, u *podium.User, what string) error {
	if web.CurrentUser(c).ID == u.ID {
		return podium.Errorf(podium.EPRECONDITION, "you cannot %s your own account: ask another administrator", what)
	}
	return nil
}

func (d *Dashboard) createUser(c echo.Context) error {
	name := c.FormValue("username")
	web.SetAuditTarget(c, "user:"+name)
	if !d.passwords() {
		return d.usersRefused(c, podium.Errorf(podium.EPRECONDITION, "users of the %s provider are created at their first sign-in", d.opts.AuthProvider))
	}
	_, err := d.opts.Users.CreateUser(c.Request().Context(), auth.CreateUserParams{Username: name, Role: c.FormValue("role"), Password: c.FormValue("password")})
	if err != nil {
		return d.usersRefused(c, err)
	}
	return d.usersDone(c, "created")
}

func (d *Dashboard) setRole(c echo.Context) error {
	u, err := d.targetUser(c)
	if err != nil {
		return d.usersRefused(c, err)
	}
	role := c.FormValue("role")
	if err := notSelf(c, u, "change the role of"); err != nil && role != u.Role {
		return d.usersRefused(c, err)
	}
	web.SetAuditDetail(c, "role", role)
	web.SetAuditDetail(c, "old_role", u.Role)
	if _, err := d.opts.Users.SetRole(c.Request().Context(), u.ID, role); err != nil {
		return d.usersRefused(c, err)
	}
	return d.usersDone(c, "role")
}

func (d *Dashboard) lockUser(lock bool) echo.HandlerFunc {
	return func(c echo.Context) error {
		u, err := d.targetUser(c)
		if err != nil {
			return d.usersRefused(c, err)
		}
		if lock {
			if err := notSelf(c, u, "lock"); err != nil {
				return d.usersRefused(c, err)
			}
		}
		if err := d.opts.Users.SetLocked(c.Request().Context(), u.ID, lock); err != nil {
			return d.usersRefused(c, err)
		}
		if lock {
			return d.usersDone(c, "locked")
		}
		return d.usersDone(c, "unlocked")
	}
}

func (d *Dashboard) resetPassword(c echo.Context) error {
	u, err := d.targetUser(c)
	if err != nil {
		return d.usersRefused(c, err)
	}
	if !d.passwords() {
		return d.usersRefused(c, podium.Errorf(podium.EPRECONDITION, "passwords are kept by the %s provider, not by Podium", d.opts.AuthProvider))
	}
	pw := c.FormValue("password")
	if pw == "" {
		return d.usersRefused(c, podium.Errorf(podium.EINVALID, "type the new password"))
	}
	if err := d.opts.Users.SetPassword(c.Request().Context(), u.ID, pw); err != nil {
		return d.usersRefused(c, err)
	}
	return d.usersDone(c, "password")
}

func (d *Dashboard) deleteUser(c echo.Context) error {
	u, err := d.targetUser(c)
	if err != nil {
		return d.usersRefused(c, err)
	}
	if err := notSelf(c, u, "delete"); err != nil {
		return d.usersRefused(c, err)
	}
	if err := d.opts.Users.DeleteUser(c.Request().Context(), u.ID); err != nil {
		return d.usersRefused(c, err)
	}
	return d.usersDone(c, "deleted")
}

// sessionToken is the caller's session token, to mark the current
// session (the dashboard is used with a session; never with an API key).
func sessionToken(c echo.Context) string {
	if ck, err := c.Cookie(web.SessionCookie); err == nil {
		return ck.Value
	}
	return ""
}

func (d *Dashboard) accountView(c echo.Context, data *accountData) (*view, error) {
	if d.opts.Users == nil {
		return nil, podium.Errorf(podium.EUNAVAILABLE, "accounts are not available on this node")
	}
	u := web.CurrentUser(c)
	ctx := c.Request().Context()
	var err error
	if data.Sessions, err = d.opts.Users.ListSessions(ctx, u.ID, sessionToken(c)); err != nil {
		return nil, err
	}
	if data.Groups, err = d.opts.Users.UserGroups(ctx, u.ID); err != nil {
		return nil, err
	}
	data.Provider, data.Passwords = d.opts.AuthProvider, d.passwords()
	if m, ok := userDoneMessages[c.QueryParam("done")]; ok && data.Done == "" {
		data.Done, data.DoneCode = m, c.QueryParam("done")
	}
	return &view{Name: "account", Title: "Your account", Data: data}, nil
}

// accountPage answers GET /__dashboard__/account: the caller's groups,
// the form to change their password, and their sessions with a button to
// end each (their API keys are on the keys page).
func (d *Dashboard) accountPage(c echo.Context) (*view, error) {
	return d.accountView(c, &accountData{})
}

func (d *Dashboard) accountRefused(c echo.Context, err error) error {
	status := web.StatusOf(podium.ErrorCode(err))
	if status >= 500 {
		return d.renderError(c, err)
	}
	v, verr := d.accountView(c, &accountData{Error: podium.ErrorMessage(err)})
	if verr != nil {
		return d.renderError(c, verr)
	}
	return d.render(c, status, v)
}

// changePassword answers POST /__dashboard__/account/password (fields
// current_password, new_password, confirm_password): every session of
// the user ends, this one too, and the browser goes to the login page.
func (d *Dashboard) changePassword(c echo.Context) error {
	u := web.CurrentUser(c)
	web.SetAuditTarget(c, "user:"+u.Username)
	if d.opts.Users == nil {
		return d.renderError(c, podium.Errorf(podium.EUNAVAILABLE, "accounts are not available on this node"))
	}
	if !d.passwords() {
		return d.accountRefused(c, podium.Errorf(podium.EPRECONDITION, "your password is kept by the %s provider: change it there", d.opts.AuthProvider))
	}
	next := c.FormValue("new_password")
	if next != c.FormValue("confirm_password") {
		return d.accountRefused(c, podium.Errorf(podium.EINVALID, "the two new passwords differ"))
	}
	if err := d.opts.Users.ChangePassword(c.Request().Context(), u.ID, c.FormValue("current_password"), next); err != nil {
		return d.accountRefused(c, err)
	}
	return c.Redirect(http.StatusSeeOther, d.prefix(c)+web.LoginPath+"?next="+url.QueryEscape(Path+"/account"))
}

// endSession answers POST /__dashboard__/account/sessions/:session/end.
func (d *Dashboard) endSession(c echo.Context) error {
	u := web.CurrentUser(c)
	web.SetAuditTarget(c, "user:"+u.Username)
	if d.opts.Users == nil {
		return d.renderError(c, podium.Errorf(podium.EUNAVAILABLE, "accounts are not available on this node"))
	}
	if err := d.opts.Users.EndSession(c.Request().Context(), u.ID, c.Param("session")); err != nil {
		return d.accountRefused(c, err)
	}
	return c.Redirect(http.StatusSeeOther, d.prefix(c)+Path+"/account?done=session")
}
