package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"html/template"
	"net/http"
	"regexp"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/auth"
	"github.com/podiumhq/podium/sso"
	"github.com/podiumhq/podium/web/route"
	"github.com/sirupsen/logrus"
)

// Paths of the single sign-on flows, under LoginPath.
const (
	// OIDCStartPath sends the browser to the OpenID Connect provider
	// (?next= where to go after).
	OIDCStartPath = LoginPath + "/oidc"
	// OIDCCallbackPath is the redirect URI to register at the provider.
	OIDCCallbackPath = LoginPath + "/oidc/callback"
	// SAMLStartPath sends the browser to the SAML identity provider.
	SAMLStartPath = LoginPath + "/saml"
	// SAMLMetadataPath serves the service provider's metadata, to give
	// to the identity provider.
	SAMLMetadataPath = LoginPath + sso.SAMLMetadataPath
	// SAMLACSPath is the assertion consumer service (HTTP-POST binding).
	SAMLACSPath = LoginPath + sso.SAMLACSPath
)

// ssoStateCookie holds the sealed state of a sign-in in progress
// (sso.Flow): any node of a cluster opens it.
const ssoStateCookie = "podium_sso_state"

// SSO configures sign-in through an external provider: exactly one of
// OIDC and SAML is set.
type SSO struct {
	OIDC *sso.OIDC
	SAML *sso.SAML
	// Sealer seals the sign-in state cookie (a key shared by the
	// cluster's nodes).
	Sealer *sso.Sealer
	// Label names the provider on the login page ("Sign in with …").
	Label string
	// Address is [Server] Address ("" builds URLs from the request).
	Address string
	// LogoutAtProvider sends a browser that logs out on to the OIDC
	// provider's end_session_endpoint.
	LogoutAtProvider bool
}

// protocol is the provider's name in logs and ExternalIdentity.Provider.
func (o *SSO) protocol() string {
	if o.OIDC != nil {
		return "oidc"
	}
	return "saml"
}

func (o *SSO) startPath() string {
	if o.OIDC != nil {
		return OIDCStartPath
	}
	return SAMLStartPath
}

// Check fetches the provider's OIDC discovery document or SAML IdP
// metadata: whether users can sign in through this node now.
func (o *SSO) Check(ctx context.Context) error {
	if o.OIDC != nil {
		return o.OIDC.Check(ctx)
	}
	_, err := o.SAML.FetchIdPMetadata(ctx)
	return err
}

//go:embed sso.html.tmpl
var ssoTemplateText string

var ssoTemplate = template.Must(template.New("sso").Parse(ssoTemplateText))

// bounceScriptHash is the CSP hash of the bounce page's one script.
var bounceScriptHash = func() string {
	m := regexp.MustCompile(`<script>(.*)</script>`).FindStringSubmatch(ssoTemplateText)
	h := sha256.Sum256([]byte(m[1]))
	return "'sha256-" + base64.StdEncoding.EncodeToString(h[:]) + "'"
}()

type ssoPage struct {
	// Refresh, when set, sends the browser on there at once.
	Refresh  string
	Title    string
	Message  string
	Detail   string
	RetryURL string
	Bounce   *ssoBounce
}

type ssoBounce struct {
	Action       string
	SAMLResponse string
	RelayState   string
}

type ssoHandlers struct {
	*accountHandlers
	o *SSO
}

func (h *ssoHandlers) routes() []route.Route {
	if h.o.OIDC != nil {
		return []route.Route{
			{Method: http.MethodGet, Path: OIDCStartPath, Handler: h.oidcStart},
			{Method: http.MethodGet, Path: OIDCCallbackPath, Handler: h.oidcCallback, Audit: podium.AuditLogin, AuditFailed: podium.AuditLoginFailed},
		}
	}
	return []route.Route{
		{Method: http.MethodGet, Path: SAMLStartPath, Handler: h.samlStart},
		{Method: http.MethodGet, Path: SAMLMetadataPath, Handler: h.samlMetadata},
		{Method: http.MethodPost, Path: SAMLACSPath, Handler: h.samlACS, Audit: podium.AuditLogin, AuditFailed: podium.AuditLoginFailed},
	}
}

// base returns Podium's public URL: [Server] Address, else the request's
// scheme and host, with the sub-path the request came through.
func (h *ssoHandlers) base(c echo.Context) string {
	if h.o.Address != "" {
		return strings.TrimRight(h.o.Address, "/")
	}
	return c.Scheme() + "://" + c.Request().Host + h.prefix(c)
}

