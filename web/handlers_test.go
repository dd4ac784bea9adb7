package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/auth"
	"github.com/podiumhq/podium/bundle"
	"github.com/podiumhq/podium/dbprovider"
	"github.com/podiumhq/podium/dbprovider/dbprovidertest"
	"github.com/podiumhq/podium/dbprovider/sqlite"
	"github.com/podiumhq/podium/internal/testutil"
	"github.com/podiumhq/podium/publish"
	"github.com/podiumhq/podium/scheduler"
	"github.com/podiumhq/podium/web/route"
)

// The areas' handlers tested alone, through the echo server of package
// web with its middleware (authentication, audit, errors) and no node:
// the database, the accounts service and the publishing service are the
// real ones over a SQLite file, as users have them; what other packages
// run (the scheduler, usage) is a fake of the interface the area
// declares.

// api is the server under test with its parts and users.
type api struct {
	t     *testing.T
	s     *Server
	db    dbprovider.Provider
	auth  *auth.Service
	pub   *publish.Service
	audit *auditRows
	// Keys of an administrator, a publisher and a viewer.
	adminKey, pubKey, viewerKey string
	admin, publisher, viewer    *podium.User
}

// mustAPI builds a server with the account routes and the areas tables
// gives (built from the API's parts), over a migrated SQLite database.
func mustAPI(t *testing.T, opts Options, tables ...func(a *api) []route.Route) *api {
	t.Helper()
	a := mustBare(t, opts, tables...)
	a.mustUsers()
	return a
}

// mustBare is mustAPI without users (a node before its first-run setup).
func mustBare(t *testing.T, opts Options, tables ...func(a *api) []route.Route) *api {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, sqlite.Options{Dir: t.TempDir(), Exclusive: true, Purpose: "test"})
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	dbprovidertest.MustUp(t, db)
	log := quietLog()
	a := &api{t: t, db: db, auth: auth.New(db, log, auth.Options{Hash: auth.CheapHashParams}), audit: &auditRows{}}
	a.pub = publish.New(publish.Options{DB: db, DataDir: t.TempDir(), NodeID: "n1", Log: log, EnvKey: bytes.Repeat([]byte{7}, 32)})
	if opts.Log == nil {
		opts.Log = log
	}
	opts.Audit, opts.NodeID = a.audit, "n1"
	a.s = New(opts)
	a.s.Use(Authenticate(a.auth))
	a.s.Mount(a.s.AccountRoutes(a.auth, nil))
	for _, table := range tables {
		a.s.Mount(table(a))
	}
	return a
}

// mustUsers creates the administrator, the publisher and the viewer with
// their keys (each password is "a long password of " and the name).
func (a *api) mustUsers() {
	t, ctx := a.t, context.Background()
	mk := func(name, role string) (*podium.User, string) {
		u, err := a.auth.CreateUser(ctx, auth.CreateUserParams{Username: name, Role: role, Password: "a long password of " + name})
		if err != nil {
			t.Fatal(err)
		}
		key, _, err := a.auth.CreateAPIKey(ctx, u.ID, "test")
		if err != nil {
			t.Fatal(err)
		}
		return u, key
	}
	a.admin, a.adminKey = mk("root", podium.RoleAdmin)
	a.publisher, a.pubKey = mk("pat", podium.RolePublisher)
	a.viewer, a.viewerKey = mk("vera", podium.RoleViewer)
}

// reply is an answer of the server.
type reply struct {
	status int
	body   []byte
	header http.Header
}

// do sends body (JSON unless a string or nil) with key ("" for none).
func (a *api) do(key, method, path string, body any) reply {
	a.t.Helper()
	var r io.Reader
	ctype := ""
	switch b := body.(type) {
	case nil:
	case string:
		r, ctype = strings.NewReader(b), "application/x-www-form-urlencoded"
	default:
		buf, err := json.Marshal(b)
		if err != nil {
			a.t.Fatal(err)
		}
		r, ctype = bytes.NewReader(buf), "application/json"
	}
	req := httptest.NewRequest(method, path, r)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if key != "" {
		req.Header.Set("Authorization", "Key "+key)
	}
	rec := httptest.NewRecorder()
	a.s.Echo.ServeHTTP(rec, req)
	return reply{status: rec.Code, body: rec.Body.Bytes(), header: rec.Header()}
}

// must asserts the status (and, for an error, its code) and decodes the
// body into out when not nil.
func (r reply) must(t *testing.T, status int, out any) reply {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	if status >= 400 && !strings.Contains(r.header.Get("Content-Type"), "json") {
		return r
	}
	if status >= 400 {
		var eb ErrorBody
		if err := json.Unmarshal(r.body, &eb); err != nil || eb.Code == "" || eb.Error == "" {
			t.Fatalf("error body %s: %v", r.body, err)
		}
	}
	if out != nil {
		if err := json.Unmarshal(r.body, out); err != nil {
			t.Fatalf("decode %s: %v", r.body, err)
		}
	}
	return r
}

// mustCode asserts an error answer with status and podium code.
func (r reply) mustCode(t *testing.T, status int, code string) {
	t.Helper()
	var eb ErrorBody
	if r.status != status || json.Unmarshal(r.body, &eb) != nil || eb.Code != code {
		t.Fatalf("got %d %s, want %d code %s", r.status, r.body, status, code)
	}
}

func contentTables(a *api) []route.Route {
	return append(append(append(ContentRoutes(a.pub), TagRoutes(a.pub)...), VanityRoutes(a.pub)...), GitRoutes(a.pub)...)
}

