package web

import (
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/auth"
	"github.com/podiumhq/podium/dbprovider"
	"github.com/podiumhq/podium/web/route"
)

// Names of the authentication inputs of a request.
const (
	// SessionCookie is the cookie holding a login session's token.
	SessionCookie = podium.SessionCookie
	// CSRFHeader carries the session's CSRF token on state-changing
	// requests made with the session cookie.
	CSRFHeader = "X-CSRF-Token"
	// CSRFFormField carries the CSRF token in HTML forms.
	CSRFFormField = "csrf_token"
)

// Authentication methods, as AuthMethod reports them.
const (
	AuthNone    = ""
	AuthKey     = "key"
	AuthSession = "session"
)

// apiPrefix starts the paths of Podium's own API.
const apiPrefix = "/__api__/"

// authKey is the echo context key of the request's authInfo.
const authKey = "podium.auth"

type authInfo struct {
	method  string
	session *auth.Session
	key     *dbprovider.APIKey
}

// AuthMethod returns how the request authenticated: AuthKey, AuthSession or
// AuthNone.
func AuthMethod(c echo.Context) string {
	if ai, ok := c.Get(authKey).(*authInfo); ok {
		return ai.method
	}
	return AuthNone
}

// CSRFToken returns the CSRF token of the request's session, "" when the
// request did not authenticate with a session cookie. Pages put it in a
// hidden csrf_token field of their forms.
func CSRFToken(c echo.Context) string {
	if ai, ok := c.Get(authKey).(*authInfo); ok && ai.session != nil {
		return ai.session.CSRFToken
	}
	return ""
}

// Authenticate returns the middleware that finds out who makes a request,
// installed on every route by UseAccounts:
//
//   - "Authorization: Key <key>" authenticates with an API key; a wrong or
//     revoked key is refused at once with 401 (a client that sends
//     credentials wants to know they fail). Another scheme is refused with
//     401 under /__api__/, and ignored elsewhere: hosted apps and APIs may
//     use Authorization for their own purposes.
//   - Otherwise the podium_session cookie authenticates with a session; an
//     unknown or expired one is cleared and the request goes on anonymous.
//     A session-authenticated request other than GET, HEAD or OPTIONS must
//     carry the session's CSRF token (header X-CSRF-Token, or form field
//     csrf_token in a urlencoded form), else 403. Key-authenticated
//     requests need none: a browser never adds that header by itself.
//   - Without either the request is anonymous: handlers that need a user
//     call RequireUser, which gives 401.
func Authenticate(a auth.Authenticator) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			ctx := req.Context()
			h := req.Header.Get(echo.HeaderAuthorization)
			scheme, key, _ := strings.Cut(strings.TrimSpace(h), " ")
			if h != "" && !strings.EqualFold(scheme, "Key") && strings.HasPrefix(req.URL.Path, apiPrefix) {
				c.Response().Header().Set(echo.HeaderWWWAuthenticate, "Key")
				return podium.Errorf(podium.EUNAUTHORIZED, "unsupported Authorization scheme: send \"Authorization: Key <api key>\"")
			}
			if h != "" && strings.EqualFold(scheme, "Key") {
				u, rec, err := a.AuthenticateKey(ctx, strings.TrimSpace(key))
				if err != nil {
					if podium.IsCode(err, podium.EUNAUTHORIZED) {
						c.Response().Header().Set(echo.HeaderWWWAuthenticate, "Key")
					}
					return err
				}
				SetUser(c, u)
				c.Set(authKey, &authInfo{method: AuthKey, key: rec})
				return next(c)
			}
			if ck, err := req.Cookie(SessionCookie); err == nil && ck.Value != "" {
				sess, err := a.AuthenticateSession(ctx, ck.Value)
				switch {
				case podium.IsCode(err, podium.EUNAUTHORIZED):
					clearSessionCookie(c)
				case err != nil:
					return err
				default:
					if !safeMethod(req.Method) && !isLoginPath(req.URL.Path) && !isHostedContent(req.URL.Path) && !csrfOK(c, sess.CSRFToken) {
						return podium.Errorf(podium.EFORBIDDEN,
							"CSRF token missing or wrong: send the session's token in the %s header (GET /__api__/v1/user gives it)", CSRFHeader)
					}
					SetUser(c, sess.User)
					c.Set(authKey, &authInfo{method: AuthSession, session: sess})
				}
			}
			return next(c)
		}
	}
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// isHostedContent reports whether p is under /content/, where the session
// only decides who may reach a hosted app: a POST there is the app's
// business (a form, a callback), and the app cannot know Podium's token.
// The cookie is SameSite=Lax, so a cross-site POST does not carry it, and
// the proxy removes it before the app sees the request.
func isHostedContent(p string) bool { return strings.HasPrefix(p, "/content/") }

// isLoginPath: logging in replaces the session, so it needs no token of the
// old one (it has its own login CSRF check).
func isLoginPath(p string) bool { return p == LoginPath || p == SetupPath || p == SAMLACSPath }

// csrfOK compares the request's CSRF token with the session's in constant
// time. The form field is read only from urlencoded bodies: parsing a
// multipart upload here would buffer it.
func csrfOK(c echo.Context, want string) bool {
	got := c.Request().Header.Get(CSRFHeader)
	if got == "" && strings.HasPrefix(c.Request().Header.Get(echo.HeaderContentType), echo.MIMEApplicationForm) {
		got = c.FormValue(CSRFFormField)
	}
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// setSessionCookie sets the session cookie: HttpOnly (scripts cannot read
// it), SameSite=Lax (not sent on cross-site subrequests or posts), Secure
// when the request came over TLS, directly or through a trusted proxy
// (echo believes X-Forwarded-Proto only from trusted addresses), and
// always when [Server] Address is an https URL (Options.HTTPSAddress). It
// expires with the session's absolute lifetime; the idle deadline is
// checked on the server.
func setSessionCookie(c echo.Context, s *auth.Session) {
	c.SetCookie(&http.Cookie{
		Name: SessionCookie, Value: s.Token, Path: "/", Expires: s.EndsAt,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: c.Scheme() == "https",
	})
}

func clearSessionCookie(c echo.Context) {
	c.SetCookie(&http.Cookie{
		Name: SessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: c.Scheme() == "https",
	})
}

// AccountRoutes are the login pages (with the first-run setup) and the
// account API (users, keys, who am I); with sso (nil without one) the
// login pages sign in through that external provider. The authentication
// middleware (Authenticate) is installed apart, on every request, before
// any area's routes.
//
// Unlike the other areas' tables it is a method: the area shares the
// server's first-run state (EnableFirstRun, FirstRunSetup), its trusted
// proxies and [Authentication] Provider, which the server holds.
func (s *Server) AccountRoutes(a auth.AccountService, sso *SSO) []route.Route {
	h := &accountHandlers{auth: a, log: s.log, trustedProxies: s.trustedProxies, firstRun: &s.firstRun, provider: s.authProvider}
	routes := append(append(h.loginRoutes(), h.apiRoutes()...), h.manageRoutes()...)
	if sso != nil {
		h.sso = &ssoHandlers{accountHandlers: h, o: sso}
		routes = append(routes, h.sso.routes()...)
	}
	return routes
}
