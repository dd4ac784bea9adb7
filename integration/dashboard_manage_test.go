package integration

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/podiumhq/podium/internal/nodetest"
)

// manageConfig is the configuration of the managing dashboard test's node.
const manageConfig = pubConfig + "JobPollInterval = 500ms\n"

// manageBrowser is one user's browser window: its own cookies (a browser
// context of its own), on the test's one Chromium.
type manageBrowser struct {
	t     *testing.T
	ctx   context.Context
	shots string
}

func (b *manageBrowser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	browserRun(b.t, b.ctx, what, chromedp.Steps(steps...))
}

func (b *manageBrowser) text(sel string) string {
	b.t.Helper()
	return browserRun(b.t, b.ctx, "text of "+sel, chromedp.Text(chromedp.CSS(sel), chromedp.NodeVisible))
}

func (b *manageBrowser) location() string {
	b.t.Helper()
	return browserRun(b.t, b.ctx, "location", chromedp.Location())
}

func (b *manageBrowser) eval(js string) any {
	b.t.Helper()
	return browserRun(b.t, b.ctx, js, chromedp.Evaluate[any](js))
}

// shot writes screenshots of the current page at 1400 px and 390 px wide,
// and fails the test when the page scrolls sideways at 390 px.
func (b *manageBrowser) shot(name string) {
	b.t.Helper()
	for _, w := range []int64{1400, 390} {
		b.do("width "+name, chromedp.EmulateViewport(w, 900))
		png := browserRun(b.t, b.ctx, "screenshot "+name, chromedp.FullScreenshot(100))
		file := filepath.Join(b.shots, name+"-"+strconv.FormatInt(w, 10)+".png")
		if err := os.WriteFile(file, png, 0o644); err != nil {
			b.t.Fatal(err)
		}
		if w == 390 {
			over := browserRun(b.t, b.ctx, "horizontal scroll", chromedp.Evaluate[bool](
				`document.documentElement.scrollWidth > document.documentElement.clientWidth`))
			if over {
				wide := browserRun(b.t, b.ctx, "widest", chromedp.Evaluate[string](`(function(){var w=document.documentElement.clientWidth,out=[];
document.querySelectorAll('body *').forEach(function(e){var r=e.getBoundingClientRect(); if(r.right>w+1) out.push(e.tagName+(e.id?'#'+e.id:'')+'.'+e.className+' '+Math.round(r.right))});
return out.slice(0,8).join(', ')})()`))
				b.t.Errorf("%s scrolls sideways at 390 px (scrollWidth %v > clientWidth): %s", name,
					b.eval(`document.documentElement.scrollWidth`), wide)
			}
		}
	}
	b.do("width back", chromedp.EmulateViewport(1400, 900))
}

// window opens a browser context of its own (no cookies shared with the
// other windows) on the test's browser.
func window(t *testing.T, browser context.Context, shots string) *manageBrowser {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("new browser context: %v", err)
	}
	return &manageBrowser{t: t, ctx: ctx, shots: shots}
}

// logIn fills the login form the browser is on (or is sent to) and waits
// for sel on the page it lands on.
func (b *manageBrowser) logIn(username, password, sel string) {
	b.t.Helper()
	b.do("log in as "+username,
		chromedp.WaitVisible(chromedp.CSS("#password")),
		chromedp.SendKeys(chromedp.CSS("#username"), username),
		chromedp.SendKeys(chromedp.CSS("#password"), password),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(sel)),
	)
}

// manageUser creates a user with a password and returns an API key of
// theirs, to check through the API what the pages did.
func manageUser(t *testing.T, n *nodetest.Node, username, role, password string) string {
	t.Helper()
	dashUser(t, n, username, role, password)
	stdout, stderr, code := nodetest.Run(t, nodetest.Binary(t), nil, "--config", n.ConfigPath, "keys", "create", "--username", username)
	if code != 0 {
		t.Fatalf("keys create %s: exit %d: %s", username, code, stderr)
	}
	return strings.TrimSpace(stdout)
}

