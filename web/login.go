package web

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"html/template"
	"math"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/auth"
	"github.com/podiumhq/podium/web/route"
	"github.com/sirupsen/logrus"
)

// Paths of the login pages.
const (
	LoginPath  = "/__login__"
	LogoutPath = "/__logout__"
)

// loginCSRFCookie holds the token that the login form must echo back
// (double submit): it stops another site from logging a visitor in to an
// account of the attacker's ("login CSRF"), which SameSite alone does not.
const loginCSRFCookie = "podium_login_csrf"

//go:embed login.html.tmpl
var loginFS embed.FS

var loginTemplate = template.Must(template.ParseFS(loginFS, "login.html.tmpl"))

type loginPage struct {
	Action    string // the form's action: the login path behind the request's prefix
	Error     string
	Username  string
	Next      string
	LoginCSRF string
	// Setup shows the first-run form (no users yet) instead of the login.
	Setup       bool
	SetupAction string
	SetupToken  string // the token a refused setup form sent, shown again
	Node        string // the node whose log holds the setup token
	// SSOLabel and SSOURL, with an external provider, replace the form
	// with a "Sign in with {SSOLabel}" link to SSOURL.
	SSOLabel string
	SSOURL   string
}

type accountHandlers struct {
	auth auth.AccountService
	log  *logrus.Entry
	// trustedProxies are the addresses whose X-Forwarded-Prefix is
	// believed: behind a proxy at a sub-path, the form, the login CSRF
	// cookie and the redirects carry the prefix.
	trustedProxies []*net.IPNet
	// firstRun is the first-run setup (firstrun.go); nil in tests.
	firstRun *firstRun
	// provider is [Authentication] Provider ("" or "password" for
	// Podium's own passwords).
	provider string
	// sso signs in through an external provider (sso.go); nil for
	// passwords.
	sso *ssoHandlers
}

func (h *accountHandlers) loginRoutes() []route.Route {
	return []route.Route{
		{Method: http.MethodGet, Path: LoginPath, Handler: h.loginForm},
		{Method: http.MethodPost, Path: LoginPath, Handler: h.login, Audit: podium.AuditLogin, AuditFailed: podium.AuditLoginFailed},
		{Method: http.MethodPost, Path: LogoutPath, Handler: h.logout, Audit: podium.AuditLogout},
		{Method: http.MethodPost, Path: SetupPath, Handler: h.setup, Audit: podium.AuditSetup},
	}
}

// loginForm answers GET /__login__ with the form, or, on a node with no
// users that printed a setup token, the form that creates the first
// administrator.
func (h *accountHandlers) loginForm(c echo.Context) error {
	// With an external provider the first administrator comes from its
	// role mapping or from `podium users`, not from the setup form.
	if ok, node := h.setupOffered(c); ok && h.sso == nil {
		return h.renderSetup(c, http.StatusOK, loginPage{Node: node})
	}
	return h.renderLogin(c, http.StatusOK, loginPage{Next: safeNext(c.QueryParam("next"))})
}

