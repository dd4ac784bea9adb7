package dashboard

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/auth"
	"github.com/podiumhq/podium/dbprovider"
	"github.com/podiumhq/podium/dbprovider/dbprovidertest"
	"github.com/podiumhq/podium/dbprovider/sqlite"
	"github.com/podiumhq/podium/web"
	"github.com/podiumhq/podium/web/route"
	"github.com/sirupsen/logrus"
)

// The dashboard's handlers tested alone: the database and the accounts
// (users, keys) are the real SQLite provider and auth service users have;
// the sources other packages own (publish, scheduler, apps, metrics,
// hacheck) are the fake below, which records the changes asked of it.

// fakeSources implements every source interface of the dashboard but the
// accounts, over fixed content.
type fakeSources struct {
	mu      sync.Mutex
	content []*podium.Content
	rights  Rights
	acl     *AccessList
	tags    []*podium.Tag
	jobs    []*podium.Job
	sched   *podium.Schedule
	env     []string
	// fail, when set, is returned by every change.
	fail error
	// calls records the changes asked, one line each.
	calls []string
}

var (
	_ ContentSource  = (*fakeSources)(nil)
	_ TagSource      = (*fakeSources)(nil)
	_ JobSource      = (*fakeSources)(nil)
	_ ProcessSource  = (*fakeSources)(nil)
	_ MetricsSource  = (*fakeSources)(nil)
	_ HACheckSource  = (*fakeSources)(nil)
	_ ContentManager = (*fakeSources)(nil)
)

func (f *fakeSources) record(format string, args ...any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, strings.TrimSpace(strings.Join(append([]string{format}, strs(args)...), " ")))
	return f.fail
}

func strs(args []any) []string {
	out := make([]string, len(args))
	for i, a := range args {
		switch v := a.(type) {
		case string:
			out[i] = v
		case int64:
			out[i] = strconv.FormatInt(v, 10)
		case bool:
			out[i] = strconv.FormatBool(v)
		case []ACLEntry:
			var parts []string
			for _, e := range v {
				parts = append(parts, e.Name+"="+e.Role)
			}
			out[i] = "[" + strings.Join(parts, ",") + "]"
		case *string:
			if v == nil {
				out[i] = "<nil>"
			} else {
				out[i] = *v
			}
		default:
			out[i] = "?"
		}
	}
	return out
}

func (f *fakeSources) lastCall(t *testing.T) string {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.calls) == 0 {
		t.Fatal("no change asked")
	}
	return f.calls[len(f.calls)-1]
}

func (f *fakeSources) find(guid string) *podium.Content {
	for _, c := range f.content {
		if c.GUID == guid {
			return c
		}
	}
	return nil
}