// TestDashboardViewerDeadEnds: what a viewer meets in a browser. A shared
// link to restricted content sends them to log in and back (it answered
// raw JSON 401); their content page shows what they may see (it was 403);
// an unknown path is a page with a way forward (it was JSON).
func TestDashboardViewerDeadEnds(t *testing.T) {
	t.Parallel()
	n := nodetest.StartNode(t, nodetest.Options{Name: "node", Config: manageConfig})
	const password = "correct horse battery staple"
	alice := manageUser(t, n, "alice", "publisher", password)
	manageUser(t, n, "vera", "viewer", password)
	guid := manageDeploy(t, n, alice, "secret-site", map[string]string{
		"manifest.json": `{"version":1,"metadata":{"appmode":"static"}}`,
		"index.html":    "<h1 id=hello>for vera only</h1>",
	})
	pubWant(t, "share with vera", pubJSON(t, "PUT", n.URL+"/__api__/v1/content/"+guid+"/permissions", alice,
		map[string]any{"access_type": "acl", "permissions": []map[string]string{{"username": "vera", "role": "viewer"}}}), 200)

	shots := filepath.Join(nodetest.ModuleRoot(t), "artifacts", "screenshots")
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	vera := window(t, newBrowser(t), shots)

	t.Run("RestrictedLinkSendsToLogin", func(t *testing.T) {
		vera.t = t
		vera.do("shared link", chromedp.Navigate(n.URL+"/content/"+guid+"/"), chromedp.WaitVisible(chromedp.CSS("#password")))
		if loc := vera.location(); !strings.Contains(loc, "/__login__?next=%2Fcontent%2F"+guid) {
			t.Fatalf("anonymous shared link went to %s, want the login page", loc)
		}
		vera.shot("viewer-login")
		vera.logIn("vera", password, "#hello")
		if loc, got := vera.location(), vera.text("#hello"); loc != n.URL+"/content/"+guid+"/" || got != "for vera only" {
			t.Fatalf("after login at %s showing %q", loc, got)
		}
	})

	t.Run("ViewerContentPage", func(t *testing.T) {
		vera.t = t
		vera.do("content list", chromedp.Navigate(n.URL+"/__dashboard__/"), chromedp.WaitVisible(chromedp.CSS("#content-list")))
		vera.do("open from the list", chromedp.Click(chromedp.CSS(`#content-list a[href$="/content/`+guid+`"]`)),
			chromedp.WaitVisible(chromedp.CSS("#preview")))
		if got := vera.text("h1"); got != "The secret-site" {
			t.Fatalf("viewer's content page title %q", got)
		}
		if n := vera.eval(`document.querySelectorAll('#bundles, #settings, #deployments').length`); n != float64(0) {
			t.Fatalf("a viewer sees %v editors' sections", n)
		}
		vera.shot("viewer-content")
	})

	t.Run("UnknownPathPage", func(t *testing.T) {
		vera.t = t
		vera.do("unknown path", chromedp.Navigate(n.URL+"/no/such/page"), chromedp.WaitVisible(chromedp.CSS("#ways")))
		vera.do("way forward", chromedp.Click(chromedp.CSS(`#ways a[href="/__dashboard__/"]`)), chromedp.WaitVisible(chromedp.CSS("#content-list")))
		vera.do("unknown dashboard path", chromedp.Navigate(n.URL+"/__dashboard__/no/such"), chromedp.WaitVisible(chromedp.CSS(".error")))
		if got := vera.text("h1"); got != "Not Found" && got != "Page not found" {
			t.Fatalf("unknown dashboard path: %q", got)
		}
		vera.shot("viewer-not-found")
		r := pubDo(t, "GET", n.URL+"/__api__/v1/nope", alice, "", nil)
		if r.Status != 404 || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
			t.Fatalf("API unknown path: %d %s", r.Status, r.Header.Get("Content-Type"))
		}
	})
}

