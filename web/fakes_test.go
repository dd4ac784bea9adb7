package web

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/apps"
	"github.com/podiumhq/podium/auth"
	"github.com/podiumhq/podium/dbprovider"
	"github.com/podiumhq/podium/internal/fastpath"
	"github.com/podiumhq/podium/publish"
	"github.com/podiumhq/podium/web/route"
)

// The areas whose interfaces are declared by the domain (audit.Reader,
// usage.ReadStore, apps.ServeService, usage.VisitRecorder, and
// auth.Authenticator for the authentication middleware) tested alone against fakes of those interfaces: what the handler hands
// the domain and what it makes of the answer.

// auditLog is a fake audit.Reader: one user, "pat" (id 42), and the
// entries it is given; it keeps the filters it was asked.
type auditLog struct {
	mu      sync.Mutex
	asked   []dbprovider.AuditListParams
	entries []*podium.AuditEntry
	err     error
}

func (l *auditLog) AuditList(_ context.Context, p *dbprovider.AuditListParams) ([]*podium.AuditEntry, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.asked = append(l.asked, *p)
	return l.entries, l.err
}

func (l *auditLog) UserGetByName(_ context.Context, name string) (*podium.User, error) {
	if name == "pat" {
		return &podium.User{ID: 42, Username: name}, nil
	}
	return nil, podium.Errorf(podium.ENOTFOUND, "user %q not found", name)
}

// TestAuditAPIAgainstFake: the query's filters reach the reader (the
// actor as its user id, the times parsed, the limit), a full page says
// where the next begins, an unknown actor asks nothing, and a failing
// reader answers 500 without its detail.
func TestAuditAPIAgainstFake(t *testing.T) {
	t.Parallel()
	log := &auditLog{entries: []*podium.AuditEntry{{ID: 9}, {ID: 7}}}
	a := mustAPI(t, Options{}, func(*api) []route.Route { return AuditRoutes(log) })
	var b AuditLogBody
	a.do(a.adminKey, "GET", "/__api__/v1/audit_log?actor=pat&action=deploy&target=content:x&from=2026-03-01T00:00:00Z&limit=2&before=10", nil).
		must(t, http.StatusOK, &b)
	from := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	if len(log.asked) != 1 {
		t.Fatalf("asked %d times, want 1", len(log.asked))
	}
	if p := log.asked[0]; p.UserID != 42 || p.Action != "deploy" || p.Target != "content:x" || !p.From.Equal(from) || !p.To.IsZero() ||
		p.Limit != 2 || p.BeforeID != 10 {
		t.Fatalf("filters reaching the reader: %+v", p)
	}
	if len(b.Entries) != 2 || b.NextBefore != 7 {
		t.Fatalf("a full page: %+v", b)
	}
	b = AuditLogBody{}
	a.do(a.adminKey, "GET", "/__api__/v1/audit_log?limit=3", nil).must(t, http.StatusOK, &b)
	if b.NextBefore != 0 {
		t.Fatalf("a short page says a next one begins at %d", b.NextBefore)
	}
	b = AuditLogBody{}
	a.do(a.adminKey, "GET", "/__api__/v1/audit_log?actor=nobody", nil).must(t, http.StatusOK, &b)
	if b.Entries == nil || len(b.Entries) != 0 || len(log.asked) != 2 {
		t.Fatalf("an unknown actor: %+v, reader asked %d times", b, len(log.asked))
	}
	log.err = errors.New("sqlite: database disk image is malformed")
	r := a.do(a.adminKey, "GET", "/__api__/v1/audit_log", nil)
	r.mustCode(t, http.StatusInternalServerError, podium.EINTERNAL)
	if strings.Contains(string(r.body), "sqlite") {
		t.Fatalf("the reader's error reached the client: %s", r.body)
	}
}

// usageLog is a fake usage.ReadStore: content "g1" (id 77) and visits
// with ids 1 to 5, paged as the database pages them; it keeps the
// parameters it was asked.
type usageLog struct {
	mu    sync.Mutex
	asked []dbprovider.UsageListParams
	err   error
}

func (l *usageLog) UsageVisitList(_ context.Context, p *dbprovider.UsageListParams) ([]*podium.Visit, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.asked = append(l.asked, *p)
	var out []*podium.Visit
	for i := int64(1); i <= 5; i++ {
		id := i
		if p.Desc {
			id = 6 - i
		}
		if (p.AfterID != 0 && id <= p.AfterID) || (p.BeforeID != 0 && id >= p.BeforeID) || len(out) == p.Limit {
			continue
		}
		out = append(out, &podium.Visit{ID: id, ContentGUID: "g1", At: time.Date(2026, 3, int(id), 12, 0, 0, 0, time.UTC), Path: "/p"})
	}
	return out, l.err
}