func TestContentAPI(t *testing.T) {
	t.Parallel()
	a := mustAPI(t, Options{}, contentTables)
	const v1 = "/__api__/v1"
	var ct ContentBody
	a.do(a.pubKey, "POST", v1+"/content", ContentCreateBody{Name: "sales-report", Title: "Sales"}).must(t, http.StatusCreated, &ct)
	if ct.Content == nil || ct.GUID == "" || ct.Name != "sales-report" || ct.OwnerGUID == "" {
		t.Fatalf("created %+v", ct)
	}
	if p := a.audit.last(t); p.Action != podium.AuditContentCreate || p.Target != "content:"+ct.GUID || p.UserID != a.publisher.ID {
		t.Fatalf("audit row %+v", p)
	}
	path := v1 + "/content/" + ct.GUID
	t.Run("CreateErrInvalid", func(t *testing.T) {
		a.do(a.pubKey, "POST", v1+"/content", ContentCreateBody{Name: "bad name!"}).mustCode(t, http.StatusBadRequest, podium.EINVALID)
		a.do(a.pubKey, "POST", v1+"/content", "name=x").mustCode(t, http.StatusUnsupportedMediaType, podium.EUNSUPPORTED)
	})
	t.Run("CreateErrForbiddenForViewer", func(t *testing.T) {
		a.do(a.viewerKey, "POST", v1+"/content", ContentCreateBody{Name: "mine"}).mustCode(t, http.StatusForbidden, podium.EFORBIDDEN)
	})
	t.Run("ErrUnauthorized", func(t *testing.T) {
		a.do("", "GET", v1+"/content", nil).mustCode(t, http.StatusUnauthorized, podium.EUNAUTHORIZED)
		a.do("not-a-key", "GET", v1+"/content", nil).mustCode(t, http.StatusUnauthorized, podium.EUNAUTHORIZED)
	})
	t.Run("List", func(t *testing.T) {
		var list []ContentBody
		a.do(a.pubKey, "GET", v1+"/content", nil).must(t, http.StatusOK, &list)
		if len(list) != 1 || list[0].GUID != ct.GUID {
			t.Fatalf("list %+v", list)
		}
		a.do(a.viewerKey, "GET", v1+"/content", nil).must(t, http.StatusOK, &list)
		if len(list) != 0 {
			t.Fatalf("a viewer sees %+v", list)
		}
		a.do(a.adminKey, "GET", v1+"/content?name=sales-report&owner_guid="+ct.OwnerGUID, nil).must(t, http.StatusOK, &list)
		if len(list) != 1 {
			t.Fatalf("filtered list %+v", list)
		}
	})
	t.Run("Get", func(t *testing.T) {
		var got ContentBody
		a.do(a.pubKey, "GET", path, nil).must(t, http.StatusOK, &got)
		if got.Title != "Sales" {
			t.Fatalf("got %+v", got)
		}
		a.do(a.viewerKey, "GET", path, nil).mustCode(t, http.StatusNotFound, podium.ENOTFOUND)
		a.do(a.pubKey, "GET", v1+"/content/not-a-guid", nil).mustCode(t, http.StatusNotFound, podium.ENOTFOUND)
	})
	t.Run("Update", func(t *testing.T) {
		title, desc := "Sales 2026", "the numbers"
		var got ContentBody
		a.do(a.pubKey, "PATCH", path, map[string]any{"title": title, "description": desc}).must(t, http.StatusOK, &got)
		if got.Title != title || got.Description != desc {
			t.Fatalf("updated %+v", got)
		}
		bad := "nobody-knows"
		a.do(a.pubKey, "PATCH", path, map[string]any{"access_type": bad}).mustCode(t, http.StatusBadRequest, podium.EINVALID)
		a.do(a.pubKey, "PATCH", path, `{"title": 7}`).mustCode(t, http.StatusUnsupportedMediaType, podium.EUNSUPPORTED)
	})
	t.Run("Permissions", func(t *testing.T) {
		var got json.RawMessage
		a.do(a.pubKey, "GET", path+"/permissions", nil).must(t, http.StatusOK, &got)
		body := map[string]any{"access_type": "acl", "permissions": []map[string]string{{"principal_type": "user", "username": "vera", "role": "viewer"}}}
		a.do(a.pubKey, "PUT", path+"/permissions", body).must(t, http.StatusOK, &got)
		if !strings.Contains(string(got), "vera") {
			t.Fatalf("permissions %s", got)
		}
		a.do(a.viewerKey, "GET", path, nil).must(t, http.StatusOK, nil)
		a.do(a.viewerKey, "PUT", path+"/permissions", body).mustCode(t, http.StatusForbidden, podium.EFORBIDDEN)
		bad := map[string]any{"permissions": []map[string]string{{"principal_type": "user", "username": "nobody", "role": "viewer"}}}
		if r := a.do(a.pubKey, "PUT", path+"/permissions", bad); r.status < 400 || r.status >= 500 {
			t.Fatalf("an unknown user on the access list: %d %s", r.status, r.body)
		}
	})
	t.Run("Environment", func(t *testing.T) {
		a.do(a.pubKey, "PATCH", path+"/environment", []map[string]any{{"name": "API_TOKEN", "value": "s3cret"}}).must(t, http.StatusOK, nil)
		r := a.do(a.pubKey, "GET", path+"/environment", nil).must(t, http.StatusOK, nil)
		if !strings.Contains(string(r.body), "API_TOKEN") || strings.Contains(string(r.body), "s3cret") {
			t.Fatalf("environment %s", r.body)
		}
		if p := a.audit.last(t); p.Action != podium.AuditEnvSet || strings.Contains(p.Detail, "s3cret") || !strings.Contains(p.Detail, "API_TOKEN") {
			t.Fatalf("audit row %+v", p)
		}
		a.do(a.pubKey, "PATCH", path+"/environment", []map[string]any{{"name": "API_TOKEN", "value": nil}}).must(t, http.StatusOK, nil)
		a.do(a.pubKey, "PATCH", path+"/environment", []map[string]any{{"name": "1 bad", "value": "x"}}).mustCode(t, http.StatusBadRequest, podium.EINVALID)
	})
	t.Run("BundlesAndTasks", func(t *testing.T) {
		var bundles []BundleBody
		a.do(a.pubKey, "GET", path+"/bundles", nil).must(t, http.StatusOK, &bundles)
		if len(bundles) != 0 {
			t.Fatalf("bundles %+v", bundles)
		}
		a.do(a.pubKey, "GET", path+"/bundles/1/download", nil).mustCode(t, http.StatusNotFound, podium.ENOTFOUND)
		a.do(a.pubKey, "POST", path+"/deploy", map[string]any{"bundle_id": "7"}).mustCode(t, http.StatusNotFound, podium.ENOTFOUND)
		a.do(a.pubKey, "GET", v1+"/tasks/nope", nil).mustCode(t, http.StatusNotFound, podium.ENOTFOUND)
		a.do(a.pubKey, "GET", path+"/lockfile", nil).mustCode(t, http.StatusNotFound, podium.ENOTFOUND)
	})
	t.Run("Tags", func(t *testing.T) {
		var parent, child TagBody
		a.do(a.adminKey, "POST", v1+"/tags", map[string]any{"name": "Departments"}).must(t, http.StatusOK, &parent)
		a.do(a.adminKey, "POST", v1+"/tags", map[string]any{"name": "Sales", "parent_id": parent.ID}).must(t, http.StatusOK, &child)
		if child.ParentID == nil || *child.ParentID != parent.ID {
			t.Fatalf("child %+v", child)
		}
		a.do(a.pubKey, "POST", v1+"/tags", map[string]any{"name": "Mine"}).mustCode(t, http.StatusForbidden, podium.EFORBIDDEN)
		a.do(a.adminKey, "POST", v1+"/tags", map[string]any{"name": "Sales", "parent_id": parent.ID}).mustCode(t, http.StatusConflict, podium.ECONFLICT)
		var list []TagBody
		a.do(a.viewerKey, "GET", v1+"/tags", nil).must(t, http.StatusOK, &list)
		if len(list) != 2 {
			t.Fatalf("tags %+v", list)
		}
		a.do(a.viewerKey, "GET", v1+"/tags?name=Sales&parent_id="+parent.ID, nil).must(t, http.StatusOK, &list)
		a.do(a.viewerKey, "GET", v1+"/tags/"+child.ID, nil).must(t, http.StatusOK, nil)
		a.do(a.viewerKey, "GET", v1+"/tags/999", nil).mustCode(t, http.StatusNotFound, podium.ENOTFOUND)
		a.do(a.viewerKey, "GET", v1+"/tags/x", nil).mustCode(t, http.StatusNotFound, podium.ENOTFOUND)
		name := "Sales & Marketing"
		a.do(a.adminKey, "PATCH", v1+"/tags/"+child.ID, map[string]any{"name": name}).must(t, http.StatusOK, &child)
		if child.Name != name {
			t.Fatalf("renamed %+v", child)
		}
		if p := a.audit.last(t); p.Target != "tag:"+child.ID {
			t.Fatalf("audit row %+v", p)
		}
		a.do(a.pubKey, "POST", path+"/tags", map[string]any{"tag_id": child.ID}).must(t, http.StatusOK, nil)
		a.do(a.pubKey, "POST", path+"/tags", map[string]any{"tag_id": "999"}).mustCode(t, http.StatusBadRequest, podium.EINVALID)
		a.do(a.pubKey, "POST", path+"/tags", map[string]any{"tag_id": true}).mustCode(t, http.StatusBadRequest, podium.EINVALID)
		a.do(a.pubKey, "GET", path+"/tags", nil).must(t, http.StatusOK, &list)
		if len(list) != 1 || list[0].ID != child.ID {
			t.Fatalf("content tags %+v", list)
		}
		var tagged []ContentBody
		a.do(a.pubKey, "GET", v1+"/tags/"+child.ID+"/content", nil).must(t, http.StatusOK, &tagged)
		if len(tagged) != 1 {
			t.Fatalf("tagged %+v", tagged)
		}
		a.do(a.pubKey, "DELETE", path+"/tags/"+child.ID, nil).must(t, http.StatusNoContent, nil)
		a.do(a.adminKey, "DELETE", v1+"/tags/"+parent.ID, nil).must(t, http.StatusNoContent, nil)
		if p := a.audit.last(t); p.Action != podium.AuditTagDelete || p.Target != "tag:"+parent.ID {
			t.Fatalf("audit row of the delete %+v", p)
		}
		a.do(a.adminKey, "DELETE", v1+"/tags/"+parent.ID, nil).mustCode(t, http.StatusNotFound, podium.ENOTFOUND)
	})
	t.Run("Vanity", func(t *testing.T) {
		a.do(a.pubKey, "GET", path+"/vanity", nil).mustCode(t, http.StatusNotFound, podium.ENOTFOUND)
		a.do(a.adminKey, "PUT", path+"/vanity", map[string]any{"path": "/sales/"}).must(t, http.StatusOK, nil)
		a.do(a.pubKey, "PUT", path+"/vanity", map[string]any{"path": "/mine/"}).mustCode(t, http.StatusForbidden, podium.EFORBIDDEN)
		a.do(a.adminKey, "PUT", path+"/vanity", map[string]any{"path": "/__api__/"}).mustCode(t, http.StatusConflict, podium.ECONFLICT)
		var v VanityBody
		a.do(a.pubKey, "GET", path+"/vanity", nil).must(t, http.StatusOK, &v)
		if v.Path != "/sales/" || v.ContentGUID != ct.GUID {
			t.Fatalf("vanity %+v", v)
		}
		var list []VanityBody
		a.do(a.adminKey, "GET", v1+"/vanities", nil).must(t, http.StatusOK, &list)
		if len(list) != 1 {
			t.Fatalf("vanities %+v", list)
		}
		a.do(a.adminKey, "DELETE", path+"/vanity", nil).must(t, http.StatusNoContent, nil)
	})
	t.Run("Repository", func(t *testing.T) {
		a.do(a.pubKey, "GET", path+"/repository", nil).mustCode(t, http.StatusNotFound, podium.ENOTFOUND)
		a.do(a.pubKey, "PUT", path+"/repository", map[string]any{"repository": "file:///tmp/x", "branch": "main"}).mustCode(t, http.StatusBadRequest, podium.EINVALID)
		a.do(a.pubKey, "PATCH", path+"/repository", map[string]any{"branch": "dev"}).mustCode(t, http.StatusNotFound, podium.ENOTFOUND)
		a.do(a.pubKey, "DELETE", path+"/repository", nil).mustCode(t, http.StatusNotFound, podium.ENOTFOUND)
		a.do(a.pubKey, "GET", v1+"/git/credentials", nil).mustCode(t, http.StatusForbidden, podium.EFORBIDDEN)
		a.do(a.adminKey, "GET", v1+"/git/credentials", nil).must(t, http.StatusOK, nil)
		a.do(a.adminKey, "PUT", v1+"/git/credentials/git.example.com", map[string]any{"username": "u", "secret": "s"}).must(t, http.StatusOK, nil)
		if p := a.audit.last(t); p.Action != podium.AuditGitCredSet || !strings.Contains(p.Detail, `"host":"git.example.com"`) || strings.Contains(p.Detail, `"s"`) {
			t.Fatalf("audit row %+v", p)
		}
		a.do(a.adminKey, "DELETE", v1+"/git/credentials/git.example.com", nil).must(t, http.StatusNoContent, nil)
	})
	t.Run("Delete", func(t *testing.T) {
		a.do(a.viewerKey, "DELETE", path, nil).mustCode(t, http.StatusForbidden, podium.EFORBIDDEN)
		a.do(a.pubKey, "DELETE", path, nil).must(t, http.StatusNoContent, nil)
		a.do(a.pubKey, "GET", path, nil).mustCode(t, http.StatusNotFound, podium.ENOTFOUND)
	})
}

