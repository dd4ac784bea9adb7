package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/auth"
	"github.com/podiumhq/podium/web"
	"github.com/podiumhq/podium/web/route"
	"github.com/sirupsen/logrus"
)

// noSessions knows no session: these tests are about what reaches the
// handlers, not who is logged in.
type noSessions struct{}

func (noSessions) AuthenticateSessionID(context.Context, []byte) (*auth.Session, error) {
	return nil, podium.Errorf(podium.EUNAUTHORIZED, "no")
}

// originServer is a web.Server with the Origins middleware and one
// handler, on every method, that answers the Cookie header it got.
func originServer(t *testing.T, opts web.Options) *web.Server {
	t.Helper()
	log := logrus.New()
	log.SetOutput(&strings.Builder{})
	opts.Log = logrus.NewEntry(log)
	opts.Health = func(context.Context) (web.PingBody, bool) { return web.PingBody{Status: "ok"}, true }
	s := web.New(opts)
	s.Use(s.Origins(noSessions{}))
	echoCookie := func(c echo.Context) error { return c.String(http.StatusOK, "cookie="+c.Request().Header.Get("Cookie")) }
	s.Mount([]route.Route{
		{Path: "/__api__/v1/user", Handler: echoCookie},
		{Path: "/__api__/v1/keys", Handler: echoCookie},
		{Path: "/__dashboard__/", Handler: echoCookie},
		{Path: "/__login__", Handler: echoCookie},
		{Path: "/", Handler: echoCookie},
	})
	return s
}