func (l *usageLog) UsageSessionList(context.Context, *dbprovider.UsageListParams) ([]*podium.AppSession, error) {
	return nil, l.err
}

func (l *usageLog) ContentGetByGUID(_ context.Context, guid string) (*podium.Content, error) {
	if guid == "g1" {
		return &podium.Content{ID: 77, GUID: guid}, nil
	}
	return nil, podium.Errorf(podium.ENOTFOUND, "content %q not found", guid)
}

// TestUsageAPIAgainstFake: the content_guid filter reaches the store as
// the content's id and the times as parsed; a page asks one row more than
// it shows to know whether another follows, and its next cursor pages on
// after its last row; content that does not exist and a data version
// beyond Podium's answer an empty page without asking for rows; a failing
// store answers 500.
func TestUsageAPIAgainstFake(t *testing.T) {
	t.Parallel()
	store := &usageLog{}
	a := mustAPI(t, Options{}, func(*api) []route.Route { return UsageRoutes(store) })
	var page UsagePage[VisitBody]
	a.do(a.adminKey, "GET", visitsPath+"?content_guid=g1&from=2026-03-01&limit=2", nil).must(t, http.StatusOK, &page)
	if len(store.asked) != 1 {
		t.Fatalf("asked %d times for the first page, want 1", len(store.asked))
	}
	if p := store.asked[0]; p.ContentID != 77 || !p.From.Equal(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)) || p.Limit != 3 || p.Desc || p.AfterID != 0 {
		t.Fatalf("the first page's parameters: %+v", p)
	}
	if len(page.Results) != 2 || page.Results[1].Time != "2026-03-02T12:00:00Z" || page.Paging.Cursors.Next == nil || page.Paging.Cursors.Previous != nil {
		t.Fatalf("the first page: %+v", page)
	}
	next := *page.Paging.Cursors.Next
	page = UsagePage[VisitBody]{}
	a.do(a.adminKey, "GET", visitsPath+"?content_guid=g1&limit=2&next="+next, nil).must(t, http.StatusOK, &page)
	if p := store.asked[1]; p.AfterID != 2 || p.Limit != 3 {
		t.Fatalf("the second page's parameters: %+v", p)
	}
	if len(page.Results) != 2 || page.Results[0].Time != "2026-03-03T12:00:00Z" || page.Paging.Cursors.Previous == nil {
		t.Fatalf("the second page: %+v", page)
	}
	asked := len(store.asked)
	for _, q := range []string{"content_guid=nope", "min_data_version=2"} {
		page = UsagePage[VisitBody]{}
		a.do(a.adminKey, "GET", visitsPath+"?"+q, nil).must(t, http.StatusOK, &page)
		if page.Results == nil || len(page.Results) != 0 || len(store.asked) != asked {
			t.Fatalf("%s: %+v, store asked %d times more", q, page, len(store.asked)-asked)
		}
	}
	store.err = errors.New("postgres: connection refused")
	r := a.do(a.adminKey, "GET", shinyPath, nil)
	r.mustCode(t, http.StatusInternalServerError, podium.EINTERNAL)
	if strings.Contains(string(r.body), "postgres") {
		t.Fatalf("the store's error reached the client: %s", r.body)
	}
}

// serveTargets is a fake publish.ServeService: content "app1" (id 5,
// bundle 3) is an app anyone signed in may use; nothing else exists.
type serveTargets struct{ publish.ServeService }

func (serveTargets) ServeTarget(_ context.Context, u *podium.User, guid string) (*publish.Target, error) {
	if u == nil {
		return nil, podium.Errorf(podium.EUNAUTHORIZED, "log in to see this content")
	}
	if guid != "app1" {
		return nil, podium.Errorf(podium.ENOTFOUND, "content not found")
	}
	bundle := int64(3)
	return &publish.Target{App: true, Content: &podium.Content{ID: 5, GUID: guid, ActiveBundleID: &bundle}}, nil
}

// appProxy is a fake apps.ServeService: it answers for the app and keeps
// the guids it was asked for.
type appProxy struct {
	mu    sync.Mutex
	asked []string
	// full: ServeFast and ServeRaw decline, as an app whose processes
	// have no room.
	full bool
	// rawHeaders are the extra headers of the last ServeRaw.
	rawHeaders []apps.RawHeader
}

