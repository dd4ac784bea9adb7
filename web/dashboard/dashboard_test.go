package dashboard

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/web"
	"github.com/podiumhq/podium/web/route"
)

// setup returns an echo server with the dashboard mounted and no sources,
// where the X-Test-Role header logs the request in as a user of that role.
func setup(t *testing.T) *echo.Echo {
	t.Helper()
	_, loop, _ := net.ParseCIDR("127.0.0.0/8")
	e := echo.New()
	e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if role := c.Request().Header.Get("X-Test-Role"); role != "" {
				web.SetUser(c, &podium.User{ID: 1, Username: "u", Role: role})
			}
			return next(c)
		}
	})
	route.Mount(e, New(Options{NodeID: "n1", TrustedProxies: []*net.IPNet{loop}}).Routes())
	return e
}

func get(e *echo.Echo, path, remote string, hdr map[string]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req.RemoteAddr = remote
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	return rec
}

func TestLoginRedirect(t *testing.T) {
	e := setup(t)
	for _, tc := range []struct {
		name, remote, prefix, want string
	}{
		{"Direct", "192.0.2.1:1234", "", "/__login__?next=%2F__dashboard__%2Fjobs%3Fx%3D1"},
		{"TrustedProxyPrefix", "127.0.0.1:1234", "/podium/", "/podium/__login__?next=%2Fpodium%2F__dashboard__%2Fjobs%3Fx%3D1"},
		{"UntrustedPrefixIgnored", "192.0.2.1:1234", "/podium", "/__login__?next=%2F__dashboard__%2Fjobs%3Fx%3D1"},
		{"BadPrefixIgnored", "127.0.0.1:1234", "//evil.example", "/__login__?next=%2F__dashboard__%2Fjobs%3Fx%3D1"},
		{"DotDotPrefixIgnored", "127.0.0.1:1234", "/a/../b", "/__login__?next=%2F__dashboard__%2Fjobs%3Fx%3D1"},
		{"QuotePrefixIgnored", "127.0.0.1:1234", `/a"b`, "/__login__?next=%2F__dashboard__%2Fjobs%3Fx%3D1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := get(e, "/__dashboard__/jobs?x=1", tc.remote, map[string]string{web.PrefixHeader: tc.prefix})
			if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != tc.want {
				t.Fatalf("got %d Location %q, want 303 %q", rec.Code, rec.Header().Get("Location"), tc.want)
			}
		})
	}
}

func TestPages(t *testing.T) {
	e := setup(t)
	t.Run("OKWithoutSources", func(t *testing.T) {
		for _, p := range []string{"/__dashboard__/", "/__dashboard__/jobs"} {
			rec := get(e, p, "127.0.0.1:1", map[string]string{"X-Test-Role": "viewer", web.PrefixHeader: "/sub"})
			body := rec.Body.String()
			if rec.Code != 200 || !strings.Contains(body, `href="/sub/__dashboard__/assets/dashboard.css"`) {
				t.Fatalf("%s: %d %s", p, rec.Code, body)
			}
			if strings.Contains(body, "/sub/__dashboard__/cluster") {
				t.Fatalf("%s: a viewer is offered the cluster page", p)
			}
		}
	})
	t.Run("ErrForbiddenForNonAdmin", func(t *testing.T) {
		for _, p := range []string{"/__dashboard__/cluster", "/__dashboard__/nodes/n1"} {
			rec := get(e, p, "192.0.2.1:1", map[string]string{"X-Test-Role": "publisher"})
			if rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), "only administrators") {
				t.Fatalf("%s: %d %s", p, rec.Code, rec.Body.String())
			}
		}
	})
	t.Run("ErrUnavailableWithoutDatabase", func(t *testing.T) {
		rec := get(e, "/__dashboard__/cluster", "192.0.2.1:1", map[string]string{"X-Test-Role": "admin"})
		if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "<h1>") {
			t.Fatalf("%d %s", rec.Code, rec.Body.String())
		}
	})
	t.Run("Assets", func(t *testing.T) {
		for _, p := range []string{"/__dashboard__/assets/chart.js", "/__dashboard__/assets/dashboard.css"} {
			if rec := get(e, p, "192.0.2.1:1", nil); rec.Code != 200 || rec.Body.Len() < 100 {
				t.Fatalf("%s: %d", p, rec.Code)
			}
		}
	})
}
