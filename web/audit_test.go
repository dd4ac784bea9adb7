package web

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider"
	"github.com/podiumhq/podium/web/route"
	"github.com/sirupsen/logrus"
)

// auditRows is a fake audit.Writer: it keeps the rows written.
type auditRows struct {
	mu   sync.Mutex
	rows []*dbprovider.AuditInsertParams
}

func (a *auditRows) AuditInsert(_ context.Context, p *dbprovider.AuditInsertParams) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.rows = append(a.rows, p)
	return nil
}

// last returns the last row written, failing the test without one.
func (a *auditRows) last(t *testing.T) *dbprovider.AuditInsertParams {
	t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.rows) == 0 {
		t.Fatal("no audit row written")
	}
	return a.rows[len(a.rows)-1]
}

func quietLog() *logrus.Entry {
	l := logrus.New()
	l.SetOutput(io.Discard)
	return logrus.NewEntry(l)
}

// TestAuditDeclaredOnRoute: the audit row takes its action, target and
// detail from the route's declaration; a target the handler names wins;
// AuditFailed replaces the action when the handler does not redirect.
func TestAuditDeclaredOnRoute(t *testing.T) {
	t.Parallel()
	rows := &auditRows{}
	s := New(Options{Log: quietLog(), Audit: rows, NodeID: "n1"})
	s.Mount([]route.Route{
		{Method: http.MethodDelete, Path: "/c/:guid", Audit: podium.AuditContentDelete, AuditTarget: "content:{guid}",
			Handler: func(c echo.Context) error { return c.NoContent(http.StatusNoContent) }},
		{Method: http.MethodPost, Path: "/keys", Audit: podium.AuditKeyCreate,
			Handler: func(c echo.Context) error {
				SetAuditTarget(c, "key:7")
				SetAuditDetail(c, "name", "ci")
				return c.NoContent(http.StatusCreated)
			}},
		{Method: http.MethodPut, Path: "/cred/:host", Audit: podium.AuditGitCredSet, AuditDetail: []string{"host"},
			Handler: func(c echo.Context) error { return podium.Errorf(podium.EINVALID, "no") }},
		{Method: http.MethodPost, Path: "/in", Audit: podium.AuditLogin, AuditFailed: podium.AuditLoginFailed,
			Handler: func(c echo.Context) error {
				SetAuditTarget(c, "user:"+c.FormValue("username"))
				if c.FormValue("password") != "right" {
					return c.String(http.StatusUnauthorized, "no")
				}
				SetAuditActor(c, 42)
				return c.Redirect(http.StatusSeeOther, "/")
			}},
	})
	do := func(method, path, form string) {
		t.Helper()
		req := httptest.NewRequest(method, path, strings.NewReader(form))
		if form != "" {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		s.Echo.ServeHTTP(httptest.NewRecorder(), req)
	}
	detail := func(t *testing.T, p *dbprovider.AuditInsertParams) map[string]any {
		t.Helper()
		d := map[string]any{}
		if err := json.Unmarshal([]byte(p.Detail), &d); err != nil {
			t.Fatalf("detail %q: %v", p.Detail, err)
		}
		return d
	}

	t.Run("TargetFromParameters", func(t *testing.T) {
		do(http.MethodDelete, "/c/abc", "")
		p := rows.last(t)
		if p.Action != podium.AuditContentDelete || p.Target != "content:abc" || p.NodeID != "n1" || detail(t, p)["status"] != 204.0 {
			t.Fatalf("row %+v", p)
		}
	})
	t.Run("TargetFromHandler", func(t *testing.T) {
		do(http.MethodPost, "/keys", "")
		p := rows.last(t)
		if d := detail(t, p); p.Target != "key:7" || d["name"] != "ci" || d["status"] != 201.0 {
			t.Fatalf("row %+v", p)
		}
	})
	t.Run("DetailFromParameters", func(t *testing.T) {
		do(http.MethodPut, "/cred/git.example.com", "")
		p := rows.last(t)
		if d := detail(t, p); p.Target != "" || d["host"] != "git.example.com" || d["status"] != 400.0 {
			t.Fatalf("row %+v", p)
		}
	})
	t.Run("LoginFailed", func(t *testing.T) {
		do(http.MethodPost, "/in", "username=carol&password=wrong")
		p := rows.last(t)
		if p.Action != podium.AuditLoginFailed || p.Target != "user:carol" || p.UserID != 0 || strings.Contains(p.Detail, "wrong") {
			t.Fatalf("row %+v", p)
		}
	})
	t.Run("Login", func(t *testing.T) {
		do(http.MethodPost, "/in", "username=carol&password=right")
		p := rows.last(t)
		if p.Action != podium.AuditLogin || p.Target != "user:carol" || p.UserID != 42 {
			t.Fatalf("row %+v", p)
		}
	})
}

// TestAuditedRoutesDeclareTargets: every audited route with a path
// parameter that names what it acts on declares its target, so that no
// audit row depends on a handler remembering to name it.
func TestAuditedRoutesDeclareTargets(t *testing.T) {
	t.Parallel()
	s := New(Options{Log: quietLog()})
	var routes []route.Route
	for _, table := range [][]route.Route{
		s.AccountRoutes(nil, nil), ContentRoutes(nil), TagRoutes(nil), VanityRoutes(nil), GitRoutes(nil),
		ApplicationsRoutes(nil), ScheduleRoutes(nil), JobRoutes(nil),
	} {
		routes = append(routes, table...)
	}
	param := regexp.MustCompile(`:(guid|id|uid)\b`)
	n := 0
	for _, r := range routes {
		if r.Audit == "" {
			continue
		}
		n++
		if param.MatchString(r.Path) && r.AuditTarget == "" {
			t.Errorf("%s %s (%s) declares no AuditTarget", r.Method, r.Path, r.Audit)
		}
		if r.AuditTarget != "" && strings.Contains(route.Expand(r.AuditTarget, func(string) string { return "" }), "{") {
			t.Errorf("%s %s: AuditTarget %q does not expand", r.Method, r.Path, r.AuditTarget)
		}
	}
	if n < 30 {
		t.Fatalf("only %d audited routes found", n)
	}
}