func (f *fakeSources) ContentList(context.Context, *podium.User) ([]*podium.Content, error) {
	return f.content, nil
}
func (f *fakeSources) ContentGet(_ context.Context, _ *podium.User, guid string) (*podium.Content, Rights, error) {
	if c := f.find(guid); c != nil {
		return c, f.rights, nil
	}
	return nil, Rights{}, podium.Errorf(podium.ENOTFOUND, "content %s not found", guid)
}
func (f *fakeSources) BundleList(_ context.Context, _ *podium.User, guid string) ([]*podium.Bundle, error) {
	c := f.find(guid)
	return []*podium.Bundle{{ID: 3, ContentID: c.ID, CreatedAt: time.Now()}, {ID: 2, ContentID: c.ID, CreatedAt: time.Now()}}, nil
}
func (f *fakeSources) Permissions(context.Context, *podium.User, string) (*AccessList, error) {
	return f.acl, nil
}
func (f *fakeSources) Tags(context.Context, *podium.User) ([]*podium.Tag, error) { return f.tags, nil }
func (f *fakeSources) TagContent(_ context.Context, _ *podium.User, id int64) ([]*podium.Content, error) {
	if id == f.tags[len(f.tags)-1].ID {
		return f.content[:1], nil
	}
	return nil, nil
}
func (f *fakeSources) ContentTags(context.Context, *podium.User, string) ([]*podium.Tag, error) {
	return f.tags[len(f.tags)-1:], nil
}
func (f *fakeSources) Vanity(context.Context, *podium.User, string) (string, error) {
	return "/sales/", nil
}
func (f *fakeSources) ScheduleGet(context.Context, *podium.User, string) (*podium.Schedule, error) {
	if f.sched == nil {
		return nil, podium.Errorf(podium.ENOTFOUND, "no schedule")
	}
	return f.sched, nil
}
func (f *fakeSources) ContentJobs(_ context.Context, _ *podium.User, guid string, _ int) ([]*podium.Job, error) {
	var out []*podium.Job
	for _, j := range f.jobs {
		if j.ContentGUID == guid {
			out = append(out, j)
		}
	}
	return out, nil
}
func (f *fakeSources) Jobs(_ context.Context, _ *podium.User, status string, _ int) ([]*podium.Job, error) {
	var out []*podium.Job
	for _, j := range f.jobs {
		if status == "" || j.Status == status {
			out = append(out, j)
		}
	}
	return out, nil
}
func (f *fakeSources) Processes(string) ([]Process, string) {
	return []Process{{PID: 4242, BundleID: 3, State: "running", Connections: 2, Served: 9, Started: time.Now()}}, ""
}
func (f *fakeSources) Running(guids []string) int { return len(guids) }
func (f *fakeSources) NodeSeries(context.Context, string, time.Time) ([]Series, error) {
	return []Series{{Name: "cpu", Unit: "%", Points: []Point{{T: time.Now(), V: 12.5}}}}, nil
}
func (f *fakeSources) AppProcesses(context.Context, string) (int, bool) { return 5, true }
func (f *fakeSources) HAChecks(context.Context) ([]HACheck, error) {
	return []HACheck{{Title: "Shared data directory", Status: "pass"}, {Title: "Clock offset", Status: "warn", Nodes: []string{"n2"},
		Detail: "offset 3s", Action: "run ntp"}, {Title: "Database", Status: "fail", Detail: "down", Action: "start it"}}, nil
}
func (f *fakeSources) ContentRename(_ context.Context, _ *podium.User, guid, name, title string) error {
	return f.record("rename", guid, name, title)
}
func (f *fakeSources) ContentDelete(_ context.Context, _ *podium.User, guid string) error {
	return f.record("delete", guid)
}
func (f *fakeSources) AccessSet(_ context.Context, _ *podium.User, guid, accessType string, entries []ACLEntry) error {
	if entries == nil {
		return f.record("access", guid, accessType)
	}
	return f.record("access", guid, accessType, entries)
}
func (f *fakeSources) Activate(_ context.Context, _ *podium.User, guid string, bundleID int64) (string, error) {
	return "0123456789abcdef", f.record("activate", guid, bundleID)
}
func (f *fakeSources) RenderNow(_ context.Context, _ *podium.User, guid string) (string, error) {
	return "fedcba9876543210", f.record("render", guid)
}
func (f *fakeSources) EnvNames(context.Context, *podium.User, string) ([]string, error) {
	return f.env, nil
}
func (f *fakeSources) EnvSet(_ context.Context, _ *podium.User, guid, name string, value *string) error {
	return f.record("env", guid, name, value)
}
func (f *fakeSources) ProcessSettings(context.Context, *podium.User, string) (*ProcessSettings, error) {
	return &ProcessSettings{MaxProcesses: "3", Effective: map[string]string{"MaxProcesses": "3"}}, nil
}
func (f *fakeSources) SetProcessSettings(_ context.Context, _ *podium.User, guid string, s *ProcessSettings) error {
	return f.record("processes", guid, s.MinProcesses, s.MaxProcesses)
}
func (f *fakeSources) SchedulePut(_ context.Context, _ *podium.User, guid, spec, tz string, enabled bool) error {
	return f.record("schedule", guid, spec, tz, enabled)
}
func (f *fakeSources) ScheduleDelete(_ context.Context, _ *podium.User, guid string) error {
	return f.record("unschedule", guid)
}
func (f *fakeSources) NextRuns(string, string, int) ([]time.Time, error) {
	return []time.Time{time.Now().Add(time.Hour)}, nil
}
func (f *fakeSources) GroupsSupported() bool { return true }

// dash is the dashboard under test with its parts.
type dash struct {
	e     *echo.Echo
	db    dbprovider.Provider
	auth  *auth.Service
	src   *fakeSources
	admin *podium.User
	pub   *podium.User
	app   *podium.Content
	rpt   *podium.Content
}