func TestAccountAPI(t *testing.T) {
	t.Parallel()
	a := mustAPI(t, Options{})
	const v1 = "/__api__/v1"
	t.Run("WhoAmI", func(t *testing.T) {
		for _, p := range []string{v1 + "/user", "/__api__/me", "/__api__/users/current"} {
			var u UserBody
			a.do(a.pubKey, "GET", p, nil).must(t, http.StatusOK, &u)
			if u.User == nil || u.Username != "pat" || u.GUID == "" {
				t.Fatalf("%s: %+v", p, u)
			}
		}
		a.do("", "GET", v1+"/user", nil).mustCode(t, http.StatusUnauthorized, podium.EUNAUTHORIZED)
	})
	t.Run("Keys", func(t *testing.T) {
		var created struct {
			ID  json.Number `json:"id"`
			Key string      `json:"key"`
		}
		a.do(a.pubKey, "POST", v1+"/keys", map[string]string{"name": "laptop"}).must(t, http.StatusCreated, &created)
		if created.Key == "" {
			t.Fatalf("created %+v", created)
		}
		if p := a.audit.last(t); p.Target != "key:"+created.ID.String() {
			t.Fatalf("audit row %+v", p)
		}
		a.do(created.Key, "GET", v1+"/user", nil).must(t, http.StatusOK, nil)
		r := a.do(a.pubKey, "GET", v1+"/keys", nil).must(t, http.StatusOK, nil)
		if !strings.Contains(string(r.body), "laptop") || strings.Contains(string(r.body), created.Key) {
			t.Fatalf("keys %s", r.body)
		}
		a.do(a.pubKey, "POST", v1+"/keys", map[string]string{"name": ""}).mustCode(t, http.StatusBadRequest, podium.EINVALID)
		a.do(a.viewerKey, "DELETE", v1+"/keys/"+created.ID.String(), nil).mustCode(t, http.StatusNotFound, podium.ENOTFOUND)
		a.do(a.pubKey, "DELETE", v1+"/keys/"+created.ID.String(), nil).must(t, http.StatusNoContent, nil)
		a.do(a.pubKey, "DELETE", v1+"/keys/x", nil).mustCode(t, http.StatusNotFound, podium.ENOTFOUND)
		a.do(created.Key, "GET", v1+"/user", nil).mustCode(t, http.StatusUnauthorized, podium.EUNAUTHORIZED)
	})
	var carol UserBody
	t.Run("Users", func(t *testing.T) {
		a.do(a.pubKey, "GET", v1+"/users", nil).mustCode(t, http.StatusForbidden, podium.EFORBIDDEN)
		a.do(a.adminKey, "POST", v1+"/users", map[string]string{"username": "carol", "role": "viewer", "password": "a long password of carol"}).
			must(t, http.StatusCreated, &carol)
		if p := a.audit.last(t); p.Target != "user:carol" || p.Action != podium.AuditUserCreate {
			t.Fatalf("audit row %+v", p)
		}
		a.do(a.adminKey, "POST", v1+"/users", map[string]string{"username": "carol", "role": "viewer"}).mustCode(t, http.StatusConflict, podium.ECONFLICT)
		a.do(a.adminKey, "POST", v1+"/users", map[string]string{"username": "dan", "role": "king"}).mustCode(t, http.StatusBadRequest, podium.EINVALID)
		r := a.do(a.adminKey, "GET", v1+"/users", nil).must(t, http.StatusOK, nil)
		if !strings.Contains(string(r.body), "carol") {
			t.Fatalf("users %s", r.body)
		}
		u := v1 + "/users/" + carol.GUID
		var got UserBody
		a.do(a.adminKey, "GET", u, nil).must(t, http.StatusOK, &got)
		a.do(a.adminKey, "GET", v1+"/users/nope", nil).mustCode(t, http.StatusNotFound, podium.ENOTFOUND)
		role := podium.RolePublisher
		a.do(a.adminKey, "PATCH", u, UpdateUserRequest{Role: &role}).must(t, http.StatusOK, &got)
		if got.Role != podium.RolePublisher {
			t.Fatalf("role %+v", got)
		}
		if p := a.audit.last(t); p.Target != "user:carol" || !strings.Contains(p.Detail, `"old_role":"viewer"`) {
			t.Fatalf("audit row %+v", p)
		}
		a.do(a.pubKey, "PATCH", u, UpdateUserRequest{Role: &role}).mustCode(t, http.StatusForbidden, podium.EFORBIDDEN)
		a.do(a.adminKey, "POST", u+"/lock", LockRequest{Locked: true}).must(t, http.StatusOK, nil)
		a.do(a.adminKey, "POST", u+"/lock", LockRequest{Locked: false}).must(t, http.StatusOK, nil)
		a.do(a.adminKey, "POST", u+"/password", PasswordRequest{Password: "another long password"}).must(t, http.StatusNoContent, nil)
		a.do(a.adminKey, "POST", u+"/password", PasswordRequest{Password: "x"}).mustCode(t, http.StatusBadRequest, podium.EINVALID)
		a.do(a.adminKey, "GET", u+"/groups", nil).must(t, http.StatusOK, nil)
		a.do(a.adminKey, "DELETE", u+"/sessions", nil).must(t, http.StatusOK, nil)
		a.do(a.adminKey, "DELETE", v1+"/users/"+UserGUID(a.admin.ID), nil).mustCode(t, http.StatusPreconditionFailed, podium.EPRECONDITION)
	})
	t.Run("OwnAccount", func(t *testing.T) {
		a.do(a.viewerKey, "GET", v1+"/user/sessions", nil).must(t, http.StatusOK, nil)
		a.do(a.viewerKey, "DELETE", v1+"/user/sessions/nope", nil).mustCode(t, http.StatusNotFound, podium.ENOTFOUND)
		a.do(a.viewerKey, "PUT", v1+"/user/password", ChangePasswordRequest{CurrentPassword: "wrong", NewPassword: "a new long password"}).
			mustCode(t, http.StatusForbidden, podium.EFORBIDDEN)
		a.do(a.viewerKey, "PUT", v1+"/user/password", ChangePasswordRequest{CurrentPassword: "a long password of vera", NewPassword: "a new long password"}).
			must(t, http.StatusNoContent, nil)
	})
	t.Run("Groups", func(t *testing.T) {
		var g struct {
			GUID string `json:"guid"`
			Name string `json:"name"`
		}
		a.do(a.adminKey, "POST", v1+"/groups", CreateGroupRequest{Name: "sales"}).must(t, http.StatusCreated, &g)
		if g.GUID == "" {
			t.Fatalf("group %+v", g)
		}
		a.do(a.pubKey, "POST", v1+"/groups", CreateGroupRequest{Name: "mine"}).mustCode(t, http.StatusForbidden, podium.EFORBIDDEN)
		a.do(a.adminKey, "GET", v1+"/groups", nil).must(t, http.StatusOK, nil)
		gp := v1 + "/groups/" + g.GUID
		a.do(a.adminKey, "GET", gp, nil).must(t, http.StatusOK, nil)
		a.do(a.adminKey, "GET", v1+"/groups/nope", nil).mustCode(t, http.StatusNotFound, podium.ENOTFOUND)
		a.do(a.adminKey, "POST", gp+"/members", AddMemberRequest{UserGUID: carol.GUID}).must(t, http.StatusNoContent, nil)
		a.do(a.adminKey, "POST", gp+"/members", AddMemberRequest{UserGUID: "nope"}).mustCode(t, http.StatusBadRequest, podium.EINVALID)
		r := a.do(a.adminKey, "GET", gp+"/members", nil).must(t, http.StatusOK, nil)
		if !strings.Contains(string(r.body), "carol") {
			t.Fatalf("members %s", r.body)
		}
		a.do(a.adminKey, "DELETE", gp+"/members/"+carol.GUID, nil).must(t, http.StatusNoContent, nil)
		a.do(a.adminKey, "DELETE", gp, nil).must(t, http.StatusNoContent, nil)
		if p := a.audit.last(t); p.Target != "group:sales" {
			t.Fatalf("audit row %+v", p)
		}
	})
	t.Run("DeleteUser", func(t *testing.T) {
		a.do(a.adminKey, "DELETE", v1+"/users/"+carol.GUID, nil).must(t, http.StatusNoContent, nil)
		a.do(a.adminKey, "GET", v1+"/users/"+carol.GUID, nil).mustCode(t, http.StatusNotFound, podium.ENOTFOUND)
	})
}