// setState keeps f in the browser's state cookie. SameSite=Lax: the
// OIDC callback is a top-level GET, which carries it; the SAML response
// is a cross-site POST, which does not, hence the bounce (samlACS).
func (h *ssoHandlers) setState(c echo.Context, f sso.Flow) error {
	v, err := h.o.Sealer.Seal(f)
	if err != nil {
		return err
	}
	c.SetCookie(&http.Cookie{Name: ssoStateCookie, Value: v, Path: h.prefix(c) + LoginPath, MaxAge: int(sso.FlowTTL.Seconds()),
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: c.Scheme() == "https"})
	return nil
}

func (h *ssoHandlers) state(c echo.Context, protocol string) (*sso.Flow, error) {
	v := ""
	if ck, err := c.Cookie(ssoStateCookie); err == nil {
		v = ck.Value
	}
	return h.o.Sealer.Open(v, protocol)
}

func (h *ssoHandlers) clearState(c echo.Context) {
	c.SetCookie(&http.Cookie{Name: ssoStateCookie, Value: "", Path: h.prefix(c) + LoginPath, MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: c.Scheme() == "https"})
}

// oidcStart answers GET /__login__/oidc?next=: a redirect to the
// provider's authorization endpoint, with the state cookie set.
func (h *ssoHandlers) oidcStart(c echo.Context) error {
	next := safeNext(c.QueryParam("next"))
	u, f, err := h.o.OIDC.Begin(c.Request().Context(), h.base(c)+OIDCCallbackPath, next)
	if err != nil {
		return h.failed(c, err)
	}
	if err := h.setState(c, f); err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.Redirect(http.StatusSeeOther, u)
}

// oidcCallback answers GET /__login__/oidc/callback: the provider's
// answer, checked against the state cookie; signs the user in.
func (h *ssoHandlers) oidcCallback(c echo.Context) error {
	f, err := h.state(c, "oidc")
	if err != nil {
		return h.failed(c, err)
	}
	id, err := h.o.OIDC.Finish(c.Request().Context(), h.base(c)+OIDCCallbackPath, f, c.QueryParams())
	if err != nil {
		return h.failed(c, err)
	}
	return h.signIn(c, id, f.Next)
}

// samlStart answers GET /__login__/saml?next=: a redirect to the identity
// provider (HTTP-Redirect binding), with the state cookie set.
func (h *ssoHandlers) samlStart(c echo.Context) error {
	u, f, err := h.o.SAML.Begin(c.Request().Context(), safeNext(c.QueryParam("next")))
	if err != nil {
		return h.failed(c, err)
	}
	if err := h.setState(c, f); err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.Redirect(http.StatusSeeOther, u)
}

// samlMetadata answers GET /__login__/saml/metadata with the service
// provider's metadata (for the identity provider's administrator).
func (h *ssoHandlers) samlMetadata(c echo.Context) error {
	b, err := h.o.SAML.Metadata()
	if err != nil {
		return err
	}
	return c.Blob(http.StatusOK, "application/samlmetadata+xml", b)
}

// samlACS answers POST /__login__/saml/acs. The identity provider's page
// posts from its own site, so the browser leaves out the SameSite=Lax
// state cookie: the first post answers with a page of this origin that
// posts the same response again (bounced=1), which carries the cookie.
// Without the cookie the response is refused: a response posted into a
// browser that did not start the sign-in is an attacker's login CSRF.
func (h *ssoHandlers) samlACS(c echo.Context) error {
	f, err := h.state(c, "saml")
	if err != nil {
		if c.FormValue("bounced") == "" && c.FormValue("SAMLResponse") != "" {
			return h.bounce(c)
		}
		return h.failed(c, err)
	}
	if err := c.Request().ParseForm(); err != nil {
		return podium.Errorf(podium.EINVALID, "SAML response: %v", err)
	}
	id, err := h.o.SAML.Finish(c.Request().Context(), c.Request(), f)
	if err != nil {
		return h.failed(c, err)
	}
	return h.signIn(c, id, f.Next)
}

func (h *ssoHandlers) bounce(c echo.Context) error {
	hdr := c.Response().Header()
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; script-src "+bounceScriptHash+
		"; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	return h.renderSSO(c, http.StatusOK, ssoPage{Title: "Signing in", Bounce: &ssoBounce{
		Action: h.prefix(c) + SAMLACSPath, SAMLResponse: c.FormValue("SAMLResponse"), RelayState: c.FormValue("RelayState")}})
}

