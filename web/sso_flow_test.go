package web

import (
	"bytes"
	"context"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/auth"
	"github.com/podiumhq/podium/dbprovider/dbprovidertest"
	"github.com/podiumhq/podium/dbprovider/sqlite"
	"github.com/podiumhq/podium/internal/testidp"
	"github.com/podiumhq/podium/sso"
)

// The sign-in flows' handlers alone: package web's server with the
// account routes over a real accounts service (SQLite), against the
// in-process identity providers of internal/testidp, as a browser drives
// them. (The same flows through a node and Chromium:
// integration/sso_browser_test.go.)

const ssoBase = "http://podium.test"

var ssoAlice = testidp.User{ID: "u-alice", Username: "alice", Password: "alice-pw-123", First: "Alice", Last: "Liddell",
	Email: "alice@example.com", Groups: []string{"staff"}, Role: "publisher"}

// ssoServer is a server with the account routes signing in through o.
func ssoServer(t *testing.T, o *SSO) (*Server, *auth.Service, *auditRows) {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, sqlite.Options{Dir: t.TempDir(), Exclusive: true, Purpose: "test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	dbprovidertest.MustUp(t, db)
	log := quietLog()
	a := auth.New(db, log, auth.Options{Hash: auth.CheapHashParams})
	audit := &auditRows{}
	s := New(Options{Log: log, Audit: audit, NodeID: "n1", AuthProvider: o.protocol()})
	s.Use(Authenticate(a))
	s.Mount(s.AccountRoutes(a, o))
	return s, a, audit
}

// ssoBrowser is the browser's side at the provider: a cookie jar, and
// redirects followed until one comes back to Podium.
func ssoBrowser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 30 * time.Second, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if strings.HasPrefix(req.URL.String(), ssoBase) {
			return http.ErrUseLastResponse
		}
		return nil
	}}
}

// serve sends one request to s with the cookies given and returns the
// answer.
func serve(s *Server, method, target string, body url.Values, cookies ...*http.Cookie) *httptest.ResponseRecorder {
	var req *http.Request
	if body != nil {
		req = httptest.NewRequest(method, target, strings.NewReader(body.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		req = httptest.NewRequest(method, target, nil)
	}
	for _, c := range cookies {
		if c != nil {
			req.AddCookie(c)
		}
	}
	rec := httptest.NewRecorder()
	s.Echo.ServeHTTP(rec, req)
	return rec
}

var oidcLoginID = regexp.MustCompile(`name="id" value="([^"]+)"`)

// TestOIDCCallback: the start sets the state cookie and sends the browser
// to the provider; the callback with that cookie and the provider's code
// provisions the user with the provider's claims, opens a session, clears
// the state, audits the login and sends the browser where it was going.
// The same callback again (code used, state cleared) and a callback for a
// locked account give pages, never a 500 or a session.
func TestOIDCCallback(t *testing.T) {
	t.Parallel()
	idp := testidp.StartOIDC(t, testidp.OIDCOptions{Users: []testidp.User{ssoAlice}, RedirectURIs: []string{ssoBase + OIDCCallbackPath}})
	sealer, err := sso.NewSealer(bytes.Repeat([]byte{3}, 32), nil)
	if err != nil {
		t.Fatal(err)
	}
	o := &SSO{OIDC: sso.NewOIDC(sso.OIDCOptions{Issuer: idp.Issuer, ClientID: idp.ClientID, ClientSecret: podium.Secret(idp.ClientSecret),
		Claims: sso.ClaimNames{Username: "preferred_username", Name: "name", Email: "email", Groups: "groups", Role: "podium_role"}}),
		Sealer: sealer, Label: "Example SSO", Address: ssoBase}
	s, a, audit := ssoServer(t, o)

	// signIn runs the flow up to the provider's answer: the state cookie
	// and the callback URL.
	signIn := func(t *testing.T) (*http.Cookie, string) {
		t.Helper()
		rec := serve(s, http.MethodGet, ssoBase+OIDCStartPath+"?next=%2Fcontent%2Fx%2F", nil)
		state := cookie(t, rec, ssoStateCookie)
		if rec.Code != http.StatusSeeOther || !strings.HasPrefix(rec.Header().Get("Location"), idp.Issuer) || state.Value == "" || !state.HttpOnly {
			t.Fatalf("start: %d %v", rec.Code, rec.Header())
		}
		b := ssoBrowser()
		resp, err := b.Get(rec.Header().Get("Location"))
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		m := oidcLoginID.FindSubmatch(page)
		if m == nil {
			t.Fatalf("no login form at the provider: %s %s", resp.Status, page)
		}
		resp, err = b.PostForm(resp.Request.URL.ResolveReference(&url.URL{Path: "/login/username"}).String(),
			url.Values{"id": {string(m[1])}, "username": {ssoAlice.Username}, "password": {ssoAlice.Password}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		loc, err := resp.Location()
		if err != nil || !strings.HasPrefix(loc.String(), ssoBase+OIDCCallbackPath) {
			t.Fatalf("the provider did not send the browser back: %s %v", resp.Status, loc)
		}
		return state, loc.String()
	}

	t.Run("OK", func(t *testing.T) {
		state, callback := signIn(t)
		rec := serve(s, http.MethodGet, callback, nil, state)
		if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/content/x/" {
			t.Fatalf("callback: %d %v %s", rec.Code, rec.Header(), rec.Body)
		}
		sess := cookie(t, rec, SessionCookie)
		if cleared := setCookie(rec, ssoStateCookie); sess.Value == "" || cleared == nil || cleared.MaxAge >= 0 {
			t.Fatalf("callback: session %+v, state cookie %+v; want a session and the state cleared", sess, cleared)
		}
		u, err := a.AuthenticateSession(context.Background(), sess.Value)
		if err != nil || u.User.Username != "alice" || u.User.Role != podium.RolePublisher || u.User.Email != "alice@example.com" {
			t.Fatalf("session of %+v (%v), want alice, a publisher from the provider's role claim", u, err)
		}
		if row := audit.last(t); row.Action != podium.AuditLogin || row.Target != "user:alice" || row.UserID != u.User.ID {
			t.Fatalf("audit row %+v, want a login of user:alice", row)
		}
		// The same answer again: the provider refuses the used code, the
		// browser is asked to sign in again (400 page), no session.
		rec = serve(s, http.MethodGet, callback, nil, state)
		if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "Sign-in expired") || hasSetCookie(rec, SessionCookie) {
			t.Fatalf("the callback replayed: %d %s", rec.Code, rec.Body)
		}
	})
	t.Run("Locked", func(t *testing.T) {
		state, callback := signIn(t)
		u, err := a.GetUserByName(context.Background(), "alice")
		if err != nil {
			t.Fatal(err)
		}
		if err := a.SetLocked(context.Background(), u.ID, true); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = a.SetLocked(context.Background(), u.ID, false) })
		rec := serve(s, http.MethodGet, callback, nil, state)
		if rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), "Sign-in refused") || hasSetCookie(rec, SessionCookie) {
			t.Fatalf("callback for a locked account: %d %s", rec.Code, rec.Body)
		}
	})
}