// fakeScheduler is the scheduler.API of the schedule and job areas: one
// report, "r1", that only its owner (user 2) may change; others get what
// the scheduler answers them.
type fakeScheduler struct {
	sched *podium.Schedule
	jobs  []*podium.Job
}

func (f *fakeScheduler) check(u *podium.User, guid string, change bool) error {
	switch {
	case guid != "r1":
		return podium.Errorf(podium.ENOTFOUND, "content %q not found", guid)
	case change && u.Username != "pat":
		return podium.Errorf(podium.EFORBIDDEN, "you may not change the schedule of %s", guid)
	}
	return nil
}
func (f *fakeScheduler) ScheduleGet(_ context.Context, u *podium.User, guid string) (*podium.Schedule, error) {
	if err := f.check(u, guid, false); err != nil {
		return nil, err
	}
	if f.sched == nil {
		return nil, podium.Errorf(podium.ENOTFOUND, "%s has no schedule", guid)
	}
	return f.sched, nil
}
func (f *fakeScheduler) SchedulePut(_ context.Context, u *podium.User, guid string, in *scheduler.ScheduleInput) (*podium.Schedule, error) {
	if err := f.check(u, guid, true); err != nil {
		return nil, err
	}
	if in.Spec == "" {
		return nil, podium.Errorf(podium.EINVALID, "spec is empty")
	}
	f.sched = &podium.Schedule{ContentGUID: guid, Spec: in.Spec, Timezone: in.Timezone, Enabled: in.Enabled == nil || *in.Enabled}
	return f.sched, nil
}
func (f *fakeScheduler) ScheduleDelete(_ context.Context, u *podium.User, guid string) error {
	if err := f.check(u, guid, true); err != nil {
		return err
	}
	f.sched = nil
	return nil
}
func (f *fakeScheduler) ContentJobs(_ context.Context, u *podium.User, guid string, limit int, before int64) ([]*podium.Job, error) {
	if err := f.check(u, guid, false); err != nil {
		return nil, err
	}
	return f.Jobs(context.Background(), &podium.User{Role: podium.RoleAdmin}, "", limit, before)
}
func (f *fakeScheduler) Jobs(_ context.Context, u *podium.User, status string, limit int, before int64) ([]*podium.Job, error) {
	if !u.IsAdmin() {
		return nil, podium.Errorf(podium.EFORBIDDEN, "only administrators may list every job")
	}
	var out []*podium.Job
	for _, j := range f.jobs {
		if (status == "" || j.Status == status) && (before == 0 || j.ID < before) && (limit == 0 || len(out) < limit) {
			out = append(out, j)
		}
	}
	return out, nil
}

func TestScheduleAndJobAPI(t *testing.T) {
	t.Parallel()
	sch := &fakeScheduler{jobs: []*podium.Job{{ID: 3, ContentGUID: "r1", Status: podium.JobFailed}, {ID: 2, ContentGUID: "r1", Status: podium.JobSucceeded},
		{ID: 1, ContentGUID: "r1", Status: podium.JobSucceeded}}}
	a := mustAPI(t, Options{}, func(*api) []route.Route { return append(ScheduleRoutes(sch), JobRoutes(sch)...) })
	const p = "/__api__/v1/content/r1/schedule"
	a.do(a.pubKey, "GET", p, nil).mustCode(t, http.StatusNotFound, podium.ENOTFOUND)
	var s podium.Schedule
	a.do(a.pubKey, "PUT", p, map[string]any{"spec": "0 6 * * *", "timezone": "Europe/Paris"}).must(t, http.StatusOK, &s)
	if s.Spec != "0 6 * * *" || !s.Enabled {
		t.Fatalf("schedule %+v", s)
	}
	if r := a.audit.last(t); r.Action != podium.AuditScheduleSet || r.Target != "content:r1" {
		t.Fatalf("audit row %+v", r)
	}
	a.do(a.pubKey, "GET", p, nil).must(t, http.StatusOK, &s)
	a.do(a.pubKey, "PUT", p, map[string]any{"spec": ""}).mustCode(t, http.StatusBadRequest, podium.EINVALID)
	a.do(a.pubKey, "PUT", p, "spec=x").mustCode(t, http.StatusUnsupportedMediaType, podium.EUNSUPPORTED)
	a.do(a.viewerKey, "PUT", p, map[string]any{"spec": "@daily"}).mustCode(t, http.StatusForbidden, podium.EFORBIDDEN)
	a.do(a.viewerKey, "DELETE", p, nil).mustCode(t, http.StatusForbidden, podium.EFORBIDDEN)
	a.do(a.pubKey, "DELETE", p, nil).must(t, http.StatusNoContent, nil)
	a.do("", "GET", p, nil).mustCode(t, http.StatusUnauthorized, podium.EUNAUTHORIZED)

	var jl JobList
	a.do(a.pubKey, "GET", "/__api__/v1/content/r1/jobs?limit=2", nil).must(t, http.StatusOK, &jl)
	if len(jl.Jobs) != 2 || jl.NextBefore != 2 {
		t.Fatalf("jobs %+v", jl)
	}
	jl = JobList{}
	a.do(a.pubKey, "GET", "/__api__/v1/content/r1/jobs?limit=2&before=2", nil).must(t, http.StatusOK, &jl)
	if len(jl.Jobs) != 1 || jl.NextBefore != 0 {
		t.Fatalf("next page %+v", jl)
	}
	a.do(a.pubKey, "GET", "/__api__/v1/content/r1/jobs?limit=0", nil).mustCode(t, http.StatusBadRequest, podium.EINVALID)
	a.do(a.pubKey, "GET", "/__api__/v1/content/r1/jobs?before=x", nil).mustCode(t, http.StatusBadRequest, podium.EINVALID)
	a.do(a.pubKey, "GET", "/__api__/v1/content/r2/jobs", nil).mustCode(t, http.StatusNotFound, podium.ENOTFOUND)
	a.do(a.adminKey, "GET", "/__api__/v1/jobs?status=failed", nil).must(t, http.StatusOK, &jl)
	if len(jl.Jobs) != 1 || jl.Jobs[0].ID != 3 {
		t.Fatalf("failed jobs %+v", jl)
	}
	a.do(a.pubKey, "GET", "/__api__/v1/jobs", nil).mustCode(t, http.StatusForbidden, podium.EFORBIDDEN)
}