func (p *appProxy) ServeFast(w http.ResponseWriter, r *http.Request, guid string, accepted func()) bool {
	if p.full {
		return false
	}
	p.mu.Lock()
	p.asked = append(p.asked, "fast "+guid)
	p.mu.Unlock()
	accepted()
	w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, "the app answers "+r.Method+" "+strings.TrimPrefix(r.URL.Path, "/content/"+guid+"/"))
	return true
}

// ServeRaw takes the request, as ServeFast does, and keeps the headers it
// was to write; it writes nothing (what ServeRaw writes is tested on a real
// node: integration's TestLaneSameAnswers).
func (p *appProxy) ServeRaw(r *fastpath.RawRequest, guid string, extra []apps.RawHeader, accepted func()) (int, bool) {
	if p.full {
		return 0, false
	}
	p.mu.Lock()
	p.asked = append(p.asked, "raw "+guid)
	p.rawHeaders = extra
	p.mu.Unlock()
	accepted()
	return http.StatusOK, true
}

func (p *appProxy) ServeApp(c echo.Context, guid string) error {
	p.mu.Lock()
	p.asked = append(p.asked, guid)
	p.mu.Unlock()
	return c.String(http.StatusOK, "the app answers "+c.Request().Method+" "+c.Param("*"))
}

// TestContentServeAppAgainstFakes: a request to app content goes to the
// apps service with the content's guid, whatever its method, without
// Podium's nosniff; the user's page loads and API calls count as visits
// (with the user, the content and bundle, the path), a page's
// sub-requests and WebSockets do not; a node without apps answers 503;
// content that does not exist never reaches the apps service.
func TestContentServeAppAgainstFakes(t *testing.T) {
	t.Parallel()
	proxy, visits := &appProxy{}, &visitLog{}
	a := mustAPI(t, Options{}, func(a *api) []route.Route {
		return a.s.ContentServeRoutes(serveTargets{}, proxy, a.auth, visits)
	})
	for _, tc := range []struct {
		method, path string
		hdr          map[string]string
		visit        string // the visit's path, "" for none
	}{
		{"GET", "/content/app1/", nil, "/"},
		{"POST", "/content/app1/api/run", nil, "/api/run"},
		{"GET", "/content/app1/page", map[string]string{"Sec-Fetch-Dest": "document"}, "/page"},
		{"GET", "/content/app1/app.js", map[string]string{"Sec-Fetch-Dest": "script"}, ""},
		{"GET", "/content/app1/ws", map[string]string{"Upgrade": "websocket"}, ""},
	} {
		hdr := map[string]string{"Authorization": "Key " + a.viewerKey}
		for k, v := range tc.hdr {
			hdr[k] = v
		}
		before := len(visits.visits)
		r := a.browse(tc.method, tc.path, "", nil, hdr)
		want := "the app answers " + tc.method + " " + strings.TrimPrefix(tc.path, "/content/app1/")
		if r.Code != http.StatusOK || r.Body.String() != want || r.Header().Get("X-Content-Type-Options") != "" {
			t.Fatalf("%s %s: %d %q nosniff %q", tc.method, tc.path, r.Code, r.Body, r.Header().Get("X-Content-Type-Options"))
		}
		got := visits.visits[before:]
		switch {
		case tc.visit == "" && len(got) != 0:
			t.Fatalf("%s %s %v counted as a visit: %+v", tc.method, tc.path, tc.hdr, got[0])
		case tc.visit != "" && len(got) != 1:
			t.Fatalf("%s %s: %d visits, want 1", tc.method, tc.path, len(got))
		case tc.visit != "":
			if v := got[0]; v.ContentID != 5 || v.ContentGUID != "app1" || v.BundleID == nil || *v.BundleID != 3 || v.Path != tc.visit ||
				v.UserID == nil || *v.UserID != a.viewer.ID {
				t.Fatalf("%s %s: the visit %+v", tc.method, tc.path, v)
			}
		}
	}
	if len(proxy.asked) != 5 || proxy.asked[0] != "app1" {
		t.Fatalf("the apps service was asked for %v", proxy.asked)
	}
	a.do(a.viewerKey, "GET", "/content/nope/", nil).mustCode(t, http.StatusNotFound, podium.ENOTFOUND)
	a.do("", "GET", "/content/app1/", nil).mustCode(t, http.StatusUnauthorized, podium.EUNAUTHORIZED)
	if len(proxy.asked) != 5 {
		t.Fatalf("content that does not exist, or an anonymous reader, reached the apps service: %v", proxy.asked)
	}

	noApps := mustAPI(t, Options{}, func(a *api) []route.Route {
		return a.s.ContentServeRoutes(serveTargets{}, nil, a.auth, nil)
	})
	noApps.do(noApps.viewerKey, "GET", "/content/app1/", nil).mustCode(t, http.StatusServiceUnavailable, podium.EUNAVAILABLE)
}

