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