// mustSetup builds the dashboard over a migrated SQLite database with an
// administrator, a publisher, two content items (an app and a report)
// with tasks, renders, visits, a node and audit rows. The X-Test-User
// header logs the request in as that user (by name).
func mustSetup(t *testing.T, change func(*Options)) *dash {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, sqlite.Options{Dir: t.TempDir(), Exclusive: true, Purpose: "test"})
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	dbprovidertest.MustUp(t, db)
	log := logrus.New()
	log.SetOutput(io.Discard)
	a := auth.New(db, logrus.NewEntry(log), auth.Options{Hash: auth.CheapHashParams})
	d := &dash{db: db, auth: a, src: &fakeSources{rights: Rights{Edit: true, Manage: true}}}
	if d.admin, err = a.CreateUser(ctx, auth.CreateUserParams{Username: "root", Role: podium.RoleAdmin, Password: "a long password 1"}); err != nil {
		t.Fatal(err)
	}
	if d.pub, err = a.CreateUser(ctx, auth.CreateUserParams{Username: "pat", Role: podium.RolePublisher, Password: "a long password 2"}); err != nil {
		t.Fatal(err)
	}
	mustContent := func(guid, name, mode string) *podium.Content {
		ct, err := db.ContentCreate(ctx, &dbprovider.ContentCreateParams{GUID: guid, Name: name, Title: strings.ToUpper(name), OwnerID: d.pub.ID})
		if err != nil {
			t.Fatal(err)
		}
		ct.AppMode = mode
		return ct
	}
	d.app = mustContent("11111111-1111-4111-8111-111111111111", "shiny", "app")
	d.rpt = mustContent("22222222-2222-4222-8222-222222222222", "weekly", "report")
	d.src.content = []*podium.Content{d.app, d.rpt}
	d.src.acl = &AccessList{Users: []*podium.ContentACLEntry{{Username: "vera", Role: podium.ACLViewer}},
		Groups: []*podium.ContentGroupACLEntry{{GroupID: 9, Name: "sales", Role: podium.ACLCollaborator}}}
	parent := int64(1)
	d.src.tags = []*podium.Tag{{ID: 1, Name: "Departments"}, {ID: 2, Name: "Sales", ParentID: &parent}}
	d.src.env = []string{"API_TOKEN"}
	now := time.Now().UTC()
	code := 1
	d.src.jobs = []*podium.Job{
		{ID: 1, ContentGUID: d.rpt.GUID, Status: podium.JobQueued, DueAt: now, MaxAttempts: 1},
		{ID: 2, ContentGUID: d.rpt.GUID, Status: podium.JobRunning, DueAt: now.Add(-time.Hour), NodeID: "n1", StartedAt: &now},
		{ID: 3, ContentGUID: d.rpt.GUID, Status: podium.JobFailed, DueAt: now.Add(-2 * time.Hour), FinishedAt: &now, ExitCode: &code, Error: "boom"},
	}
	d.src.sched = &podium.Schedule{ContentGUID: d.rpt.GUID, Spec: "0 6 * * *", Timezone: "UTC", Enabled: true}
	if _, err := db.TaskCreate(ctx, &dbprovider.TaskCreateParams{ID: "aaaaaaaa11111111", Kind: "deploy", ContentID: d.app.ID, NodeID: "n1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.NodeUpsert(ctx, &dbprovider.NodeUpsertParams{ID: "n1", Hostname: "host-one", PID: 1, Version: "test", Status: "ok",
		Info: map[string]any{"go": "1.x"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.NodeUpsert(ctx, &dbprovider.NodeUpsertParams{ID: "n2", Hostname: "host-two", PID: 2, Version: "test", Status: "ok"}); err != nil {
		t.Fatal(err)
	}
	if err := db.UsageVisitInsert(ctx, []*podium.Visit{{At: now, ContentID: d.app.ID, ContentGUID: d.app.GUID, NodeID: "n1"},
		{At: now.Add(-24 * time.Hour), ContentID: d.app.ID, ContentGUID: d.app.GUID, NodeID: "n1"}}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []*dbprovider.AuditInsertParams{
		{NodeID: "n1", UserID: d.admin.ID, Action: podium.AuditContentUpdate, Target: "content:" + d.app.GUID, Detail: `{"status":200}`},
		{NodeID: "n1", UserID: d.admin.ID, Action: podium.AuditUserCreate, Target: "user:pat", Detail: `{"status":201}`},
		{NodeID: "n1", UserID: d.admin.ID, Action: podium.AuditKeyCreate, Target: "key:1", Detail: `{"status":303}`},
	} {
		if err := db.AuditInsert(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	opts := Options{Log: logrus.NewEntry(log), NodeID: "n1", Audit: db, Nodes: db, History: db, Usage: db, NodeTimeout: time.Minute,
		Content: d.src, Tags: d.src, Jobs: d.src, Processes: d.src, Metrics: d.src, HAChecks: d.src, Manage: d.src,
		Keys: a, Users: a, AdminWarnings: []string{"no content origin"},
		ContentOrigin: func(guid string) string { return "https://" + guid + ".content.example" }}
	if change != nil {
		change(&opts)
	}
	d.e = echo.New()
	d.e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if name := c.Request().Header.Get("X-Test-User"); name != "" {
				u, err := db.UserGetByName(c.Request().Context(), name)
				if err != nil {
					return err
				}
				web.SetUser(c, u)
			}
			return next(c)
		}
	})
	route.Mount(d.e, New(opts).Routes())
	return d
}

// do sends a request as user (by name, "" for anonymous) with form values
// (a POST when form is not nil).
func (d *dash) do(user, path string, form url.Values) *httptest.ResponseRecorder {
	method, body := http.MethodGet, io.Reader(nil)
	if form != nil {
		method, body = http.MethodPost, strings.NewReader(form.Encode())
	}
	req := httptest.NewRequest(method, path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if user != "" {
		req.Header.Set("X-Test-User", user)
	}
	rec := httptest.NewRecorder()
	d.e.ServeHTTP(rec, req)
	return rec
}

// mustPage asserts a status and that the body holds every want.
func mustPage(t *testing.T, rec *httptest.ResponseRecorder, status int, want ...string) {
	t.Helper()
	body := rec.Body.String()
	if rec.Code != status {
		t.Fatalf("status %d, want %d: %s", rec.Code, status, body)
	}
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Fatalf("the page lacks %q:\n%s", w, body)
		}
	}
}

// mustRedirect asserts a 303 to a location that starts with want.
func mustRedirect(t *testing.T, rec *httptest.ResponseRecorder, want string) {
	t.Helper()
	if rec.Code != http.StatusSeeOther || !strings.HasPrefix(rec.Header().Get("Location"), want) {
		t.Fatalf("got %d Location %q, want 303 to %s…: %s", rec.Code, rec.Header().Get("Location"), want, rec.Body.String())
	}
}

func TestContentPages(t *testing.T) {
	t.Parallel()
	d := mustSetup(t, nil)
	t.Run("ListOK", func(t *testing.T) {
		mustPage(t, d.do("root", Path+"/?done=deleted", nil), http.StatusOK, "SHINY", "WEEKLY", "Departments / Sales", "Content deleted.",
			"no content origin")
	})
	t.Run("ListFiltered", func(t *testing.T) {
		rec := d.do("pat", Path+"/?q=shiny&mode=app&tag=2", nil)
		mustPage(t, rec, http.StatusOK, "SHINY")
		if strings.Contains(rec.Body.String(), "no content origin") {
			t.Fatal("a publisher is shown the administrators' warnings")
		}
	})
	t.Run("ListUnknownTag", func(t *testing.T) {
		mustPage(t, d.do("pat", Path+"/?tag=99", nil), http.StatusOK)
	})
	t.Run("AppOK", func(t *testing.T) {
		mustPage(t, d.do("pat", Path+"/content/"+d.app.GUID+"?done=env&task=aaaaaaaa11111111", nil), http.StatusOK,
			"SHINY", "API_TOKEN", "4242", "vera", "/sales/", "Departments / Sales", "aaaaaaaa11111111")
	})
	t.Run("ReportOK", func(t *testing.T) {
		mustPage(t, d.do("pat", Path+"/content/"+d.rpt.GUID, nil), http.StatusOK, "WEEKLY", "0 6 * * *")
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		mustPage(t, d.do("pat", Path+"/content/33333333-3333-4333-8333-333333333333", nil), http.StatusNotFound, "not found")
	})
	t.Run("Jobs", func(t *testing.T) {
		mustPage(t, d.do("root", Path+"/jobs", nil), http.StatusOK, ">weekly</a>", "boom")
		mustPage(t, d.do("pat", Path+"/jobs", nil), http.StatusOK, ">weekly</a>")
	})
	t.Run("Audit", func(t *testing.T) {
		mustPage(t, d.do("root", Path+"/audit?limit=1", nil), http.StatusOK, "Older entries", "API key #1")
		mustPage(t, d.do("root", Path+"/audit?actor=root&action=user.create", nil), http.StatusOK, "user pat")
		mustPage(t, d.do("root", Path+"/audit?actor=nobody", nil), http.StatusOK)
		mustPage(t, d.do("root", Path+"/audit?from=yesterday", nil), http.StatusBadRequest, "RFC 3339")
	})
}

func TestClusterPages(t *testing.T) {
	t.Parallel()
	d := mustSetup(t, nil)
	t.Run("ClusterOK", func(t *testing.T) {
		mustPage(t, d.do("root", Path+"/cluster", nil), http.StatusOK, "host-one", "host-two", "Clock offset", "run ntp")
	})
	t.Run("NodeOK", func(t *testing.T) {
		mustPage(t, d.do("root", Path+"/nodes/n1", nil), http.StatusOK, "host-one", "cpu")
	})
	t.Run("NodeErrNotFound", func(t *testing.T) {
		mustPage(t, d.do("root", Path+"/nodes/n9", nil), http.StatusNotFound)
	})
	t.Run("ErrForbidden", func(t *testing.T) {
		mustPage(t, d.do("pat", Path+"/cluster", nil), http.StatusForbidden, "only administrators")
	})
}

func TestContentForms(t *testing.T) {
	t.Parallel()
	d := mustSetup(t, nil)
	base := Path + "/content/" + d.app.GUID
	for _, tc := range []struct {
		name, path string
		form       url.Values
		call       string
		to         string
	}{
		{"AccessType", "/access", url.Values{"access_type": {"all"}}, "access " + d.app.GUID + " all", "?done=access"},
		{"ACLAdd", "/access/add", url.Values{"principal": {"pat"}, "role": {"viewer"}},
			"access " + d.app.GUID + "  [vera=viewer,sales=collaborator,pat=viewer]", "?done=acl-add"},
		{"ACLAddChangesRole", "/access/add", url.Values{"principal": {"vera"}, "role": {"collaborator"}},
			"access " + d.app.GUID + "  [vera=collaborator,sales=collaborator]", "?done=acl-add"},
		{"ACLRemoveGroup", "/access/remove", url.Values{"principal": {"sales"}, "principal_type": {"group"}, "group_id": {"9"}},
			"access " + d.app.GUID + "  [vera=viewer]", "?done=acl-remove"},
		{"Processes", "/processes", url.Values{"min_processes": {" 1 "}, "max_processes": {"4"}}, "processes " + d.app.GUID + " 1 4", "?done=processes"},
		{"Schedule", "/schedule", url.Values{"spec": {"0 7 * * *"}, "timezone": {"UTC"}, "enabled": {"on"}},
			"schedule " + d.app.GUID + " 0 7 * * * UTC true", "?done=schedule"},
		{"Unschedule", "/schedule/delete", url.Values{}, "unschedule " + d.app.GUID, "?done=unschedule"},
		{"EnvSet", "/environment", url.Values{"name": {"KEY"}, "value": {"v"}}, "env " + d.app.GUID + " KEY v", "?done=env"},
		{"EnvDelete", "/environment/delete", url.Values{"name": {"KEY"}}, "env " + d.app.GUID + " KEY <nil>", "?done=env-remove"},
		{"Activate", "/bundles/2/activate", url.Values{}, "activate " + d.app.GUID + " 2", "?done=activate&task=0123456789abcdef"},
		{"Render", "/render", url.Values{}, "render " + d.app.GUID, "?done=render&task=fedcba9876543210"},
		{"Rename", "/rename", url.Values{"name": {"shinier"}, "title": {"Shinier"}}, "rename " + d.app.GUID + " shinier Shinier", "?done=rename"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mustRedirect(t, d.do("pat", base+tc.path, tc.form), base+tc.to)
			if got := d.src.lastCall(t); got != tc.call {
				t.Fatalf("asked %q, want %q", got, tc.call)
			}
		})
	}
	t.Run("Delete", func(t *testing.T) {
		mustRedirect(t, d.do("pat", base+"/delete", url.Values{"confirm": {"shiny"}}), Path+"/?done=deleted")
	})
	for _, tc := range []struct {
		name, path string
		form       url.Values
		want       string
	}{
		{"AccessTypeEmpty", "/access", url.Values{}, "choose who may see"},
		{"ACLAddNoName", "/access/add", url.Values{"role": {"viewer"}}, "give the name"},
		{"ACLAddBadRole", "/access/add", url.Values{"principal": {"x"}, "role": {"owner"}}, "choose viewer or collaborator"},
		{"ACLRemoveUnknown", "/access/remove", url.Values{"principal": {"nobody"}}, "is not on the access list"},
		{"ActivateBadID", "/bundles/x/activate", url.Values{}, "not a bundle id"},
		{"DeleteUnconfirmed", "/delete", url.Values{"confirm": {"nope"}}, "to confirm the deletion"},
	} {
		t.Run("ErrInvalid"+tc.name, func(t *testing.T) {
			mustPage(t, d.do("pat", base+tc.path, tc.form), http.StatusBadRequest, tc.want)
		})
	}
	t.Run("ErrRefusedByService", func(t *testing.T) {
		d := mustSetup(t, nil)
		d.src.fail = podium.Errorf(podium.EFORBIDDEN, "you may not rename this")
		mustPage(t, d.do("pat", Path+"/content/"+d.app.GUID+"/rename", url.Values{"name": {"x"}}), http.StatusForbidden,
			"you may not rename this", `value="x"`)
	})
	t.Run("ErrInternalByService", func(t *testing.T) {
		d := mustSetup(t, nil)
		d.src.fail = podium.Errorf(podium.EINTERNAL, "disk on fire")
		rec := d.do("pat", Path+"/content/"+d.app.GUID+"/render", url.Values{})
		mustPage(t, rec, http.StatusInternalServerError, "internal error")
		if strings.Contains(rec.Body.String(), "disk on fire") {
			t.Fatal("internal detail reached the page")
		}
	})
	t.Run("ErrUnavailableWithoutManager", func(t *testing.T) {
		d := mustSetup(t, func(o *Options) { o.Manage = nil })
		mustPage(t, d.do("pat", Path+"/content/"+d.app.GUID+"/render", url.Values{}), http.StatusServiceUnavailable, "not available")
	})
}