// TestSAMLACS: the start sends the browser to the identity provider with
// the state cookie set; the provider's cross-site post, which carries no
// SameSite=Lax cookie, is bounced by a page of this origin (its one
// script allowed by hash) that posts it again; the bounced post with the
// cookie signs the user in. A bounced post without the cookie (a response
// posted into a browser that did not start the sign-in) is refused. The
// metadata is served for the provider's administrator.
func TestSAMLACS(t *testing.T) {
	t.Parallel()
	idp := testidp.StartSAML(t, []testidp.User{ssoAlice})
	sp, err := sso.NewSAML(sso.SAMLOptions{MetadataURL: idp.MetadataURL, BaseURL: ssoBase,
		Attributes: sso.ClaimNames{Username: "uid", Name: "cn", Email: "mail", Groups: "eduPersonAffiliation", Role: "role"}}, LoginPath)
	if err != nil {
		t.Fatal(err)
	}
	sealer, err := sso.NewSealer(bytes.Repeat([]byte{4}, 32), nil)
	if err != nil {
		t.Fatal(err)
	}
	s, a, _ := ssoServer(t, &SSO{SAML: sp, Sealer: sealer, Label: "Example IdP", Address: ssoBase})

	rec := serve(s, http.MethodGet, ssoBase+SAMLMetadataPath, nil)
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/samlmetadata+xml" ||
		!strings.Contains(rec.Body.String(), ssoBase+SAMLACSPath) {
		t.Fatalf("metadata: %d %v %s", rec.Code, rec.Header(), rec.Body)
	}
	idp.AddServiceProvider(t, "podium", rec.Body.Bytes())

	rec = serve(s, http.MethodGet, ssoBase+SAMLStartPath+"?next=%2Fcontent%2Fy%2F", nil)
	state := cookie(t, rec, ssoStateCookie)
	if rec.Code != http.StatusSeeOther || state.Value == "" {
		t.Fatalf("start: %d %v", rec.Code, rec.Header())
	}
	// The browser at the provider: its login form, then the page that
	// posts the response back.
	b := ssoBrowser()
	resp, err := b.Get(rec.Header().Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	form := url.Values{"user": {ssoAlice.Username}, "password": {ssoAlice.Password}}
	for _, f := range []string{"SAMLRequest", "RelayState"} {
		m := regexp.MustCompile(`name="` + f + `" value="([^"]*)"`).FindSubmatch(page)
		if m == nil {
			t.Fatalf("no %s in the provider's login form: %s", f, page)
		}
		form.Set(f, html.UnescapeString(string(m[1])))
	}
	resp, err = b.PostForm(resp.Request.URL.ResolveReference(&url.URL{Path: "/sso"}).String(), form)
	if err != nil {
		t.Fatal(err)
	}
	page, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`name="SAMLResponse" value="([^"]+)"`).FindSubmatch(page)
	if m == nil {
		t.Fatalf("the provider posted no SAMLResponse: %s %s", resp.Status, page)
	}
	response := html.UnescapeString(string(m[1]))

	// The cross-site post: no state cookie, so a bounce page.
	rec = serve(s, http.MethodPost, ssoBase+SAMLACSPath, url.Values{"SAMLResponse": {response}})
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `name="bounced"`) ||
		!strings.Contains(rec.Header().Get("Content-Security-Policy"), bounceScriptHash) || hasSetCookie(rec, SessionCookie) {
		t.Fatalf("the provider's post without the state cookie: %d %v %s", rec.Code, rec.Header(), rec.Body)
	}
	// Bounced, without the cookie: refused (login CSRF).
	rec = serve(s, http.MethodPost, ssoBase+SAMLACSPath, url.Values{"SAMLResponse": {response}, "bounced": {"1"}})
	if rec.Code != http.StatusBadRequest || hasSetCookie(rec, SessionCookie) {
		t.Fatalf("a bounced post without the state cookie: %d %s", rec.Code, rec.Body)
	}
	// Bounced, with the cookie: signed in.
	rec = serve(s, http.MethodPost, ssoBase+SAMLACSPath, url.Values{"SAMLResponse": {response}, "bounced": {"1"}}, state)
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/content/y/" {
		t.Fatalf("the bounced post with the state cookie: %d %v %s", rec.Code, rec.Header(), rec.Body)
	}
	sess, err := a.AuthenticateSession(context.Background(), cookie(t, rec, SessionCookie).Value)
	if err != nil || sess.User.Username != "alice" {
		t.Fatalf("session %+v (%v), want alice's", sess, err)
	}
}