func TestUsageAPI(t *testing.T) {
	t.Parallel()
	a := mustAPI(t, Options{}, func(a *api) []route.Route { return UsageRoutes(a.db) })
	ctx := context.Background()
	ct, err := a.db.ContentCreate(ctx, &dbprovider.ContentCreateParams{GUID: "11111111-1111-4111-8111-111111111111", Name: "app", OwnerID: a.publisher.ID})
	if err != nil {
		t.Fatal(err)
	}
	day := func(d int) time.Time { return time.Date(2026, 3, d, 12, 0, 0, 0, time.UTC) }
	var visits []*podium.Visit
	for d := 1; d <= 5; d++ {
		visits = append(visits, &podium.Visit{At: day(d), ContentID: ct.ID, ContentGUID: ct.GUID, UserID: &a.viewer.ID, NodeID: "n1", Path: "p"})
	}
	if err := a.db.UsageVisitInsert(ctx, visits); err != nil {
		t.Fatal(err)
	}
	if err := a.db.UsageSessionInsert(ctx, []*podium.AppSession{{StartedAt: day(1), EndedAt: day(2), ContentID: ct.ID, ContentGUID: ct.GUID, NodeID: "n1"}}); err != nil {
		t.Fatal(err)
	}
	var page UsagePage[VisitBody]
	a.do(a.adminKey, "GET", visitsPath+"?limit=2&from=2026-03-02&to=2026-03-05T00:00:00Z", nil).must(t, http.StatusOK, &page)
	if len(page.Results) != 2 || page.Paging.Cursors.Next == nil || page.Results[0].UserGUID == nil || page.Results[0].Time != "2026-03-02T12:00:00Z" {
		t.Fatalf("first page %+v", page)
	}
	next := *page.Paging.Cursors.Next
	a.do(a.adminKey, "GET", visitsPath+"?limit=2&from=2026-03-02&to=2026-03-05T00:00:00Z&next="+next, nil).must(t, http.StatusOK, &page)
	if len(page.Results) != 1 || page.Paging.Cursors.Previous == nil {
		t.Fatalf("second page %+v", page)
	}
	a.do(a.adminKey, "GET", visitsPath+"?limit=2&asc_order=false&content_guid="+ct.GUID+"&previous="+next, nil).must(t, http.StatusOK, &page)
	var sessions UsagePage[ShinySessionBody]
	a.do(a.adminKey, "GET", shinyPath, nil).must(t, http.StatusOK, &sessions)
	if len(sessions.Results) != 1 || sessions.Results[0].ContentGUID != ct.GUID {
		t.Fatalf("sessions %+v", sessions)
	}
	for _, q := range []string{"from=yesterday", "limit=0", "limit=x", "asc_order=maybe", "min_data_version=x", "next=x", "next=" + next + "&previous=" + next} {
		a.do(a.adminKey, "GET", visitsPath+"?"+q, nil).mustCode(t, http.StatusBadRequest, podium.EINVALID)
	}
	a.do(a.adminKey, "GET", visitsPath+"?content_guid=22222222-2222-4222-8222-222222222222", nil).must(t, http.StatusOK, &page)
	a.do(a.pubKey, "GET", visitsPath, nil).mustCode(t, http.StatusForbidden, podium.EFORBIDDEN)
}

func TestAuditAPI(t *testing.T) {
	t.Parallel()
	a := mustAPI(t, Options{}, func(a *api) []route.Route { return AuditRoutes(a.db) })
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		if err := a.db.AuditInsert(ctx, &dbprovider.AuditInsertParams{NodeID: "n1", UserID: a.publisher.ID, Action: podium.AuditDeploy,
			Target: "content:x", Detail: `{}`}); err != nil {
			t.Fatal(err)
		}
	}
	var b AuditLogBody
	a.do(a.adminKey, "GET", "/__api__/v1/audit_log?limit=2&actor=pat&action=deploy", nil).must(t, http.StatusOK, &b)
	if len(b.Entries) != 2 || b.NextBefore == 0 {
		t.Fatalf("first page %+v", b)
	}
	before := strconv.FormatInt(b.NextBefore, 10)
	b = AuditLogBody{}
	a.do(a.adminKey, "GET", "/__api__/v1/audit_log?limit=2&before="+before, nil).must(t, http.StatusOK, &b)
	if len(b.Entries) != 1 || b.NextBefore != 0 {
		t.Fatalf("second page %+v", b)
	}
	a.do(a.adminKey, "GET", "/__api__/v1/audit_log?actor=nobody", nil).must(t, http.StatusOK, &b)
	if b.Entries == nil || len(b.Entries) != 0 {
		t.Fatalf("unknown actor %+v", b)
	}
	for _, q := range []string{"from=x", "to=x", "limit=0", "limit=1001", "before=0"} {
		a.do(a.adminKey, "GET", "/__api__/v1/audit_log?"+q, nil).mustCode(t, http.StatusBadRequest, podium.EINVALID)
	}
	a.do(a.pubKey, "GET", "/__api__/v1/audit_log", nil).mustCode(t, http.StatusForbidden, podium.EFORBIDDEN)
	a.do("", "GET", "/__api__/v1/audit_log", nil).mustCode(t, http.StatusUnauthorized, podium.EUNAUTHORIZED)
}

func TestConnectAPI(t *testing.T) {
	t.Parallel()
	a := mustAPI(t, Options{}, func(a *api) []route.Route {
		return append(append(ConnectRoutes(a.pub, ConnectOptions{Version: "9.9", Python: []string{"3.12.1"}, R: []string{"4.3.2"}}), ApplicationsRoutes(a.pub)...),
			ContentRoutes(a.pub)...)
	})
	var ss ServerSettingsBody
	a.do("", "GET", "/__api__/server_settings", nil).must(t, http.StatusOK, &ss)
	if ss.Build != "podium 9.9" || ss.Version == "" || !ss.APIKeyAuth {
		t.Fatalf("server settings %+v", ss)
	}
	var py InstallationsBody
	a.do(a.pubKey, "GET", "/__api__/v1/server_settings/python", nil).must(t, http.StatusOK, &py)
	if len(py.Installations) != 1 || py.Installations[0].Version != "3.12.1" {
		t.Fatalf("python %+v", py)
	}
	var rs map[string][]map[string]string
	a.do(a.pubKey, "GET", "/__api__/v1/server_settings/r", nil).must(t, http.StatusOK, &rs)
	if len(rs) != 1 || len(rs["installations"]) != 1 || rs["installations"][0]["version"] != "4.3.2" || rs["installations"][0]["cluster_name"] != "Local" {
		t.Fatalf("r %+v", rs)
	}
	a.do("", "GET", "/__api__/v1/server_settings/r", nil).mustCode(t, http.StatusUnauthorized, podium.EUNAUTHORIZED)
	a.do(a.pubKey, "GET", "/__api__/v1/server_settings/quarto", nil).must(t, http.StatusOK, &py)
	if len(py.Installations) != 0 {
		t.Fatalf("quarto %+v", py)
	}
	var app ApplicationBody
	a.do(a.pubKey, "POST", "/__api__/applications", map[string]string{"name": "old-client"}).must(t, http.StatusOK, &app)
	if app.GUID == "" || app.ID == 0 {
		t.Fatalf("application %+v", app)
	}
	id := strconv.FormatInt(app.ID, 10)
	if r := a.audit.last(t); r.Action != podium.AuditContentCreate {
		t.Fatalf("audit row %+v", r)
	}
	a.do(a.pubKey, "GET", "/__api__/applications/"+id, nil).must(t, http.StatusOK, &app)
	a.do(a.pubKey, "GET", "/__api__/applications/"+id+"/config", nil).must(t, http.StatusOK, nil)
	a.do(a.pubKey, "GET", "/__api__/applications/999/config", nil).mustCode(t, http.StatusNotFound, podium.ENOTFOUND)
	a.do(a.pubKey, "GET", "/__api__/applications/x", nil).mustCode(t, http.StatusNotFound, podium.ENOTFOUND)
	a.do(a.pubKey, "POST", "/__api__/applications/"+id+"/deploy", map[string]any{"bundle": 7}).mustCode(t, http.StatusNotFound, podium.ENOTFOUND)
	if r := a.audit.last(t); r.Target != "application:"+id {
		t.Fatalf("audit row %+v", r)
	}
	a.do(a.pubKey, "GET", "/__api__/tasks/nope", nil).mustCode(t, http.StatusNotFound, podium.ENOTFOUND)
	r := a.do(a.pubKey, "GET", "/__api__/applications?filter=name:old-client", nil).must(t, http.StatusOK, nil)
	if !strings.Contains(string(r.body), "old-client") {
		t.Fatalf("applications %s", r.body)
	}
	a.do(a.pubKey, "GET", "/__api__/applications?count=x", nil).must(t, http.StatusOK, nil)
	r = a.do(a.pubKey, "GET", dashboardContentPrefix+app.GUID+"/logs", nil)
	if r.status != http.StatusFound && r.status != http.StatusSeeOther {
		t.Fatalf("logs redirect: %d %s", r.status, r.body)
	}
	if r := a.do(a.pubKey, "GET", dashboardContentPrefix+app.GUID+"/draft/7", nil); r.status != http.StatusFound || r.header.Get("Location") == "" {
		t.Fatalf("draft redirect: %d %v", r.status, r.header)
	}
	a.do(a.pubKey, "GET", dashboardContentPrefix+app.GUID+"/draft/x", nil).mustCode(t, http.StatusNotFound, podium.ENOTFOUND)
}

