package web

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/podiumhq/podium/sso"
	"github.com/podiumhq/podium/web/route"
	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"
)

// With an OpenID Connect provider the login page offers it instead of the
// password form, a password login is refused, and a callback without the
// browser's sign-in state gives a page and a log line, not a 500. (The
// flows against a real provider: integration/sso_browser_test.go.)
func TestSSOLoginPages(t *testing.T) {
	t.Parallel()
	logger, hook := logtest.NewNullLogger()
	sealer, err := sso.NewSealer(make([]byte, 32), nil)
	if err != nil {
		t.Fatal(err)
	}
	o := &SSO{OIDC: sso.NewOIDC(sso.OIDCOptions{Issuer: "http://127.0.0.1:1"}), Sealer: sealer, Label: "Example SSO"}
	h := &accountHandlers{log: logrus.NewEntry(logger)}
	h.sso = &ssoHandlers{accountHandlers: h, o: o}
	e := echo.New()
	route.Mount(e, append(h.loginRoutes(), h.sso.routes()...))
	do := func(method, target string, form url.Values) *httptest.ResponseRecorder {
		var req *http.Request
		if form != nil {
			req = httptest.NewRequest(method, target, strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		} else {
			req = httptest.NewRequest(method, target, nil)
		}
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		return rec
	}

	rec := do(http.MethodGet, LoginPath+"?next=%2Fcontent%2Fx%2F", nil)
	body := rec.Body.String()
	if rec.Code != 200 || !strings.Contains(body, `href="/__login__/oidc?next=%2Fcontent%2Fx%2F"`) ||
		!strings.Contains(body, "Sign in with Example SSO") || strings.Contains(body, `name="password"`) {
		t.Fatalf("login page: %d %s", rec.Code, body)
	}
	rec = do(http.MethodPost, LoginPath, url.Values{"username": {"alice"}, "password": {"x"}})
	if rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), "signs users in through Example SSO") {
		t.Fatalf("password login: %d %s", rec.Code, rec.Body.String())
	}
	rec = do(http.MethodGet, OIDCCallbackPath+"?code=c&state=s", nil)
	if rec.Code != http.StatusBadRequest || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") ||
		!strings.Contains(rec.Body.String(), "Please sign in again") {
		t.Fatalf("callback without state: %d %s", rec.Code, rec.Body.String())
	}
	e2 := hook.LastEntry()
	if e2 == nil || e2.Message != "sign-in through the identity provider failed: This sign-in expired or was started in another browser. Please sign in again." || e2.Data["kind"] != sso.KindExpired {
		t.Fatalf("log entry %+v", e2)
	}
	// The provider is down: the start gives the 502 page.
	rec = do(http.MethodGet, OIDCStartPath, nil)
	if rec.Code != http.StatusBadGateway || !strings.Contains(rec.Body.String(), "cannot be reached") {
		t.Fatalf("start with the provider down: %d %s", rec.Code, rec.Body.String())
	}
}