// manageDeploy creates content, uploads files and deploys them through the
// API as key, and returns the content's GUID.
func manageDeploy(t *testing.T, n *nodetest.Node, key, name string, files map[string]string) string {
	t.Helper()
	r := pubJSON(t, "POST", n.URL+"/__api__/v1/content", key, map[string]string{"name": name, "title": "The " + name})
	pubWant(t, "create "+name, r, 201)
	var c struct{ GUID string }
	r.JSON(t, &c)
	manageUpload(t, n, key, c.GUID, files)
	return c.GUID
}

// manageUpload uploads and deploys a bundle of files, waiting for the task.
func manageUpload(t *testing.T, n *nodetest.Node, key, guid string, files map[string]string) int64 {
	t.Helper()
	r := pubDo(t, "POST", n.URL+"/__api__/v1/content/"+guid+"/bundles", key, "application/gzip", pubBundle(t, files))
	pubWant(t, "upload", r, 201)
	var bd struct{ ID int64 }
	r.JSON(t, &bd)
	r = pubJSON(t, "POST", n.URL+"/__api__/v1/content/"+guid+"/deploy", key, map[string]any{"bundle_id": bd.ID})
	pubWant(t, "deploy", r, 202)
	var started struct {
		TaskID string `json:"task_id"`
	}
	r.JSON(t, &started)
	if task := pubWaitTask(t, n.URL, key, started.TaskID); task.Code != 0 {
		t.Fatalf("deploy: %+v", task)
	}
	return bd.ID
}

// submit fills the fields of form (CSS selector) by id and submits it,
// then waits for sel on the page the browser lands on. Fields are set and
// buttons pressed by script in the page, not by synthetic mouse events at
// coordinates, which a loaded machine's late layout (the preview frame
// loading) can make miss.
func (b *manageBrowser) submit(form string, fields map[string]string, sel string) {
	b.t.Helper()
	b.do("wait for "+form, chromedp.WaitVisible(chromedp.CSS(form)))
	for id, v := range fields {
		b.setValue(form+" #"+id, v)
	}
	b.click(form+` button[type=submit]`, sel)
}

// setValue sets the value of the form control sel (a select's option, a
// text field) as a reader would, firing its input and change events.
func (b *manageBrowser) setValue(sel, v string) {
	b.t.Helper()
	js := `(function(sel, v){var el=document.querySelector(sel); if(!el){return false}
el.value=v; el.dispatchEvent(new Event('input',{bubbles:true})); el.dispatchEvent(new Event('change',{bubbles:true})); return el.value===v})(` +
		strconv.Quote(sel) + `,` + strconv.Quote(v) + `)`
	if ok := browserRun(b.t, b.ctx, "set "+sel, chromedp.Evaluate[bool](js)); !ok {
		b.t.Fatalf("cannot set %s to %q", sel, v)
	}
}

// click clicks the element sel and waits for want on the page the browser
// lands on: the page clicked from is marked first, so an element of it
// (a confirmation left by the previous form) does not count.
func (b *manageBrowser) click(sel, want string) {
	b.t.Helper()
	js := `(function(sel){var el=document.querySelector(sel); if(!el){return false}
document.body.setAttribute('data-stale','1'); el.click(); return true})(` + strconv.Quote(sel) + `)`
	if ok := browserRun(b.t, b.ctx, "click "+sel, chromedp.Evaluate[bool](js)); !ok {
		b.t.Fatalf("no %s on the page", sel)
	}
	b.do("after clicking "+sel, chromedp.WaitVisible(chromedp.CSS("body:not([data-stale]) "+want)))
}