// login answers POST /__login__ (form fields username, password, next,
// login_csrf): 303 to next (or the prefix's /) with the session cookie; 401 with the
// form again for wrong credentials; 429 with Retry-After when throttled;
// 403 when the login CSRF token does not match.
func (h *accountHandlers) login(c echo.Context) error {
	page := loginPage{Username: c.FormValue("username"), Next: safeNext(c.FormValue("next"))}
	// The audit row names the account tried, whatever the outcome (never
	// the password); the route records a failure as AuditLoginFailed.
	SetAuditTarget(c, "user:"+page.Username)
	if h.sso != nil {
		page.Error = "This server signs users in through " + h.sso.o.Label + ", not with a password here."
		return h.renderLogin(c, http.StatusForbidden, page)
	}
	if h.provider == "proxy" {
		// Podium's passwords are not used: the proxy signs users in.
		page.Error = "This server signs users in through its authenticating proxy, not with a password here."
		return h.renderLogin(c, http.StatusForbidden, page)
	}
	ck, err := c.Cookie(loginCSRFCookie)
	got := c.FormValue("login_csrf")
	if err != nil || got == "" || subtle.ConstantTimeCompare([]byte(ck.Value), []byte(got)) != 1 {
		page.Error = "Your login form expired. Please try again."
		return h.renderLogin(c, http.StatusForbidden, page)
	}
	sess, err := h.auth.Login(c.Request().Context(), page.Username, c.FormValue("password"), c.RealIP())
	if wait, ok := auth.IsThrottled(err); ok {
		secs := int(math.Ceil(wait.Seconds()))
		c.Response().Header().Set("Retry-After", strconv.Itoa(secs))
		page.Error = "Too many failed logins. Try again in " + strconv.Itoa(secs) + " seconds."
		return h.renderLogin(c, http.StatusTooManyRequests, page)
	}
	if podium.IsCode(err, podium.EUNAUTHORIZED) {
		page.Error = "Invalid username or password."
		return h.renderLogin(c, http.StatusUnauthorized, page)
	}
	if podium.IsCode(err, podium.EUNAVAILABLE) {
		// The directory (LDAP) is down or refuses the service account: the
		// user gets a page that says so, the log has the detail.
		page.Error = "The sign-in service cannot be reached right now. Try again in a minute; if it goes on, tell your administrator."
		return h.renderLogin(c, http.StatusServiceUnavailable, page)
	}
	if err != nil {
		return err
	}
	// A new token on every login: a session id planted before login is
	// worthless after it. The old session, if any, ends.
	if old, err := c.Cookie(SessionCookie); err == nil && old.Value != "" {
		_ = h.auth.Logout(c.Request().Context(), old.Value)
	}
	SetAuditActor(c, sess.User.ID)
	setSessionCookie(c, sess)
	prefix := h.prefix(c)
	c.SetCookie(&http.Cookie{Name: loginCSRFCookie, Value: "", Path: prefix + LoginPath, MaxAge: -1, HttpOnly: true})
	return c.Redirect(http.StatusSeeOther, nextUnder(prefix, page.Next))
}

// logout answers POST /__logout__: ends the session (the middleware has
// checked its CSRF token), clears the cookie and redirects to the login
// page (behind the request's prefix).
func (h *accountHandlers) logout(c echo.Context) error {
	if ai, ok := c.Get(authKey).(*authInfo); ok && ai.session != nil {
		if err := h.auth.Logout(c.Request().Context(), ai.session.Token); err != nil {
			return err
		}
	}
	clearSessionCookie(c)
	if h.sso != nil {
		if u := h.sso.logoutURL(c); u != "" {
			return h.sso.loggedOut(c, u)
		}
	}
	return c.Redirect(http.StatusSeeOther, h.prefix(c)+LoginPath)
}

func (h *accountHandlers) renderLogin(c echo.Context, status int, page loginPage) error {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return err
	}
	page.LoginCSRF = base64.RawURLEncoding.EncodeToString(b)
	// The cookie's Path is the path the browser posts to: through a proxy
	// at a sub-path that is <prefix>/__login__, and a cookie for
	// /__login__ would not come back with the form.
	page.Action = h.prefix(c) + LoginPath
	if h.sso != nil && !page.Setup {
		page.SSOLabel = h.sso.o.Label
		page.SSOURL = h.prefix(c) + h.sso.o.startPath()
		if page.Next != "" {
			page.SSOURL += "?next=" + url.QueryEscape(page.Next)
		}
	}
	if page.Setup {
		page.Action = page.SetupAction
	}
	c.SetCookie(&http.Cookie{
		Name: loginCSRFCookie, Value: page.LoginCSRF, Path: h.prefix(c) + LoginPath,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: c.Scheme() == "https",
	})
	var buf bytes.Buffer
	if err := loginTemplate.Execute(&buf, page); err != nil {
		return err
	}
	hdr := c.Response().Header()
	hdr.Set("Cache-Control", "no-store")
	// X-Frame-Options and the Content-Security-Policy: headers.go.
	return c.HTMLBlob(status, buf.Bytes())
}

// prefix returns the sub-path the request came through (ExternalPrefix),
// "" when none.
func (h *accountHandlers) prefix(c echo.Context) string {
	return ExternalPrefix(c.Request(), h.trustedProxies)
}

// nextUnder returns where a login sends the browser: next (already a safe
// local path) when it is under the request's prefix, else next behind the
// prefix (a "?next=/path" given by hand means Podium's /path, and must not
// leave the sub-path for another site on the same host); prefix + "/" when
// next is empty.
func nextUnder(prefix, next string) string {
	if next == "" {
		return prefix + "/"
	}
	if prefix == "" || next == prefix || strings.HasPrefix(next, prefix+"/") || strings.HasPrefix(next, prefix+"?") {
		return next
	}
	return prefix + next
}

// safeNext keeps only local paths ("/x?y"), so that the login page cannot
// be used to redirect to another site ("//evil", "https://evil", "/\evil").
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return ""
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" {
		return ""
	}
	return next
}