func TestKeysPages(t *testing.T) {
	t.Parallel()
	d := mustSetup(t, nil)
	rec := d.do("pat", Path+"/keys", url.Values{"name": {"laptop"}})
	mustRedirect(t, rec, Path+"/keys")
	// The key is shown once, on the page the browser is sent to.
	var cookie *http.Cookie
	for _, c := range rec.Result().Cookies() {
		if c.Name == newKeyCookie {
			cookie = c
		}
	}
	if cookie == nil || cookie.Value == "" {
		t.Fatalf("no new key cookie: %v", rec.Result().Cookies())
	}
	req := httptest.NewRequest(http.MethodGet, Path+"/keys", nil)
	req.Header.Set("X-Test-User", "pat")
	req.AddCookie(cookie)
	page := httptest.NewRecorder()
	d.e.ServeHTTP(page, req)
	mustPage(t, page, http.StatusOK, "laptop")
	keys, err := d.auth.ListAPIKeys(context.Background(), d.pub.ID)
	if err != nil || len(keys) != 1 || !strings.Contains(page.Body.String(), keys[0].Prefix) {
		t.Fatalf("keys %+v, %v", keys, err)
	}
	t.Run("ErrInvalidName", func(t *testing.T) {
		mustPage(t, d.do("pat", Path+"/keys", url.Values{"name": {""}}), http.StatusBadRequest)
	})
	t.Run("Revoke", func(t *testing.T) {
		mustRedirect(t, d.do("pat", Path+"/keys/"+strconv.FormatInt(keys[0].ID, 10)+"/revoke", url.Values{}), Path+"/keys")
		if left, _ := d.auth.ListAPIKeys(context.Background(), d.pub.ID); len(left) != 0 {
			t.Fatalf("keys left after the revocation: %+v", left)
		}
	})
	t.Run("RevokeErrNotFound", func(t *testing.T) {
		mustPage(t, d.do("pat", Path+"/keys/x/revoke", url.Values{}), http.StatusNotFound)
	})
}