// TestDashboardManage does, through the pages in Chromium, the everyday
// tasks of issue 27 as an owner, a collaborator, a viewer and an
// administrator, and checks each result through the API.
func TestDashboardManage(t *testing.T) {
	t.Parallel()
	n := nodetest.StartNode(t, nodetest.Options{Name: "node", Config: manageConfig})
	const password = "correct horse battery staple"
	admin := manageUser(t, n, "admin", "admin", password)
	alice := manageUser(t, n, "alice", "publisher", password)
	manageUser(t, n, "carol", "publisher", password)
	manageUser(t, n, "vera", "viewer", password)
	if _, stderr, code := nodetest.Run(t, "", nil, "--config", n.ConfigPath, "groups", "create", "--name", "analysts"); code != 0 {
		t.Fatalf("groups create: exit %d: %s", code, stderr)
	}
	reportFiles := func(word string) map[string]string {
		return map[string]string{
			"manifest.json": `{"version":1,"metadata":{"appmode":"report"},"render":{"command":["sh","render.sh"]}}`,
			"render.sh":     `echo "<p id=r>` + word + `</p>" > "$PODIUM_OUTPUT_DIR/index.html"; echo "render of ` + word + ` done"`,
		}
	}
	report := manageDeploy(t, n, alice, "weekly", reportFiles("first"))
	second := manageUpload(t, n, alice, report, reportFiles("second"))
	app := manageDeploy(t, n, alice, "app", map[string]string{
		"manifest.json": `{"version":1,"metadata":{"appmode":"app"},"serve":{"command":["/usr/bin/python3","app.py"]}}`,
		"app.py": `import http.server, os
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.send_header("Content-Type", "text/html"); self.end_headers()
        self.wfile.write(b"<h1 id=app>app</h1>")
http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
`,
	})
	api := func(key, path string, v any) {
		t.Helper()
		r := pubDo(t, "GET", n.URL+"/__api__/v1"+path, key, "", nil)
		pubWant(t, "GET "+path, r, 200)
		r.JSON(t, v)
	}
	type contentJSON struct {
		Name, Title string
		AccessType  string `json:"access_type"`
		BundleID    int64  `json:"bundle_id"`
	}
	type permsJSON struct {
		Permissions []struct {
			PrincipalType        string `json:"principal_type"`
			Username, Name, Role string
		} `json:"permissions"`
	}

	shots := filepath.Join(nodetest.ModuleRoot(t), "artifacts", "screenshots")
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	browser := newBrowser(t)
	owner := window(t, browser, shots)
	page := n.URL + "/__dashboard__/content/" + report

	t.Run("OwnerAccess", func(t *testing.T) {
		owner.t = t
		owner.do("content page", chromedp.Navigate(page), chromedp.WaitVisible(chromedp.CSS("#password")))
		owner.logIn("alice", password, "#access-form")
		if !browserRun(t, owner.ctx, "anyone logged in", chromedp.Evaluate[bool](`(function(){var r=document.querySelector('#access-form input[value="logged_in"]'); r.checked=true; return r.checked})()`)) {
			t.Fatal("cannot choose logged_in")
		}
		owner.submit("#access-form", nil, "#done")
		var c contentJSON
		api(alice, "/content/"+report, &c)
		if c.AccessType != "logged_in" || owner.text("#access-label") != "Anyone who is logged in" {
			t.Fatalf("access type after the form: API %q, page %q", c.AccessType, owner.text("#access-label"))
		}
		// A reload after the redirect posts nothing again (POST-redirect-GET).
		if loc := owner.location(); !strings.Contains(loc, "?done=access") {
			t.Fatalf("after the form at %s, want the content page (303)", loc)
		}
		owner.submit("#acl-add", map[string]string{"principal": "vera", "acl-role": "viewer"}, "#done")
		owner.submit("#acl-add", map[string]string{"principal": "carol", "acl-role": "collaborator"}, "#done")
		owner.submit("#acl-add", map[string]string{"principal": "nobody-such"}, "#access-error")
		if got := owner.text("#access-error"); !strings.Contains(got, "nobody-such") {
			t.Fatalf("unknown user: %q", got)
		}
		owner.do("content page", chromedp.Navigate(page), chromedp.WaitVisible(chromedp.CSS(`#acl tr[data-principal="vera"] button`)))
		owner.click(`#acl tr[data-principal="vera"] button`, "#done")
		// Groups are offered beside users.
		owner.setValue("#acl-add #principal_type", "group")
		owner.submit("#acl-add", map[string]string{"principal": "analysts", "acl-role": "viewer"}, "#done")
		var p permsJSON
		api(alice, "/content/"+report+"/permissions", &p)
		got := map[string]string{}
		for _, e := range p.Permissions {
			got[e.PrincipalType+":"+e.Username+e.Name] = e.Role
		}
		if len(got) != 2 || got["user:carol"] != "collaborator" || got["group:analysts"] != "viewer" {
			t.Fatalf("access list after the forms: %+v", p.Permissions)
		}
		owner.click(`#acl tr[data-group="analysts"] button`, "#done")
		api(alice, "/content/"+report+"/permissions", &p)
		if len(p.Permissions) != 1 || p.Permissions[0].Username != "carol" {
			t.Fatalf("access list after removing the group: %+v", p.Permissions)
		}
	})

	t.Run("OwnerSchedule", func(t *testing.T) {
		owner.t = t
		owner.do("content page", chromedp.Navigate(page), chromedp.WaitVisible(chromedp.CSS("#schedule-form")))
		// What cannot run as written is refused, and the form keeps it.
		owner.submit("#schedule-form", map[string]string{"spec": "@every 1200ms", "timezone": "Europe/Paris"}, "#schedule-error")
		if got := owner.text("#schedule-error"); !strings.Contains(got, "whole seconds") {
			t.Fatalf("@every 1200ms: %q", got)
		}
		if v := browserRun(t, owner.ctx, "spec kept", chromedp.Value(chromedp.CSS("#spec"))); v != "@every 1200ms" {
			t.Fatalf("the refused form lost the spec: %q", v)
		}
		owner.submit("#schedule-form", map[string]string{"spec": "0 6 * * 1-5", "timezone": "Europe/Paris"}, "#next-runs")
		var sc struct {
			Spec, Timezone string
			Enabled        bool
		}
		api(alice, "/content/"+report+"/schedule", &sc)
		if sc.Spec != "0 6 * * 1-5" || sc.Timezone != "Europe/Paris" || !sc.Enabled {
			t.Fatalf("schedule after the form: %+v", sc)
		}
		// The next runs are shown in the reader's time zone (the
		// browser's, UTC here), with UTC on hover.
		title := browserRun(t, owner.ctx, "next run title", chromedp.Evaluate[string](`document.querySelector('#next-runs time').title`))
		if !strings.HasSuffix(title, " UTC") || (!strings.Contains(title, " 04:00:00") && !strings.Contains(title, " 05:00:00")) {
			t.Fatalf("next run hover %q, want 06:00 Paris in UTC", title)
		}
		owner.shot("content-report-owner")
		owner.click("#unschedule", "#done")
		if r := pubDo(t, "GET", n.URL+"/__api__/v1/content/"+report+"/schedule", alice, "", nil); r.Status != 404 {
			t.Fatalf("schedule after removal: %d %s", r.Status, r.Body)
		}
	})

	t.Run("OwnerEnvironment", func(t *testing.T) {
		owner.t = t
		owner.do("content page", chromedp.Navigate(page), chromedp.WaitVisible(chromedp.CSS("#env-form")))
		owner.submit("#env-form", map[string]string{"env-name": "API_TOKEN", "env-value": "s3cr3t-value"}, "#done")
		var names []string
		api(alice, "/content/"+report+"/environment", &names)
		html := browserRun(t, owner.ctx, "page", chromedp.Evaluate[string](`document.documentElement.outerHTML`))
		if len(names) != 1 || names[0] != "API_TOKEN" || strings.Contains(html, "s3cr3t-value") {
			t.Fatalf("environment after the form: %v (value on the page: %v)", names, strings.Contains(html, "s3cr3t-value"))
		}
	})

	t.Run("OwnerRollBackAndRender", func(t *testing.T) {
		owner.t = t
		var c contentJSON
		api(alice, "/content/"+report, &c)
		if c.BundleID != second {
			t.Fatalf("active bundle %d, want %d", c.BundleID, second)
		}
		owner.do("content page", chromedp.Navigate(page), chromedp.WaitVisible(chromedp.CSS("#bundles")))
		owner.click(`#bundles tr[data-bundle="1"] button.activate`, `#follow-log`)
		owner.do("deployment log", chromedp.WaitVisible(chromedp.CSS(`#follow-log[data-finished]`)))
		if got := owner.text("#follow-log"); !strings.Contains(got, "render of first done") {
			t.Fatalf("the live deployment log: %q", got)
		}
		api(alice, "/content/"+report, &c)
		if c.BundleID != 1 {
			t.Fatalf("active bundle after the roll back: %d", c.BundleID)
		}
		owner.do("content page", chromedp.Navigate(page), chromedp.WaitVisible(chromedp.CSS("#render-now")))
		owner.click("#render-now", "#follow-log")
		owner.do("render log", chromedp.WaitVisible(chromedp.CSS(`#follow-log[data-finished="ok"]`)))
		if got := owner.text("#follow-log"); !strings.Contains(got, "render of first done") {
			t.Fatalf("the live render log: %q", got)
		}
	})

	t.Run("CollaboratorChangesButDoesNotManage", func(t *testing.T) {
		carol := window(t, browser, shots)
		carol.do("content page", chromedp.Navigate(page), chromedp.WaitVisible(chromedp.CSS("#password")))
		carol.logIn("carol", password, "#env-form")
		carol.submit("#env-form", map[string]string{"env-name": "REGION", "env-value": "eu"}, "#done")
		var names []string
		api(alice, "/content/"+report+"/environment", &names)
		if strings.Join(names, ",") != "API_TOKEN,REGION" {
			t.Fatalf("environment after the collaborator's form: %v", names)
		}
		if n := carol.eval(`document.querySelectorAll('#access-form, #acl-add, #delete-form').length`); n != float64(0) {
			t.Fatalf("a collaborator is offered %v forms of the owner's", n)
		}
		carol.shot("content-report-collaborator")
	})

	t.Run("ViewerSeesNoForms", func(t *testing.T) {
		vera := window(t, browser, shots)
		vera.do("content page", chromedp.Navigate(page), chromedp.WaitVisible(chromedp.CSS("#password")))
		vera.logIn("vera", password, "#preview")
		if n := vera.eval(`document.querySelectorAll('form.fields, #bundles').length`); n != float64(0) {
			t.Fatalf("a viewer is offered %v forms", n)
		}
	})

	t.Run("AdminRuntimeSettings", func(t *testing.T) {
		root := window(t, browser, shots)
		root.do("app page", chromedp.Navigate(n.URL+"/__dashboard__/content/"+app), chromedp.WaitVisible(chromedp.CSS("#password")))
		root.logIn("admin", password, "#runtime-form")
		root.submit("#runtime-form", map[string]string{"min_processes": "5", "max_processes": "2"}, "#runtime-error")
		if got := root.text("#runtime-error"); !strings.Contains(got, "min_processes") {
			t.Fatalf("min above max: %q", got)
		}
		root.submit("#runtime-form", map[string]string{"min_processes": "", "max_processes": "3", "idle_timeout": "2m"}, "#done")
		var s struct {
			Overrides struct {
				MaxProcesses *int   `json:"max_processes"`
				IdleTimeout  string `json:"idle_timeout"`
			} `json:"overrides"`
		}
		api(admin, "/content/"+app+"/processes-settings", &s)
		if s.Overrides.MaxProcesses == nil || *s.Overrides.MaxProcesses != 3 || s.Overrides.IdleTimeout != "2m" {
			t.Fatalf("process settings after the form: %+v", s.Overrides)
		}
		root.shot("content-app-admin")
		// Content without a kind says why: never deployed, or its
		// deployment failed.
		r := pubJSON(t, "POST", n.URL+"/__api__/v1/content", alice, map[string]string{"name": "broken"})
		pubWant(t, "create broken", r, 201)
		var broken struct{ GUID string }
		r.JSON(t, &broken)
		r = pubDo(t, "POST", n.URL+"/__api__/v1/content/"+broken.GUID+"/bundles", alice, "application/gzip", pubBundle(t, map[string]string{
			"manifest.json": `{"version":1,"metadata":{"appmode":"report"},"render":{"command":["sh","-c","exit 3"]}}`,
		}))
		pubWant(t, "upload broken", r, 201)
		var bd struct{ ID int64 }
		r.JSON(t, &bd)
		r = pubJSON(t, "POST", n.URL+"/__api__/v1/content/"+broken.GUID+"/deploy", alice, map[string]any{"bundle_id": bd.ID})
		pubWant(t, "deploy broken", r, 202)
		var started struct {
			TaskID string `json:"task_id"`
		}
		r.JSON(t, &started)
		if task := pubWaitTask(t, n.URL, alice, started.TaskID); task.Code == 0 {
			t.Fatalf("the broken deployment worked: %+v", task)
		}
		pubWant(t, "create empty", pubJSON(t, "POST", n.URL+"/__api__/v1/content", alice, map[string]string{"name": "empty"}), 201)
		root.do("content list", chromedp.Navigate(n.URL+"/__dashboard__/"), chromedp.WaitVisible(chromedp.CSS("#content-list")))
		if got := root.text(`#content-list tr[data-guid="` + broken.GUID + `"]`); !strings.Contains(got, "the last deployment failed") {
			t.Fatalf("a failed deployment in the list: %q", got)
		}
		if got := root.text(`#content-list`); !strings.Contains(got, "Not deployed yet") {
			t.Fatalf("undeployed content in the list: %q", got)
		}
		// Search as one types (script), and the same filter without it
		// (the form's query).
		root.setValue("#q", "brok")
		visible := func() string {
			return browserRun(t, root.ctx, "visible rows", chromedp.Evaluate[string](
				`Array.from(document.querySelectorAll('#content-list tbody tr')).filter(r => !r.hidden).map(r => r.querySelector('a').textContent).join(',')`))
		}
		if got := visible(); got != "broken" {
			t.Fatalf("search for \"brok\" shows %q", got)
		}
		root.do("filter by kind", chromedp.Navigate(n.URL+"/__dashboard__/?mode=app"), chromedp.WaitVisible(chromedp.CSS("#content-list")))
		if got := visible(); got != "app" {
			t.Fatalf("?mode=app shows %q", got)
		}
		nodeID := browserRun(t, root.ctx, "node id", chromedp.Evaluate[string](`document.querySelector('footer code').textContent`))
		for _, p := range []struct{ path, sel, name string }{
			{"/nodes/" + nodeID, "#metrics", "node"},
			{"/", "#content-list", "content-list"}, {"/jobs", "#history", "jobs"}, {"/keys", "#keys", "keys"},
			{"/cluster", "#nodes", "cluster"}, {"/audit", "#audit", "audit"},
			{"/users", "#users", "users"}, {"/account", "#groups", "account"}, {"/content/" + app, "#people-link", "content-app-people"},
		} {
			root.do(p.name, chromedp.Navigate(n.URL+"/__dashboard__"+p.path), chromedp.WaitVisible(chromedp.CSS(p.sel)))
			root.shot("admin-" + p.name)
		}
	})

	t.Run("OwnerRenameAndDelete", func(t *testing.T) {
		owner.t = t
		owner.do("content page", chromedp.Navigate(page), chromedp.WaitVisible(chromedp.CSS("#rename-form")))
		owner.submit("#rename-form", map[string]string{"new-name": "monday", "new-title": "Monday report"}, "#done")
		var c contentJSON
		api(alice, "/content/"+report, &c)
		if c.Name != "monday" || c.Title != "Monday report" {
			t.Fatalf("after renaming: %+v", c)
		}
		owner.submit("#delete-form", map[string]string{"confirm": "weekly"}, "#delete-error")
		owner.submit("#delete-form", map[string]string{"confirm": "monday"}, "#content-list")
		if r := pubDo(t, "GET", n.URL+"/__api__/v1/content/"+report, alice, "", nil); r.Status != 404 {
			t.Fatalf("content after deletion: %d", r.Status)
		}
	})
}
