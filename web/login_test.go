package web

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/podiumhq/podium/web/route"
)

// TestSafeNext: the login redirect follows local paths only.
func TestSafeNext(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"":                      "",
		"/":                     "/",
		"/content/7/?tab=logs":  "/content/7/?tab=logs",
		"//evil.example/":       "",
		"/\\evil.example":       "",
		"https://evil.example/": "",
		"javascript:alert(1)":   "",
		"evil.example":          "",
		"/ok\r\nSet-Cookie: x":  "",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestLoginNextUnder: behind a prefix, the login redirect stays under it.
func TestLoginNextUnder(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ prefix, next, want string }{
		{"", "", "/"},
		{"", "/__dashboard__/", "/__dashboard__/"},
		{"/podium", "", "/podium/"},
		{"/podium", "/podium/__dashboard__/jobs?x=1", "/podium/__dashboard__/jobs?x=1"},
		{"/podium", "/podium", "/podium"},
		{"/podium", "/__dashboard__/", "/podium/__dashboard__/"},
		{"/podium", "/podiumx/", "/podium/podiumx/"},
	} {
		if got := nextUnder(tc.prefix, tc.next); got != tc.want {
			t.Errorf("nextUnder(%q, %q) = %q, want %q", tc.prefix, tc.next, got, tc.want)
		}
	}
}

// TestLoginFormPrefix: the form posts, and its login CSRF cookie is
// scoped, to the login path behind a trusted proxy's prefix; anyone else's
// X-Forwarded-Prefix is ignored.
func TestLoginFormPrefix(t *testing.T) {
	t.Parallel()
	_, loop, _ := net.ParseCIDR("127.0.0.0/8")
	e := echo.New()
	route.Mount(e, (&accountHandlers{trustedProxies: []*net.IPNet{loop}}).loginRoutes())
	for _, tc := range []struct{ name, remote, want string }{
		{"TrustedProxy", "127.0.0.1:1", "/podium/__login__"},
		{"UntrustedPeer", "192.0.2.1:1", "/__login__"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, LoginPath+"?next=%2Fpodium%2F__dashboard__%2F", nil)
			req.RemoteAddr = tc.remote
			req.Header.Set(PrefixHeader, "/podium/")
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, req)
			cookies := rec.Result().Cookies()
			if rec.Code != http.StatusOK || len(cookies) != 1 || cookies[0].Path != tc.want {
				t.Fatalf("%d cookies %v, want the login CSRF cookie with Path %s", rec.Code, cookies, tc.want)
			}
			body := rec.Body.String()
			if !strings.Contains(body, `action="`+tc.want+`"`) || !strings.Contains(body, `name="next" value="/podium/__dashboard__/"`) {
				t.Fatalf("form does not post to %s with next: %s", tc.want, body)
			}
		})
	}
}