func TestUsersPages(t *testing.T) {
	t.Parallel()
	d := mustSetup(t, nil)
	uid := "/" + strconv.FormatInt(d.pub.ID, 10)
	mustPage(t, d.do("root", Path+"/users?done=created", nil), http.StatusOK, "root", "pat", "User created.")
	mustPage(t, d.do("pat", Path+"/users", nil), http.StatusForbidden, "only administrators")
	t.Run("Create", func(t *testing.T) {
		mustRedirect(t, d.do("root", Path+"/users", url.Values{"username": {"carol"}, "role": {"viewer"}, "password": {"a long password 3"}}),
			Path+"/users?done=created")
		if _, err := d.db.UserGetByName(context.Background(), "carol"); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("CreateErrConflict", func(t *testing.T) {
		mustPage(t, d.do("root", Path+"/users", url.Values{"username": {"pat"}, "role": {"viewer"}, "password": {"a long password 3"}}),
			http.StatusConflict)
	})
	t.Run("SetRole", func(t *testing.T) {
		mustRedirect(t, d.do("root", Path+"/users"+uid+"/role", url.Values{"role": {"viewer"}}), Path+"/users?done=role")
		if u, _ := d.db.UserGetByID(context.Background(), d.pub.ID); u.Role != podium.RoleViewer {
			t.Fatalf("role %s", u.Role)
		}
	})
	t.Run("SetOwnRoleErr", func(t *testing.T) {
		self := "/" + strconv.FormatInt(d.admin.ID, 10)
		mustPage(t, d.do("root", Path+"/users"+self+"/role", url.Values{"role": {"viewer"}}), http.StatusPreconditionFailed, "your own account")
	})
	t.Run("LockUnlock", func(t *testing.T) {
		mustRedirect(t, d.do("root", Path+"/users"+uid+"/lock", url.Values{}), Path+"/users?done=locked")
		mustRedirect(t, d.do("root", Path+"/users"+uid+"/unlock", url.Values{}), Path+"/users?done=unlocked")
	})
	t.Run("ResetPassword", func(t *testing.T) {
		mustRedirect(t, d.do("root", Path+"/users"+uid+"/password", url.Values{"password": {"another long one 4"}}), Path+"/users?done=password")
		mustPage(t, d.do("root", Path+"/users"+uid+"/password", url.Values{}), http.StatusBadRequest, "type the new password")
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		mustPage(t, d.do("root", Path+"/users/x/lock", url.Values{}), http.StatusNotFound)
	})
	t.Run("Delete", func(t *testing.T) {
		mustPage(t, d.do("root", Path+"/users"+uid+"/delete", url.Values{}), http.StatusPreconditionFailed, "owns 2 content items")
		carol, err := d.db.UserGetByName(context.Background(), "carol")
		if err != nil {
			t.Fatal(err)
		}
		mustRedirect(t, d.do("root", Path+"/users/"+strconv.FormatInt(carol.ID, 10)+"/delete", url.Values{}), Path+"/users?done=deleted")
	})
	t.Run("Account", func(t *testing.T) {
		mustPage(t, d.do("root", Path+"/account?done=session", nil), http.StatusOK, "Session ended.")
		mustPage(t, d.do("root", Path+"/account/password", url.Values{"new_password": {"a"}, "confirm_password": {"b"}}),
			http.StatusBadRequest, "the two new passwords differ")
		mustPage(t, d.do("root", Path+"/account/password", url.Values{"current_password": {"wrong"}, "new_password": {"a new long password 5"},
			"confirm_password": {"a new long password 5"}}), http.StatusForbidden, "the current password is wrong")
		mustRedirect(t, d.do("root", Path+"/account/password", url.Values{"current_password": {"a long password 1"},
			"new_password": {"a new long password 5"}, "confirm_password": {"a new long password 5"}}), web.LoginPath)
		mustPage(t, d.do("root", Path+"/account/sessions/nope/end", url.Values{}), http.StatusNotFound)
	})
	t.Run("ExternalProvider", func(t *testing.T) {
		d := mustSetup(t, func(o *Options) { o.AuthProvider = "oidc" })
		mustPage(t, d.do("root", Path+"/users", url.Values{"username": {"dan"}}), http.StatusPreconditionFailed, "first sign-in")
		mustPage(t, d.do("root", Path+"/account/password", url.Values{}), http.StatusPreconditionFailed, "change it there")
	})
}

// TestWithoutSources: a node without a source shows the pages that do
// not need it and says what is not available.
func TestWithoutSources(t *testing.T) {
	t.Parallel()
	d := mustSetup(t, func(o *Options) { *o = Options{NodeID: "n1"} })
	mustPage(t, d.do("root", Path+"/audit", nil), http.StatusOK)
	mustPage(t, d.do("root", Path+"/keys", nil), http.StatusServiceUnavailable)
	mustPage(t, d.do("root", Path+"/keys", url.Values{"name": {"x"}}), http.StatusServiceUnavailable)
	mustPage(t, d.do("root", Path+"/account", nil), http.StatusServiceUnavailable)
	mustPage(t, d.do("root", Path+"/users", nil), http.StatusServiceUnavailable)
	mustPage(t, d.do("root", Path+"/nodes/n1", nil), http.StatusServiceUnavailable)
	mustPage(t, d.do("root", Path+"/content/"+d.app.GUID, nil), http.StatusServiceUnavailable)
}

// brokenStores is the audit log, node registry, content history and usage
// counts of a database that answers every read with err.
type brokenStores struct{ err error }

func (b brokenStores) AuditList(context.Context, *dbprovider.AuditListParams) ([]*podium.AuditEntry, error) {
	return nil, b.err
}
func (b brokenStores) UserGetByName(context.Context, string) (*podium.User, error) { return nil, b.err }
func (b brokenStores) NodeList(context.Context) ([]*podium.Node, error)            { return nil, b.err }
func (b brokenStores) NodeGet(context.Context, string) (*podium.Node, error)       { return nil, b.err }
func (b brokenStores) Now(context.Context) (time.Time, error)                      { return time.Time{}, b.err }
func (b brokenStores) TaskList(context.Context, int64, int) ([]*podium.Task, error) {
	return nil, b.err
}
func (b brokenStores) RenderListRecent(context.Context, int64, int) ([]*podium.Render, error) {
	return nil, b.err
}
func (b brokenStores) UsageDaily(context.Context, int64, time.Time) ([]*podium.UsageCount, error) {
	return nil, b.err
}
func (b brokenStores) UsageTop(context.Context, time.Time, int) ([]*podium.UsageCount, error) {
	return nil, b.err
}

// TestStoresSeparate: each page reads through its own store (Audit,
// Nodes, History, Usage), not the database as a whole: with one store
// failing, the pages that read it say so and the others are unchanged.
func TestStoresSeparate(t *testing.T) {
	t.Parallel()
	broken := brokenStores{err: podium.Errorf(podium.EUNAVAILABLE, "the store is away")}
	t.Run("Audit", func(t *testing.T) {
		d := mustSetup(t, func(o *Options) { o.Audit = broken })
		mustPage(t, d.do("root", Path+"/audit", nil), http.StatusServiceUnavailable, "the store is away")
		mustPage(t, d.do("root", Path+"/cluster", nil), http.StatusOK, "host-one")
		mustPage(t, d.do("root", Path+"/content/"+d.app.GUID, nil), http.StatusOK)
	})
	t.Run("Nodes", func(t *testing.T) {
		d := mustSetup(t, func(o *Options) { o.Nodes = broken })
		mustPage(t, d.do("root", Path+"/cluster", nil), http.StatusServiceUnavailable, "the store is away")
		mustPage(t, d.do("root", Path+"/nodes/n1", nil), http.StatusServiceUnavailable, "the store is away")
		mustPage(t, d.do("root", Path+"/audit", nil), http.StatusOK, "API key #1")
	})
	t.Run("History", func(t *testing.T) {
		d := mustSetup(t, func(o *Options) { o.History = broken })
		mustPage(t, d.do("root", Path+"/content/"+d.app.GUID, nil), http.StatusServiceUnavailable, "the store is away")
		// The list reads only the state of content never deployed, and
		// shows the rest without it.
		mustPage(t, d.do("root", Path+"/", nil), http.StatusOK, d.app.Title)
	})
	t.Run("Usage", func(t *testing.T) {
		d := mustSetup(t, func(o *Options) { o.Usage = broken })
		mustPage(t, d.do("root", Path+"/", nil), http.StatusOK, "Usage cannot be read: the store is away")
		mustPage(t, d.do("root", Path+"/content/"+d.app.GUID, nil), http.StatusOK, "Usage cannot be read: the store is away")
	})
	t.Run("UsersNames", func(t *testing.T) {
		// Owners' names come from the accounts service; without it, "#id".
		d := mustSetup(t, func(o *Options) { o.Users = nil })
		mustPage(t, d.do("root", Path+"/", nil), http.StatusOK, "#"+strconv.FormatInt(d.pub.ID, 10))
	})
}
