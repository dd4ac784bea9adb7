package dashboard

import (
	"context"
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

// viewerContent is a ContentSource with one content item that the user may
// see but not change: BundleList and Permissions refuse as the publishing
// service does (EFORBIDDEN to a viewer).
type viewerContent struct{ ct *podium.Content }

func (s viewerContent) ContentList(context.Context, *podium.User) ([]*podium.Content, error) {
	return []*podium.Content{s.ct}, nil
}
func (s viewerContent) ContentGet(_ context.Context, _ *podium.User, guid string) (*podium.Content, Rights, error) {
	if guid != s.ct.GUID {
		return nil, Rights{}, podium.Errorf(podium.ENOTFOUND, "content %s not found", guid)
	}
	return s.ct, Rights{}, nil
}
func (viewerContent) BundleList(context.Context, *podium.User, string) ([]*podium.Bundle, error) {
	return nil, podium.Errorf(podium.EFORBIDDEN, "you may not do this with content")
}
func (viewerContent) Permissions(context.Context, *podium.User, string) (*AccessList, error) {
	return nil, podium.Errorf(podium.EFORBIDDEN, "you may not do this with content")
}

// A viewer opening content from their list sees its page (it used to be
// 403: the page asked for the bundles, which only editors may list).
func TestContentPageForViewer(t *testing.T) {
	bid := int64(3)
	ct := &podium.Content{ID: 7, GUID: "0b5e0c2a-1111-4222-8333-444455556666", Name: "sales", Title: "Sales",
		AppMode: "static", AccessType: podium.AccessACL, ActiveBundleID: &bid}
	e := echo.New()
	e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			web.SetUser(c, &podium.User{ID: 2, Username: "vera", Role: podium.RoleViewer})
			return next(c)
		}
	})
	route.Mount(e, New(Options{NodeID: "n1", Content: viewerContent{ct}}).Routes())
	rec := get(e, "/__dashboard__/content/"+ct.GUID, "192.0.2.1:1", nil)
	body := rec.Body.String()
	if rec.Code != http.StatusOK || !strings.Contains(body, `id="preview"`) || !strings.Contains(body, "Sales") {
		t.Fatalf("viewer's content page: %d %s", rec.Code, body)
	}
	if strings.Contains(body, `id="bundles"`) || strings.Contains(body, `id="settings"`) {
		t.Fatalf("a viewer is shown what only editors may see: %s", body)
	}
}

// Unknown dashboard paths answer the dashboard's own 404 page, with its
// navigation, not JSON.
func TestUnknownPathPage(t *testing.T) {
	e := setup(t)
	rec := get(e, "/__dashboard__/nope", "192.0.2.1:1", map[string]string{"X-Test-Role": "viewer"})
	if rec.Code != http.StatusNotFound || !strings.Contains(rec.Header().Get("Content-Type"), "text/html") ||
		!strings.Contains(rec.Body.String(), `href="/__dashboard__/"`) {
		t.Fatalf("unknown path: %d %s %s", rec.Code, rec.Header().Get("Content-Type"), rec.Body.String())
	}
}