// credentials is a fake auth.Authenticator: key "k1" and session token
// "s1" (CSRF token "t1") are user pat's; "broken" fails inside; anything
// else is unauthorized.
type credentials struct{}

func (credentials) AuthenticateKey(_ context.Context, key string) (*podium.User, *dbprovider.APIKey, error) {
	switch key {
	case "k1":
		return &podium.User{ID: 42, Username: "pat"}, &dbprovider.APIKey{ID: 1}, nil
	case "broken":
		return nil, nil, errors.New("postgres: connection refused")
	}
	return nil, nil, podium.Errorf(podium.EUNAUTHORIZED, "invalid API key")
}

func (credentials) AuthenticateSession(_ context.Context, token string) (*auth.Session, error) {
	switch token {
	case "s1":
		return &auth.Session{User: &podium.User{ID: 42, Username: "pat"}, CSRFToken: "t1"}, nil
	case "broken":
		return nil, errors.New("postgres: connection refused")
	}
	return nil, podium.Errorf(podium.EUNAUTHORIZED, "session expired or invalid: log in again")
}

// TestAuthenticateAgainstFake: Authenticate against a fake
// auth.Authenticator: a key or a session makes the request the user's; a
// session's unsafe request needs its CSRF token; an unknown key is 401
// with WWW-Authenticate; an unknown session clears the cookie and goes on
// anonymous; a failing authenticator answers 500, never anonymous.
func TestAuthenticateAgainstFake(t *testing.T) {
	t.Parallel()
	s := New(Options{Log: quietLog()})
	s.Use(Authenticate(credentials{}))
	who := func(c echo.Context) error {
		if u := CurrentUser(c); u != nil {
			return c.String(http.StatusOK, u.Username+" by "+AuthMethod(c))
		}
		return c.String(http.StatusOK, "anonymous")
	}
	s.Mount([]route.Route{{Method: http.MethodGet, Path: "/__api__/v1/who", Handler: who}, {Method: http.MethodPost, Path: "/__api__/v1/who", Handler: who}})
	for _, tc := range []struct {
		name, method, key, session, csrf string
		status                           int
		body                             string
	}{
		{"KeyOK", "POST", "k1", "", "", http.StatusOK, "pat by " + AuthKey},
		{"SessionOK", "GET", "", "s1", "", http.StatusOK, "pat by " + AuthSession},
		{"SessionPOSTWithToken", "POST", "", "s1", "t1", http.StatusOK, "pat by " + AuthSession},
		{"SessionPOSTErrForbidden", "POST", "", "s1", "wrong", http.StatusForbidden, ""},
		{"KeyErrUnauthorized", "GET", "nope", "", "", http.StatusUnauthorized, ""},
		{"SessionUnknownAnonymous", "GET", "", "gone", "", http.StatusOK, "anonymous"},
		{"KeyErrInternal", "GET", "broken", "", "", http.StatusInternalServerError, ""},
		{"SessionErrInternal", "GET", "", "broken", "", http.StatusInternalServerError, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, "/__api__/v1/who", nil)
			if tc.key != "" {
				req.Header.Set("Authorization", "Key "+tc.key)
			}
			if tc.session != "" {
				req.AddCookie(&http.Cookie{Name: SessionCookie, Value: tc.session})
			}
			if tc.csrf != "" {
				req.Header.Set(CSRFHeader, tc.csrf)
			}
			rec := httptest.NewRecorder()
			s.Echo.ServeHTTP(rec, req)
			if rec.Code != tc.status || (tc.body != "" && rec.Body.String() != tc.body) {
				t.Fatalf("got %d %q, want %d %q", rec.Code, rec.Body, tc.status, tc.body)
			}
			if strings.Contains(rec.Body.String(), "postgres") {
				t.Fatalf("the authenticator's error reached the client: %s", rec.Body)
			}
			if tc.status == http.StatusUnauthorized && rec.Header().Get("WWW-Authenticate") != "Key" {
				t.Fatalf("401 without WWW-Authenticate: Key: %v", rec.Header())
			}
			cleared := strings.Contains(rec.Header().Get("Set-Cookie"), SessionCookie+"=;")
			if cleared != (tc.name == "SessionUnknownAnonymous") {
				t.Fatalf("session cookie cleared %v: %q", cleared, rec.Header().Get("Set-Cookie"))
			}
		})
	}
}