// signIn provisions or updates the user (auth.SignInExternal), opens a
// session and sends the browser where it was going.
func (h *ssoHandlers) signIn(c echo.Context, id *sso.Identity, next string) error {
	ctx := c.Request().Context()
	h.clearState(c)
	SetAuditTarget(c, "user:"+id.Username)
	u, err := h.auth.SignInExternal(ctx, auth.ExternalIdentity{Provider: h.o.protocol(), UniqueID: id.UniqueID, Username: id.Username,
		Name: id.Name, Email: id.Email, Groups: id.Groups, Role: id.Role})
	if err != nil {
		return h.refused(c, id, err)
	}
	SetAuditActor(c, u.ID)
	SetAuditTarget(c, "user:"+u.Username)
	sess, err := h.auth.CreateSession(ctx, u)
	if err != nil {
		return err
	}
	if old, err := c.Cookie(SessionCookie); err == nil && old.Value != "" {
		_ = h.auth.Logout(ctx, old.Value)
	}
	setSessionCookie(c, sess)
	h.log.WithFields(logrus.Fields{"provider": h.o.protocol(), "user": u.Username, "user_id": u.ID, "role": u.Role,
		"groups": id.Groups, "remote": c.RealIP()}).Info("signed in through the identity provider")
	return c.Redirect(http.StatusSeeOther, nextUnder(h.prefix(c), next))
}

// refused answers a sign-in the provider vouched for but Podium refuses
// (a locked account, an invalid username): 403 with the reason.
func (h *ssoHandlers) refused(c echo.Context, id *sso.Identity, err error) error {
	code := podium.ErrorCode(err)
	if code != podium.EFORBIDDEN && code != podium.EUNAUTHORIZED && code != podium.EINVALID && code != podium.ECONFLICT {
		return err
	}
	h.log.WithFields(logrus.Fields{"provider": h.o.protocol(), "user": sanitize(id.Username), "unique_id": sanitize(id.UniqueID),
		"remote": c.RealIP()}).WithError(err).Warn("sign-in through the identity provider refused by Podium")
	return h.renderSSO(c, http.StatusForbidden, ssoPage{Title: "Sign-in refused",
		Message: "The sign-in provider knows you, but Podium refused the sign-in: " + podium.ErrorMessage(err),
		Detail:  "Ask your Podium administrator."})
}

// failed answers a sign-in that failed at or with the provider: a page
// that says what happened in the user's words, and a log line for the
// administrator with the detail; never a 500.
func (h *ssoHandlers) failed(c echo.Context, err error) error {
	e := sso.AsError(err)
	status, title := http.StatusBadGateway, "Sign-in unavailable"
	switch e.Kind {
	case sso.KindExpired:
		status, title = http.StatusBadRequest, "Sign-in expired"
	case sso.KindDenied:
		status, title = http.StatusForbidden, "Sign-in refused"
	}
	entry := h.log.WithFields(logrus.Fields{"provider": h.o.protocol(), "kind": e.Kind, "remote": c.RealIP(), "path": c.Request().URL.Path})
	if e.Err != nil {
		entry = entry.WithField("error", e.Err.Error())
	}
	msg := "sign-in through the identity provider failed: " + e.User
	if e.Kind == sso.KindUnavailable || e.Kind == sso.KindMisconfigured {
		entry.Error(msg)
	} else {
		entry.Warn(msg)
	}
	h.clearState(c)
	return h.renderSSO(c, status, ssoPage{Title: title, Message: e.User, RetryURL: h.prefix(c) + LoginPath})
}

func (h *ssoHandlers) renderSSO(c echo.Context, status int, p ssoPage) error {
	var buf bytes.Buffer
	if err := ssoTemplate.Execute(&buf, p); err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.HTMLBlob(status, buf.Bytes())
}

// logoutURL is where a browser goes after logging out: the OIDC
// provider's end_session_endpoint (coming back to the login page) when
// configured, else "".
func (h *ssoHandlers) logoutURL(c echo.Context) string {
	if h.o.OIDC == nil || !h.o.LogoutAtProvider {
		return ""
	}
	ctx, cancel := context.WithTimeout(c.Request().Context(), 5e9)
	defer cancel()
	return h.o.OIDC.LogoutURL(ctx, h.base(c)+LoginPath)
}

// loggedOut answers a logout with a page that sends the browser on to
// the provider's logout at u. A page rather than a redirect: the logout is
// a form post, and the dashboard's form-action 'self' would stop a
// redirect to another origin.
func (h *ssoHandlers) loggedOut(c echo.Context, u string) error {
	return h.renderSSO(c, http.StatusOK, ssoPage{Refresh: u, Title: "Logged out",
		Message: "You are logged out of Podium. Continuing to log you out of " + h.o.Label + "…"})
}

// sanitize bounds a provider-sent value for the log.
func sanitize(s string) string {
	if len(s) > 200 {
		s = s[:200]
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}