// browse sends a browser's request: a form body (or none), cookies and
// headers, from remote ("" for httptest's 192.0.2.1).
func (a *api) browse(method, path, form string, cookies []*http.Cookie, hdr map[string]string) *httptest.ResponseRecorder {
	var body io.Reader
	if form != "" {
		body = strings.NewReader(form)
	}
	req := httptest.NewRequest(method, path, body)
	if form != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for _, c := range cookies {
		req.AddCookie(c)
	}
	for k, v := range hdr {
		if k == "Remote" {
			req.RemoteAddr = v
			continue
		}
		req.Header.Set(k, v)
	}
	req.Header.Set("Accept", "text/html")
	rec := httptest.NewRecorder()
	a.s.Echo.ServeHTTP(rec, req)
	return rec
}

// cookie returns the cookie name a response set, failing without it.
func cookie(t *testing.T, rec *httptest.ResponseRecorder, name string) *http.Cookie {
	t.Helper()
	for _, c := range rec.Result().Cookies() {
		if c.Name == name && c.Value != "" {
			return c
		}
	}
	t.Fatalf("no %s cookie in %v", name, rec.Result().Cookies())
	return nil
}

// TestLoginFlow: the login form, a failed and a good login (audited with
// the account tried, never the password), the session with its CSRF
// token, and the logout.
func TestLoginFlow(t *testing.T) {
	t.Parallel()
	a := mustAPI(t, Options{})
	form := a.browse("GET", LoginPath+"?next=/__dashboard__/jobs", "", nil, nil)
	if form.Code != http.StatusOK || !strings.Contains(form.Body.String(), `name="login_csrf"`) {
		t.Fatalf("login form: %d %s", form.Code, form.Body)
	}
	csrf := cookie(t, form, loginCSRFCookie)
	login := func(password, token string) *httptest.ResponseRecorder {
		return a.browse("POST", LoginPath, "username=pat&password="+strings.ReplaceAll(password, " ", "+")+"&next=/__dashboard__/jobs&login_csrf="+token,
			[]*http.Cookie{csrf}, nil)
	}
	if r := login("a long password of pat", "forged"); r.Code != http.StatusForbidden || !strings.Contains(r.Body.String(), "expired") {
		t.Fatalf("forged login CSRF token: %d %s", r.Code, r.Body)
	}
	if r := login("wrong", csrf.Value); r.Code != http.StatusUnauthorized || !strings.Contains(r.Body.String(), "Invalid username or password") {
		t.Fatalf("wrong password: %d %s", r.Code, r.Body)
	}
	if p := a.audit.last(t); p.Action != podium.AuditLoginFailed || p.Target != "user:pat" || p.UserID != 0 || strings.Contains(p.Detail, "wrong") {
		t.Fatalf("audit row of the failed login %+v", p)
	}
	ok := login("a long password of pat", csrf.Value)
	if ok.Code != http.StatusSeeOther || ok.Header().Get("Location") != "/__dashboard__/jobs" {
		t.Fatalf("login: %d %v", ok.Code, ok.Header())
	}
	if p := a.audit.last(t); p.Action != podium.AuditLogin || p.Target != "user:pat" || p.UserID != a.publisher.ID {
		t.Fatalf("audit row of the login %+v", p)
	}
	sess := cookie(t, ok, SessionCookie)
	who := a.browse("GET", "/__api__/v1/user", "", []*http.Cookie{sess}, nil)
	var u UserBody
	if who.Code != http.StatusOK || json.Unmarshal(who.Body.Bytes(), &u) != nil || u.Username != "pat" || u.CSRFToken == "" {
		t.Fatalf("who am I with the session: %d %s", who.Code, who.Body)
	}
	if r := a.browse("POST", LogoutPath, "", []*http.Cookie{sess}, nil); r.Code != http.StatusForbidden {
		t.Fatalf("logout without the CSRF token: %d %s", r.Code, r.Body)
	}
	out := a.browse("POST", LogoutPath, "", []*http.Cookie{sess}, map[string]string{"X-CSRF-Token": u.CSRFToken})
	if out.Code != http.StatusSeeOther || out.Header().Get("Location") != LoginPath {
		t.Fatalf("logout: %d %v", out.Code, out.Header())
	}
	if r := a.browse("GET", "/__api__/v1/user", "", []*http.Cookie{sess}, nil); r.Code != http.StatusUnauthorized {
		t.Fatalf("the session after the logout: %d %s", r.Code, r.Body)
	}
	t.Run("ProxyProviderRefusesPasswords", func(t *testing.T) {
		a := mustAPI(t, Options{AuthProvider: "proxy"})
		form := a.browse("GET", LoginPath, "", nil, nil)
		csrf := cookie(t, form, loginCSRFCookie)
		r := a.browse("POST", LoginPath, "username=pat&password=x&login_csrf="+csrf.Value, []*http.Cookie{csrf}, nil)
		if r.Code != http.StatusForbidden || !strings.Contains(r.Body.String(), "authenticating proxy") {
			t.Fatalf("password login with the proxy provider: %d %s", r.Code, r.Body)
		}
	})
}

// TestFirstRunSetup: a node without users offers the setup form; a wrong
// token is refused; the right one creates the administrator, logs them in
// and is spent.
func TestFirstRunSetup(t *testing.T) {
	t.Parallel()
	a := mustBare(t, Options{})
	a.s.EnableFirstRun("the-token", "n1")
	if !a.s.FirstRunActive() {
		t.Fatal("first run not active")
	}
	form := a.browse("GET", LoginPath, "", nil, nil)
	if form.Code != http.StatusOK || !strings.Contains(form.Body.String(), SetupPath) {
		t.Fatalf("setup form: %d %s", form.Code, form.Body)
	}
	csrf := cookie(t, form, loginCSRFCookie)
	setup := func(token, csrfValue string) *httptest.ResponseRecorder {
		return a.browse("POST", SetupPath, "username=admin&password=a+long+admin+password&setup_token="+token+"&login_csrf="+csrfValue,
			[]*http.Cookie{csrf}, nil)
	}
	if r := setup("the-token", "forged"); r.Code != http.StatusForbidden {
		t.Fatalf("forged CSRF: %d %s", r.Code, r.Body)
	}
	if r := setup("wrong", csrf.Value); r.Code != http.StatusForbidden || !strings.Contains(r.Body.String(), "Wrong setup token") {
		t.Fatalf("wrong token: %d %s", r.Code, r.Body)
	}
	ok := setup("the-token", csrf.Value)
	if ok.Code != http.StatusSeeOther || ok.Header().Get("Location") != "/__dashboard__/" {
		t.Fatalf("setup: %d %s", ok.Code, ok.Body)
	}
	cookie(t, ok, SessionCookie)
	if p := a.audit.last(t); p.Action != podium.AuditSetup || p.Target != "user:admin" || p.UserID == 0 {
		t.Fatalf("audit row %+v", p)
	}
	if a.s.FirstRunActive() {
		t.Fatal("the setup token is not spent")
	}
	if r := setup("the-token", csrf.Value); r.Code != http.StatusConflict {
		t.Fatalf("second setup: %d %s", r.Code, r.Body)
	}
}