// hasSetCookie reports whether the answer sets a non-empty cookie name.
func hasSetCookie(rec *httptest.ResponseRecorder, name string) bool {
	for _, c := range rec.Result().Cookies() {
		if c.Name == name && c.Value != "" {
			return true
		}
	}
	return false
}

// setCookie returns the cookie name the answer sets, even to "" (a
// deletion); nil when it sets none.
func setCookie(rec *httptest.ResponseRecorder, name string) *http.Cookie {
	for _, c := range rec.Result().Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// TestSSOCheck: the check the node's sign-in probe runs reaches the
// provider's OIDC discovery document or SAML metadata, and fails when the
// provider is away.
func TestSSOCheck(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	oidc := testidp.StartOIDC(t, testidp.OIDCOptions{Users: []testidp.User{ssoAlice}, RedirectURIs: []string{ssoBase + OIDCCallbackPath}})
	o := &SSO{OIDC: sso.NewOIDC(sso.OIDCOptions{Issuer: oidc.Issuer, ClientID: oidc.ClientID, ClientSecret: podium.Secret(oidc.ClientSecret)})}
	if err := o.Check(ctx); err != nil {
		t.Fatalf("OIDC provider up: %v", err)
	}
	away := &SSO{OIDC: sso.NewOIDC(sso.OIDCOptions{Issuer: "http://127.0.0.1:1/nowhere", ClientID: "c"})}
	if err := away.Check(ctx); err == nil {
		t.Fatal("OIDC provider away: no error")
	}
	saml := testidp.StartSAML(t, []testidp.User{ssoAlice})
	sp, err := sso.NewSAML(sso.SAMLOptions{MetadataURL: saml.MetadataURL, BaseURL: ssoBase}, LoginPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := (&SSO{SAML: sp}).Check(ctx); err != nil {
		t.Fatalf("SAML IdP up: %v", err)
	}
}
