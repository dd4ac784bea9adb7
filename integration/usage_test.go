package integration

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/podiumhq/podium/internal/nodetest"
	"github.com/podiumhq/podium/internal/testutil"
	"github.com/podiumhq/podium/runtimes/rlang"
	"github.com/podiumhq/podium/web"
)

// TestUsageRecorded: a reader logged in to a real Chromium opens a
// static site (two pages, with a style sheet) and an R Shiny app, and an
// anonymous client opens the site once. The instrumentation API then
// counts each page visit once with its user (the style sheet and the
// app's scripts are not visits), the anonymous visit without one, and
// the Shiny session once, with the reader, started and ended, once the
// browser has left the app.
func TestUsageRecorded(t *testing.T) {
	t.Parallel()
	n := nodetest.StartNode(t, nodetest.Options{DataDir: sharedDataDir(t), Name: "usage",
		Config: pubConfig + "[Usage]\nFlushInterval = 100ms\n[Scheduler]\nInitTimeout = 3m\nIdleTimeout = 10m\n"})
	const password = "correct horse battery staple"
	dashUser(t, n, "carol", "viewer", password)
	admin := pubUser(t, n, "root", "admin")
	key := pubUser(t, n, "alice", "publisher")

	open := func(guid string) {
		t.Helper()
		pubWant(t, "open "+guid, pubJSON(t, "PATCH", n.URL+"/__api__/v1/content/"+guid, key, map[string]string{"access_type": "all"}), 200)
	}
	site := pubCreate(t, n, key, "usage-site")
	if task := pubWaitTask(t, n.URL, key, pubStartDeploy(t, n, key, site, map[string]string{
		"manifest.json": `{"version":1,"metadata":{"appmode":"static"}}`,
		"index.html":    `<link rel=stylesheet href=style.css><h1 id=one>one</h1><a id=next href=two.html>two</a>`,
		"two.html":      `<link rel=stylesheet href=style.css><h1 id=two>two</h1>`,
		"style.css":     `h1 { color: teal }`,
	})); task.Code != 0 {
		t.Fatalf("deploy site: %+v", task)
	}
	open(site)

	app := shinyReconnectApp("")
	dir := pubDir(t, map[string]string{"app.R": app})
	c, err := rlang.ServeCommand(&rlang.Spec{AppMode: rlang.ModeShiny}, &rlang.Library{R: rlang.Installation{Path: "/usr/bin/R"}}, dir)
	if err != nil {
		t.Fatal(err)
	}
	argv := append(append([]string{"/usr/bin/env"}, c.Env...), c.Argv...)
	manifest, _ := json.Marshal(map[string]any{"version": 1, "metadata": map[string]any{"appmode": "app"}, "serve": map[string]any{"command": argv}})
	shiny := pubCreate(t, n, key, "usage-shiny")
	if task := pubWaitTask(t, n.URL, key, pubStartDeploy(t, n, key, shiny, map[string]string{"manifest.json": string(manifest), "app.R": app})); task.Code != 0 {
		t.Fatalf("deploy shiny: %+v", task)
	}
	open(shiny)

	browser := newBrowser(t)
	browserRun(t, browser, "log in", chromedp.Steps(
		chromedp.Navigate(n.URL+"/__login__"),
		chromedp.WaitVisible(chromedp.CSS("#username")),
		chromedp.SendKeys(chromedp.CSS("#username"), "carol"),
		chromedp.SendKeys(chromedp.CSS("#password"), password),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
		chromedp.WaitNotPresent(chromedp.CSS("#password")),
	))
	browserRun(t, browser, "read the site", chromedp.Steps(
		chromedp.Navigate(n.URL+"/content/"+site+"/"),
		chromedp.WaitVisible(chromedp.CSS("#one")),
		chromedp.Click(chromedp.CSS("#next")),
		chromedp.WaitVisible(chromedp.CSS("#two")),
	))
	if r := pubDo(t, "GET", n.URL+"/content/"+site+"/", "", "", nil); r.Status != http.StatusOK {
		t.Fatalf("anonymous visit: %d", r.Status)
	}
	// The app opens in a tab of its own (the browser's cookies): closing
	// the tab closes the app's WebSocket, and the session ends. (Leaving
	// the page would not: Chromium keeps it, socket open, in its
	// back-forward cache.)
	tab, closeTab := chromedp.NewContext(browser)
	defer closeTab()
	// The first Run opens the tab, which lives as long as that call's
	// context: no timeout on it.
	if _, err := chromedp.Run(tab, chromedp.Steps()); err != nil {
		t.Fatalf("open a tab: %v", err)
	}
	browserRun(t, tab, "open the app", chromedp.Navigate(n.URL+"/content/"+shiny+"/"))
	testutil.WaitFor(t, testutil.Timeout(3*time.Minute), "the Shiny app's first output", func() bool {
		out := browserRun(t, tab, "read the app", chromedp.Evaluate[string](`(document.getElementById("out")||{}).textContent||""`))
		return strings.HasPrefix(out, "double:2 token:")
	})
	closeTab()

	carol := ""
	visits := func(guid string) []web.VisitBody {
		t.Helper()
		r := pubDo(t, "GET", n.URL+"/__api__/v1/instrumentation/content/visits?limit=500&content_guid="+guid, admin, "", nil)
		pubWant(t, "visits", r, 200)
		var p web.UsagePage[web.VisitBody]
		r.JSON(t, &p)
		return p.Results
	}
	sessions := func() []web.ShinySessionBody {
		t.Helper()
		r := pubDo(t, "GET", n.URL+"/__api__/v1/instrumentation/shiny/usage?content_guid="+shiny, admin, "", nil)
		pubWant(t, "shiny usage", r, 200)
		var p web.UsagePage[web.ShinySessionBody]
		r.JSON(t, &p)
		return p.Results
	}
	testutil.WaitFor(t, testutil.Timeout(time.Minute), "the Shiny session recorded", func() bool {
		return len(sessions()) > 0
	})
	// Every record of the requests above is written by now: the
	// recorder writes in the order of the records, and the session ended
	// last.

	sv := visits(site)
	if len(sv) != 3 {
		t.Fatalf("site visits: %+v, want 3 (two pages by carol, one anonymous)", sv)
	}
	for i, want := range []string{"/index.html", "/two.html", "/index.html"} {
		if sv[i].Path != want || sv[i].BundleID == nil || sv[i].ContentGUID != site {
			t.Fatalf("visit %d: %+v, want path %s", i, sv[i], want)
		}
	}
	if sv[0].UserGUID == nil || sv[1].UserGUID == nil || *sv[0].UserGUID != *sv[1].UserGUID || sv[2].UserGUID != nil {
		t.Fatalf("visit users: %v %v %v, want carol twice, then anonymous", sv[0].UserGUID, sv[1].UserGUID, sv[2].UserGUID)
	}
	carol = *sv[0].UserGUID
	ss := sessions()
	if len(ss) != 1 || ss[0].UserGUID == nil || *ss[0].UserGUID != carol || ss[0].Started == "" || ss[0].Ended < ss[0].Started {
		t.Fatalf("shiny sessions: %+v, want one of carol (%s)", ss, carol)
	}
	if av := visits(shiny); len(av) != 1 || av[0].UserGUID == nil || *av[0].UserGUID != carol {
		t.Fatalf("app visits: %+v, want the one page load, by carol", av)
	}

	// The dashboard shows the same: the site's chart and totals, the app's
	// sessions, and both in the most used list.
	page := pubDo(t, "GET", n.URL+"/__dashboard__/content/"+site, admin, "", nil)
	pubWant(t, "site page", page, 200)
	if b := string(page.Body); !strings.Contains(b, `<strong id="usage-visits">3</strong> visits`) || !strings.Contains(b, `class="usage-chart"`) ||
		strings.Contains(b, `id="usage-sessions"`) {
		t.Fatalf("site page's usage section:\n%s", b)
	}
	page = pubDo(t, "GET", n.URL+"/__dashboard__/content/"+shiny, admin, "", nil)
	pubWant(t, "app page", page, 200)
	if b := string(page.Body); !strings.Contains(b, `<strong id="usage-visits">1</strong> visits, <strong id="usage-sessions">1</strong> app sessions`) {
		t.Fatalf("app page's usage section:\n%s", b)
	}
	list := pubDo(t, "GET", n.URL+"/__dashboard__/", admin, "", nil)
	pubWant(t, "content list", list, 200)
	b := string(list.Body)
	top, _, _ := strings.Cut(b[strings.Index(b, `id="top-usage"`)+1:], "</section>")
	if !strings.Contains(b, `id="top-usage"`) || !strings.Contains(top, site) || !strings.Contains(top, shiny) || strings.Index(top, site) > strings.Index(top, shiny) {
		t.Fatalf("most used list: want the site (3 visits) before the app (2 records):\n%s", top)
	}
}