// TestProxyAuth: a trusted proxy's user header signs the user in (created
// at first sight); the header from anyone else is refused; an API key
// wins over it.
func TestProxyAuth(t *testing.T) {
	t.Parallel()
	_, trusted, _ := net.ParseCIDR("192.0.2.0/24")
	a := mustBare(t, Options{AuthProvider: "proxy"})
	a.s.Use(ProxyAuth(a.auth, ProxyAuthOptions{Trusted: []*net.IPNet{trusted}, UsernameHeader: "X-Remote-User", GroupsHeader: "X-Groups",
		NameHeader: "X-Name", Log: quietLog()}))
	a.mustUsers()
	hdr := map[string]string{"X-Remote-User": "dana", "X-Groups": "sales,ops", "X-Name": "Dana"}
	r := a.browse("GET", "/__api__/v1/user", "", nil, hdr)
	var u UserBody
	if r.Code != http.StatusOK || json.Unmarshal(r.Body.Bytes(), &u) != nil || u.Username != "dana" {
		t.Fatalf("proxy sign-in: %d %s", r.Code, r.Body)
	}
	sess := cookie(t, r, SessionCookie)
	if r := a.browse("GET", "/__api__/v1/user", "", []*http.Cookie{sess}, hdr); r.Code != http.StatusOK {
		t.Fatalf("the same user again: %d %s", r.Code, r.Body)
	}
	if r := a.browse("GET", LoginPath+"?next=/x", "", []*http.Cookie{sess}, hdr); r.Code != http.StatusSeeOther && r.Code != http.StatusFound {
		t.Fatalf("the login page for a signed-in proxy user: %d %s", r.Code, r.Body)
	}
	untrusted := map[string]string{"X-Remote-User": "dana", "Remote": "198.51.100.7:1234"}
	if r := a.browse("GET", "/__api__/v1/user", "", nil, untrusted); r.Code != http.StatusUnauthorized {
		t.Fatalf("the header from an untrusted address: %d %s", r.Code, r.Body)
	}
	if r := a.browse("POST", "/__api__/v1/keys", "", nil, hdr); r.Code != http.StatusUnauthorized {
		t.Fatalf("a change signed in by the header alone: %d %s", r.Code, r.Body)
	}
	key := map[string]string{"X-Remote-User": "dana", "Authorization": "Key " + a.pubKey}
	if r := a.browse("GET", "/__api__/v1/user", "", nil, key); r.Code != http.StatusOK || !strings.Contains(r.Body.String(), `"pat"`) {
		t.Fatalf("an API key with the header: %d %s", r.Code, r.Body)
	}
}

// visitLog is a fake usage.VisitRecorder.
type visitLog struct {
	mu     sync.Mutex
	visits []*podium.Visit
}

func (v *visitLog) Visit(x *podium.Visit) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.visits = append(v.visits, x)
}

// TestContentServe: the content paths without a deployed bundle: the
// redirect to the trailing slash, content nobody may see, content not
// deployed yet, and vanity paths.
func TestContentServe(t *testing.T) {
	t.Parallel()
	visits := &visitLog{}
	a := mustAPI(t, Options{}, func(a *api) []route.Route {
		return append(append(ContentRoutes(a.pub), VanityRoutes(a.pub)...), a.s.ContentServeRoutes(a.pub, nil, a.auth, visits)...)
	})
	var ct ContentBody
	a.do(a.pubKey, "POST", "/__api__/v1/content", ContentCreateBody{Name: "site"}).must(t, http.StatusCreated, &ct)
	base := "/content/" + ct.GUID
	if r := a.do(a.pubKey, "GET", base, nil); r.status != http.StatusMovedPermanently || r.header.Get("Location") != base+"/" {
		t.Fatalf("GET without the slash: %d %v", r.status, r.header)
	}
	if r := a.do(a.pubKey, "POST", base, nil); r.status != http.StatusPermanentRedirect {
		t.Fatalf("POST without the slash: %d %v", r.status, r.header)
	}
	if r := a.do(a.pubKey, "GET", base+"/", nil); r.status < 400 || r.status == http.StatusInternalServerError {
		t.Fatalf("content never deployed: %d %s", r.status, r.body)
	}
	if r := a.do(a.viewerKey, "GET", base+"/", nil); r.status != http.StatusNotFound {
		t.Fatalf("content the viewer may not see: %d %s", r.status, r.body)
	}
	if r := a.do(a.pubKey, "GET", base+"/_bundle99/", nil); r.status != http.StatusNotFound {
		t.Fatalf("a draft that does not exist: %d %s", r.status, r.body)
	}
	if r := a.do(a.pubKey, "GET", "/content/not-a-guid/", nil); r.status != http.StatusNotFound {
		t.Fatalf("an unknown guid: %d %s", r.status, r.body)
	}
	// Anonymous visitors are asked to log in, whether the content exists
	// or not.
	for _, p := range []string{base + "/", "/content/not-a-guid/"} {
		a.do("", "GET", p, nil).mustCode(t, http.StatusUnauthorized, podium.EUNAUTHORIZED)
	}
	a.do(a.adminKey, "PUT", "/__api__/v1/content/"+ct.GUID+"/vanity", map[string]any{"path": "/site/"}).must(t, http.StatusOK, nil)
	if r := a.do(a.pubKey, "GET", "/site/", nil); r.status < 400 || r.status == http.StatusInternalServerError {
		t.Fatalf("the vanity path of content never deployed: %d %s", r.status, r.body)
	}
	if r := a.do(a.pubKey, "GET", "/site", nil); r.status != http.StatusMovedPermanently && r.status < 400 {
		t.Fatalf("the vanity path without its slash: %d %s", r.status, r.body)
	}
	if r := a.do("", "GET", "/nothing-here/", nil); r.status != http.StatusNotFound {
		t.Fatalf("no route and no vanity: %d %s", r.status, r.body)
	}
	if r := a.do("", "GET", ContentAuthPath, nil); r.status < 400 {
		t.Fatalf("the content origin's login path without a content origin: %d %s", r.status, r.body)
	}
}

// TestWrongMethodBesideVanity: beside the vanity catch-all with the content routes
// mounted (as on a node), a method a path has no route for answers 405
// unsupported naming the path's methods in Allow, not the catch-all's
// 404 not_found; a path with no route at all, a vanity with any method
// and OPTIONS answer as before.
func TestWrongMethodBesideVanity(t *testing.T) {
	t.Parallel()
	a := mustAPI(t, Options{}, func(a *api) []route.Route {
		return append(append(ContentRoutes(a.pub), VanityRoutes(a.pub)...), a.s.ContentServeRoutes(a.pub, nil, a.auth, nil)...)
	})
	for _, tc := range []struct{ method, path, allow string }{
		{"PUT", "/__api__/v1/content", "GET, POST"},
		{"DELETE", "/__api__/v1/content", "GET, POST"},
		{"POST", "/__api__/v1/content/0b0e2f3a-0000-4000-8000-000000000000", "GET, PATCH, DELETE"},
	} {
		r := a.do(a.pubKey, tc.method, tc.path, nil)
		r.mustCode(t, http.StatusMethodNotAllowed, podium.EUNSUPPORTED)
		if got := r.header.Get("Allow"); got != tc.allow {
			t.Errorf("%s %s: Allow %q, want %q", tc.method, tc.path, got, tc.allow)
		}
	}
	a.do(a.pubKey, "PUT", "/__api__/v1/nothing", nil).mustCode(t, http.StatusNotFound, podium.ENOTFOUND)
	a.do(a.pubKey, "OPTIONS", "/__api__/v1/content", nil).mustCode(t, http.StatusNotFound, podium.ENOTFOUND)
	var ct ContentBody
	a.do(a.pubKey, "POST", "/__api__/v1/content", ContentCreateBody{Name: "site"}).must(t, http.StatusCreated, &ct)
	a.do(a.adminKey, "PUT", "/__api__/v1/content/"+ct.GUID+"/vanity", map[string]any{"path": "/site/"}).must(t, http.StatusOK, nil)
	if r := a.do(a.pubKey, "DELETE", "/site/", nil); r.status == http.StatusMethodNotAllowed || r.status == http.StatusInternalServerError {
		t.Fatalf("DELETE on a vanity path is the content's to answer: %d %s", r.status, r.body)
	}
}