// TestOriginsRefuseCrossOriginWrites: a request carrying the dashboard's
// session cookie from another origin (the content origin, a sandboxed
// page, another site) may not change anything, and reads the API without
// the session; requests from the dashboard itself, with an API key, or
// without the cookie are untouched. Issue 23: an app page used the
// viewer's session to create an API key.
func TestOriginsRefuseCrossOriginWrites(t *testing.T) {
	t.Parallel()
	for _, withContent := range []bool{false, true} {
		opts := web.Options{}
		if withContent {
			opts.Address, opts.ContentURL, opts.ContentKey = "https://podium.example", "https://*.content.example", make([]byte, 32)
		}
		s := originServer(t, opts)
		for _, tc := range []struct {
			name, method, path string
			hdr                map[string]string
			want               int
			wantCookie         bool // the handler saw podium_session
		}{
			{"SameOriginWrite", "POST", "/__api__/v1/keys", map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": "https://podium.example"}, 200, true},
			{"NoBrowserWrite", "POST", "/__api__/v1/keys", nil, 200, true},
			{"CrossSiteWrite", "POST", "/__api__/v1/keys", map[string]string{"Sec-Fetch-Site": "cross-site"}, 403, false},
			{"SameSiteWrite", "POST", "/__api__/v1/keys", map[string]string{"Sec-Fetch-Site": "same-site"}, 403, false},
			{"NullOriginWrite", "POST", "/__api__/v1/keys", map[string]string{"Origin": "null"}, 403, false},
			{"KeyWrite", "POST", "/__api__/v1/keys", map[string]string{"Sec-Fetch-Site": "cross-site", "Authorization": "Key pdm_x"}, 200, true},
			{"CrossSiteRead", "GET", "/__api__/v1/user", map[string]string{"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "cors"}, 200, false},
			{"SameSiteRead", "GET", "/__api__/v1/user", map[string]string{"Sec-Fetch-Site": "same-site", "Sec-Fetch-Mode": "no-cors"}, 200, false},
			{"NavigationRead", "GET", "/__api__/v1/user", map[string]string{"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate"}, 200, true},
			{"SameOriginRead", "GET", "/__api__/v1/user", map[string]string{"Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "cors"}, 200, true},
			{"CrossSiteDashboardPage", "GET", "/__dashboard__/", map[string]string{"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate"}, 200, true},
		} {
			req := httptest.NewRequest(tc.method, tc.path, nil)
			req.Host = "podium.example"
			req.AddCookie(&http.Cookie{Name: podium.SessionCookie, Value: "s3cret"})
			for k, v := range tc.hdr {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			s.Echo.ServeHTTP(rec, req)
			if rec.Code != tc.want {
				t.Errorf("content origin %v, %s: %d %s, want %d", withContent, tc.name, rec.Code, rec.Body, tc.want)
				continue
			}
			if got := strings.Contains(rec.Body.String(), "podium_session=s3cret"); rec.Code == 200 && got != tc.wantCookie {
				t.Errorf("content origin %v, %s: the handler saw the session cookie: %v, want %v", withContent, tc.name, got, tc.wantCookie)
			}
		}
		if withContent {
			// The content origin's address as Origin: refused, even if the
			// browser says nothing about the site.
			req := httptest.NewRequest("POST", "/__api__/v1/keys", nil)
			req.Host = "podium.example"
			req.Header.Set("Origin", "https://abc.content.example")
			req.AddCookie(&http.Cookie{Name: podium.SessionCookie, Value: "s3cret"})
			rec := httptest.NewRecorder()
			s.Echo.ServeHTTP(rec, req)
			if rec.Code != 403 {
				t.Errorf("write from the content origin: %d, want 403", rec.Code)
			}
		}
	}
}

// TestOriginsRefuseCrossOriginLogin: a login form posted from another
// origin with the login form's cookie (which a page of the same site, a
// content origin on a sibling sub-domain, can set for the parent domain)
// is refused, so content cannot log its reader into the attacker's
// account; the form posted by the login page itself passes.
func TestOriginsRefuseCrossOriginLogin(t *testing.T) {
	t.Parallel()
	s := originServer(t, web.Options{Address: "https://podium.example", ContentURL: "https://content.podium.example", ContentKey: make([]byte, 32)})
	for _, tc := range []struct {
		name string
		hdr  map[string]string
		want int
	}{
		{"LoginPage", map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": "https://podium.example"}, 200},
		{"NoBrowser", nil, 200},
		{"SameSite", map[string]string{"Sec-Fetch-Site": "same-site", "Origin": "https://content.podium.example"}, 403},
		{"ContentOrigin", map[string]string{"Origin": "https://content.podium.example"}, 403},
		{"CrossSite", map[string]string{"Sec-Fetch-Site": "cross-site"}, 403},
	} {
		req := httptest.NewRequest("POST", "/__login__", strings.NewReader("username=mallory&password=x&login_csrf=tossed"))
		req.Host = "podium.example"
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.AddCookie(&http.Cookie{Name: "podium_login_csrf", Value: "tossed"})
		for k, v := range tc.hdr {
			req.Header.Set(k, v)
		}
		rec := httptest.NewRecorder()
		s.Echo.ServeHTTP(rec, req)
		if rec.Code != tc.want {
			t.Errorf("%s: %d %s, want %d", tc.name, rec.Code, rec.Body, tc.want)
		}
	}
}

// TestContentOriginServesContentOnly: on the content origin the API, the
// dashboard and the login pages do not exist, and the dashboard's session
// cookie never reaches a handler.
func TestContentOriginServesContentOnly(t *testing.T) {
	t.Parallel()
	s := originServer(t, web.Options{Address: "http://localhost:3939", ContentURL: "http://127.0.0.1:3939", ContentKey: make([]byte, 32)})
	for _, p := range []string{"/__api__/v1/user", "/__dashboard__/", "/__login__", "/"} {
		req := httptest.NewRequest("GET", p, nil)
		req.Host = "127.0.0.1:3939"
		req.AddCookie(&http.Cookie{Name: podium.SessionCookie, Value: "s3cret"})
		rec := httptest.NewRecorder()
		s.Echo.ServeHTTP(rec, req)
		if rec.Code != 404 || strings.Contains(rec.Body.String(), "s3cret") {
			t.Errorf("GET %s on the content origin: %d %s, want 404", p, rec.Code, rec.Body)
		}
	}
	// The same paths on the main origin answer.
	req := httptest.NewRequest("GET", "/__dashboard__/", nil)
	req.Host = "localhost:3939"
	rec := httptest.NewRecorder()
	s.Echo.ServeHTTP(rec, req)
	if rec.Code != 200 {
		t.Errorf("dashboard on the main origin: %d", rec.Code)
	}
}

// TestSecurityHeaders: nosniff on every answer Podium writes (errors
// too), the dashboard's and the login page's CSP with frame-ancestors from
// [Server] FrameOptionsDashboard, and the content origin allowed to be
// framed by the dashboard and to receive the login's redirect.
func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	get := func(s *web.Server, p string) http.Header {
		req := httptest.NewRequest("GET", p, nil)
		rec := httptest.NewRecorder()
		s.Echo.ServeHTTP(rec, req)
		return rec.Header()
	}
	s := originServer(t, web.Options{})
	for _, p := range []string{"/__api__/v1/user", "/__dashboard__/", "/__login__", "/", "/__ping__", "/no/such/path"} {
		if h := get(s, p); h.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s: X-Content-Type-Options %q, want nosniff", p, h.Get("X-Content-Type-Options"))
		}
	}
	// Answers written before any handler runs: a request the edge
	// refuses (a malformed query string) and, on a node that serves TLS,
	// the redirect of a plain HTTP request.
	if h := get(s, "/__api__/v1/user?x=%zz"); h.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("a request refused by the edge: X-Content-Type-Options %q, want nosniff", h.Get("X-Content-Type-Options"))
	}
	if h := get(originServer(t, web.Options{HTTPSPort: "8443"}), "/__dashboard__/"); h.Get("Location") == "" || h.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("the redirect to https: Location %q, X-Content-Type-Options %q, want nosniff", h.Get("Location"), h.Get("X-Content-Type-Options"))
	}
	h := get(s, "/__dashboard__/")
	if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "script-src 'self'") ||
		h.Get("X-Frame-Options") != "DENY" {
		t.Errorf("dashboard by default: CSP %q, X-Frame-Options %q", csp, h.Get("X-Frame-Options"))
	}
	if csp := get(s, "/__api__/v1/user").Get("Content-Security-Policy"); !strings.HasPrefix(csp, "default-src 'none'") {
		t.Errorf("API CSP %q", csp)
	}
	s = originServer(t, web.Options{FrameOptionsDashboard: web.FrameSameOrigin, Address: "https://podium.example",
		ContentURL: "https://*.content.example", ContentKey: make([]byte, 32)})
	h = get(s, "/__dashboard__/")
	if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'self'") ||
		!strings.Contains(csp, "frame-src 'self' https://*.content.example") || h.Get("X-Frame-Options") != "SAMEORIGIN" {
		t.Errorf("dashboard with SAMEORIGIN and a content origin: CSP %q, X-Frame-Options %q", csp, h.Get("X-Frame-Options"))
	}
	if csp := get(s, "/__login__").Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self' https://*.content.example") {
		t.Errorf("login CSP %q", csp)
	}
	s = originServer(t, web.Options{FrameOptionsDashboard: web.FrameNone})
	if h := get(s, "/__dashboard__/"); h.Get("X-Frame-Options") != "" || !strings.Contains(h.Get("Content-Security-Policy"), "frame-ancestors *") {
		t.Errorf("dashboard with NONE: %v", h)
	}
	if web.ContentHeaders(web.FrameNone) != nil {
		t.Error("ContentHeaders(NONE) changes app answers")
	}
	app := http.Header{"X-Frame-Options": {"ALLOWALL"}}
	web.ContentHeaders(web.FrameDeny)(app)
	if got := app.Values("X-Frame-Options"); len(got) != 1 || got[0] != "DENY" {
		t.Errorf("app answer with FrameOptionsContent DENY: %q", got)
	}
}
