package web

import (
	"net"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/auth"
	"github.com/sirupsen/logrus"
)

// ProxyAuthOptions configure ProxyAuth ([ProxyAuth] in the configuration).
type ProxyAuthOptions struct {
	// Trusted are the authenticating proxies' networks: the headers are
	// believed only on a connection from one of them.
	Trusted []*net.IPNet
	// The headers; only UsernameHeader is required.
	UsernameHeader, UniqueIDHeader, NameHeader, EmailHeader, GroupsHeader, RoleHeader string
	// GroupsSeparator splits GroupsHeader (default ",").
	GroupsSeparator string
	Log             *logrus.Entry
}

// ProxyAuth signs users in from the headers of an authenticating proxy
// ([Authentication] Provider = proxy). Install it after Authenticate.
//
//   - A request with an API key is left alone: publishing clients keep
//     authenticating with keys.
//   - A request that carries the username header on a connection from an
//     address that is not a trusted proxy is refused with 401 and a
//     warning in the log: the header is forged, or the proxy is not
//     configured.
//   - From a trusted proxy, a request whose session already belongs to
//     that user goes on; otherwise, for a safe method (GET, HEAD), the
//     user is signed in (auth.SignInExternal: provisioned, renamed, groups
//     and role synchronised) and a session cookie is set, so the other
//     nodes of the cluster accept the browser too. An unsafe request
//     without the user's session stays anonymous: a cross-site form sent
//     through the proxy must not act with the proxy's authentication
//     (the CSRF token comes with a session, as for passwords).
//   - The login page, reached through the proxy by a signed-in user,
//     sends the browser on to its next page.
func ProxyAuth(a auth.AccountService, opts ProxyAuthOptions) echo.MiddlewareFunc {
	if opts.GroupsSeparator == "" {
		opts.GroupsSeparator = ","
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			name := strings.TrimSpace(req.Header.Get(opts.UsernameHeader))
			if AuthMethod(c) == AuthKey {
				return next(c)
			}
			if name == "" {
				return next(c)
			}
			peer := peerIP(req)
			if !inNets(peer, opts.Trusted) {
				opts.Log.WithFields(logrus.Fields{"remote": peer.String(), "header": opts.UsernameHeader, "path": req.URL.Path}).
					Warn("proxy authentication: refused a user header from an address that is not in [ProxyAuth] TrustedProxies")
				return podium.Errorf(podium.EUNAUTHORIZED, "the %s header is only accepted from the authenticating proxy", opts.UsernameHeader)
			}
			if u := CurrentUser(c); u != nil {
				if norm, err := auth.NormalizeUsername(name); err == nil && norm == u.Username {
					return proxyLoginRedirect(c, next)
				}
			}
			if !safeMethod(req.Method) {
				// Not this user's session: anonymous for an unsafe request.
				SetUser(c, nil)
				c.Set(authKey, nil)
				return next(c)
			}
			id := auth.ExternalIdentity{Provider: "proxy", Username: name, UniqueID: strings.TrimSpace(req.Header.Get(opts.UniqueIDHeader)),
				Name: req.Header.Get(opts.NameHeader), Email: req.Header.Get(opts.EmailHeader), Role: req.Header.Get(opts.RoleHeader)}
			if opts.UniqueIDHeader == "" {
				id.UniqueID = ""
			}
			if opts.GroupsHeader != "" {
				if g := req.Header.Get(opts.GroupsHeader); g != "" {
					id.Groups = strings.Split(g, opts.GroupsSeparator)
				}
			}
			ctx := req.Context()
			u, err := a.SignInExternal(ctx, id)
			if err != nil {
				opts.Log.WithError(err).WithFields(logrus.Fields{"user": name, "remote": peer.String()}).Warn("proxy authentication: sign-in refused")
				return err
			}
			sess, err := a.CreateSession(ctx, u)
			if err != nil {
				return err
			}
			if old, err := c.Cookie(SessionCookie); err == nil && old.Value != "" {
				_ = a.Logout(ctx, old.Value)
			}
			setSessionCookie(c, sess)
			SetUser(c, u)
			c.Set(authKey, &authInfo{method: AuthSession, session: sess})
			opts.Log.WithFields(logrus.Fields{"user": u.Username, "user_id": u.ID, "role": u.Role}).Info("signed in by the authenticating proxy")
			return proxyLoginRedirect(c, next)
		}
	}
}

// proxyLoginRedirect sends a signed-in user who reached the login page on
// to its next page (there is no password to type under a proxy).
func proxyLoginRedirect(c echo.Context, next echo.HandlerFunc) error {
	if c.Request().Method == http.MethodGet && c.Request().URL.Path == LoginPath {
		return c.Redirect(http.StatusSeeOther, nextUnder(ExternalPrefix(c.Request(), nil), safeNext(c.QueryParam("next"))))
	}
	return next(c)
}

// peerIP is the address of the connection (never a forwarding header).
func peerIP(r *http.Request) net.IP {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	return net.ParseIP(host)
}

func inNets(ip net.IP, nets []*net.IPNet) bool {
	if ip == nil {
		return false
	}
	for _, n := range nets {
		if n.Contains(ip) {
			return true
		}
	}
	return false
}