// TestPing: /__ping__ answers the health function's body, 503 when it is
// not ok, and HEAD answers the status alone.
func TestPing(t *testing.T) {
	t.Parallel()
	ok := true
	var mu sync.Mutex
	s := New(Options{Log: quietLog(), Health: func(context.Context) (PingBody, bool) {
		mu.Lock()
		defer mu.Unlock()
		return PingBody{Status: map[bool]string{true: "ok", false: "draining"}[ok], Node: "n1"}, ok
	}})
	get := func(method string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		s.Echo.ServeHTTP(rec, httptest.NewRequest(method, "/__ping__", nil))
		return rec
	}
	if r := get("GET"); r.Code != http.StatusOK || !strings.Contains(r.Body.String(), `"status":"ok"`) || r.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("ping: %d %s", r.Code, r.Body)
	}
	if r := get("HEAD"); r.Code != http.StatusOK || r.Body.Len() != 0 {
		t.Fatalf("HEAD ping: %d %s", r.Code, r.Body)
	}
	mu.Lock()
	ok = false
	mu.Unlock()
	if r := get("GET"); r.Code != http.StatusServiceUnavailable || !strings.Contains(r.Body.String(), `"status":"draining"`) {
		t.Fatalf("ping while draining: %d %s", r.Code, r.Body)
	}
	if r := get("HEAD"); r.Code != http.StatusServiceUnavailable {
		t.Fatalf("HEAD ping while draining: %d", r.Code)
	}
	if r := get("POST"); r.Code != http.StatusMethodNotAllowed || !strings.Contains(r.Body.String(), podium.EUNSUPPORTED) {
		t.Fatalf("POST ping: %d %s", r.Code, r.Body)
	}
}

// mustBundle packs files as podium deploy does.
func mustBundle(t *testing.T, files map[string]string) []byte {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if _, err := bundle.Pack(context.Background(), dir, &buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// raw sends bytes as the body of a bundle upload.
func (a *api) raw(key, path string, body []byte) reply {
	req := httptest.NewRequest("POST", path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/gzip")
	req.Header.Set("Authorization", "Key "+key)
	rec := httptest.NewRecorder()
	a.s.Echo.ServeHTTP(rec, req)
	return reply{status: rec.Code, body: rec.Body.Bytes(), header: rec.Header()}
}

// TestBundleDeployServe: a static site uploaded, listed, downloaded,
// deployed (its task followed to the end) and served, each page view a
// visit; the older Connect API uploads and deploys the same way.
func TestBundleDeployServe(t *testing.T) {
	t.Parallel()
	visits := &visitLog{}
	a := mustAPI(t, Options{}, func(a *api) []route.Route {
		return append(append(append(ContentRoutes(a.pub), ApplicationsRoutes(a.pub)...), VanityRoutes(a.pub)...),
			a.s.ContentServeRoutes(a.pub, nil, a.auth, visits)...)
	})
	var ct ContentBody
	a.do(a.pubKey, "POST", "/__api__/v1/content", ContentCreateBody{Name: "site", AccessType: podium.AccessAll}).must(t, http.StatusCreated, &ct)
	path := "/__api__/v1/content/" + ct.GUID
	files := map[string]string{"manifest.json": `{"version":1,"metadata":{"appmode":"static","primary_html":"index.html"}}`,
		"index.html": "<h1>hello</h1>", "style.css": "h1{}"}
	var b BundleBody
	a.raw(a.pubKey, path+"/bundles", mustBundle(t, files)).must(t, http.StatusCreated, &b)
	if b.ID == 0 || b.Size == 0 || b.ContentGUID != ct.GUID {
		t.Fatalf("bundle %+v", b)
	}
	a.raw(a.pubKey, path+"/bundles", []byte("not a gzip tar")).mustCode(t, http.StatusBadRequest, podium.EINVALID)
	a.raw(a.viewerKey, path+"/bundles", mustBundle(t, files)).mustCode(t, http.StatusForbidden, podium.EFORBIDDEN)
	var list []BundleBody
	a.do(a.pubKey, "GET", path+"/bundles", nil).must(t, http.StatusOK, &list)
	if len(list) != 1 {
		t.Fatalf("bundles %+v", list)
	}
	id := strconv.FormatInt(b.ID, 10)
	if r := a.do(a.pubKey, "GET", path+"/bundles/"+id+"/download", nil); r.status != http.StatusOK || int64(len(r.body)) != b.Size {
		t.Fatalf("download: %d, %d bytes of %d", r.status, len(r.body), b.Size)
	}
	var started TaskStartedBody
	a.do(a.pubKey, "POST", path+"/deploy", map[string]any{"bundle_id": b.ID}).must(t, http.StatusAccepted, &started)
	var task TaskBody
	testutil.WaitFor(t, 30*time.Second, "the deployment task to finish", func() bool {
		task = TaskBody{}
		a.do(a.pubKey, "GET", "/__api__/v1/tasks/"+started.TaskID+"?first=0&wait=0", nil).must(t, http.StatusOK, &task)
		return task.Finished
	})
	if task.Code != 0 {
		t.Fatalf("deployment failed: %+v", task)
	}
	a.do(a.viewerKey, "GET", "/__api__/v1/tasks/"+started.TaskID, nil).mustCode(t, http.StatusNotFound, podium.ENOTFOUND)
	page := a.do("", "GET", "/content/"+ct.GUID+"/", nil)
	if page.status != http.StatusOK || !strings.Contains(string(page.body), "hello") {
		t.Fatalf("the site: %d %s", page.status, page.body)
	}
	if r := a.do("", "GET", "/content/"+ct.GUID+"/style.css", nil); r.status != http.StatusOK || string(r.body) != "h1{}" {
		t.Fatalf("the stylesheet: %d %s", r.status, r.body)
	}
	if r := a.do("", "GET", "/content/"+ct.GUID+"/nope.html", nil); r.status != http.StatusNotFound {
		t.Fatalf("a file the bundle lacks: %d %s", r.status, r.body)
	}
	if r := a.do(a.pubKey, "GET", "/content/"+ct.GUID+"/_bundle"+id+"/", nil); r.status != http.StatusOK {
		t.Fatalf("the draft preview: %d %s", r.status, r.body)
	}
	visits.mu.Lock()
	n := len(visits.visits)
	visits.mu.Unlock()
	if n == 0 {
		t.Fatal("no visit recorded for the page")
	}
	a.do(a.adminKey, "PUT", path+"/vanity", map[string]any{"path": "/site/"}).must(t, http.StatusOK, nil)
	if r := a.do("", "GET", "/site/", nil); r.status != http.StatusOK || !strings.Contains(string(r.body), "hello") {
		t.Fatalf("the vanity path: %d %s", r.status, r.body)
	}
	a.do(a.pubKey, "POST", path+"/render", nil).mustCode(t, http.StatusPreconditionFailed, podium.EPRECONDITION)

	t.Run("ConnectAPI", func(t *testing.T) {
		var app ApplicationBody
		a.do(a.pubKey, "POST", "/__api__/applications", map[string]string{"name": "old-site"}).must(t, http.StatusOK, &app)
		id := strconv.FormatInt(app.ID, 10)
		var up struct {
			ID json.Number `json:"id"`
		}
		a.raw(a.pubKey, "/__api__/applications/"+id+"/upload", mustBundle(t, files)).must(t, http.StatusOK, &up)
		var dep struct {
			ID string `json:"id"`
		}
		a.do(a.pubKey, "POST", "/__api__/applications/"+id+"/deploy", map[string]any{"bundle": up.ID}).must(t, http.StatusOK, &dep)
		testutil.WaitFor(t, 30*time.Second, "the old API's deployment to finish", func() bool {
			r := a.do(a.pubKey, "GET", "/__api__/tasks/"+dep.ID+"?first_status=0", nil).must(t, http.StatusOK, nil)
			return strings.Contains(string(r.body), `"finished":true`)
		})
	})
}

// brokenTags is a publish.TagService whose store fails: the internal
// error must reach the log, never the client.
type brokenTags struct{ publish.TagService }

func (brokenTags) TagList(context.Context, *podium.User, publish.TagListRequest) ([]*podium.Tag, error) {
	return nil, errors.New("sqlite: disk I/O error at /var/lib/podium/db")
}

// TestAreaAgainstFake: an area's handler holds the publishing service's
// interface for its area, so a fake can stand in for the service.
func TestAreaAgainstFake(t *testing.T) {
	t.Parallel()
	a := mustAPI(t, Options{}, func(*api) []route.Route { return TagRoutes(brokenTags{}) })
	r := a.do(a.viewerKey, "GET", "/__api__/v1/tags", nil)
	r.mustCode(t, http.StatusInternalServerError, podium.EINTERNAL)
	if strings.Contains(string(r.body), "sqlite") || !strings.Contains(string(r.body), "internal error (request ") {
		t.Fatalf("the internal error's detail reached the client: %s", r.body)
	}
}
