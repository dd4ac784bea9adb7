package integration

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/podiumhq/podium/dbprovider/pgtest"
	"github.com/podiumhq/podium/internal/nodetest"
	"github.com/podiumhq/podium/internal/testutil"
	"github.com/podiumhq/podium/runtimes/rlang"
)

// shinyReconnectApp is a Shiny app whose page shows twice its input n and
// its session's token; allowReconnect is its session$allowReconnect line.
func shinyReconnectApp(allowReconnect string) string {
	return `library(shiny)
ui <- fluidPage(numericInput("n", "n", 1), textOutput("out"))
server <- function(input, output, session) {
  ` + allowReconnect + `
  output$out <- renderText(paste0("double:", input$n * 2, " token:", session$token))
}
shinyApp(ui, server)
`
}

// TestShinyReconnectHA is the reference guide's failure case, for real: a
// headless Chromium opens two R Shiny apps through HAProxy (sticky by its
// cookie) on a two-node PostgreSQL cluster, the node holding their
// sessions is killed, and
//   - the app that calls session$allowReconnect(TRUE) reconnects to the
//     other node and keeps working, with its input restored in a new
//     session;
//   - the app that does not shows Shiny's disconnected overlay and stays
//     so; a reload gets a new session on the healthy node.
//
// The apps run with the Shiny runner's command (package runtimes/rlang),
// given to the supervisor as a Podium manifest's serve.command through
// env(1): the runner's hook into deployments comes with Connect manifests
// (issue 15).
func TestShinyReconnectHA(t *testing.T) {
	t.Parallel()
	pg := pgtest.NewDatabase(t)
	data := sharedDataDir(t)
	cfg := pubConfig + "[Scheduler]\nIdleTimeout = 10m\nInitTimeout = 3m\n"
	nodes := startNodes(t, 2, pg, data, cfg)
	lb := startHAProxy(t, nodes)
	key := pubUser(t, nodes[0], "alice", "publisher")

	deployShiny := func(name, allow string) string {
		t.Helper()
		dir := pubDir(t, map[string]string{"app.R": shinyReconnectApp(allow)})
		c, err := rlang.ServeCommand(&rlang.Spec{AppMode: rlang.ModeShiny}, &rlang.Library{R: rlang.Installation{Path: "/usr/bin/R"}}, dir)
		if err != nil {
			t.Fatal(err)
		}
		argv := append(append([]string{"/usr/bin/env"}, c.Env...), c.Argv...)
		manifest, _ := json.Marshal(map[string]any{"version": 1, "metadata": map[string]any{"appmode": "app"}, "serve": map[string]any{"command": argv}})
		r := pubJSON(t, "POST", nodes[0].URL+"/__api__/v1/content", key, map[string]string{"name": name})
		pubWant(t, "create "+name, r, 201)
		var ct struct{ GUID string }
		r.JSON(t, &ct)
		r = pubDo(t, "POST", nodes[0].URL+"/__api__/v1/content/"+ct.GUID+"/bundles", key, "application/gzip",
			pubBundle(t, map[string]string{"manifest.json": string(manifest), "app.R": shinyReconnectApp(allow)}))
		pubWant(t, "upload "+name, r, 201)
		var b struct{ ID int64 }
		r.JSON(t, &b)
		r = pubJSON(t, "POST", nodes[0].URL+"/__api__/v1/content/"+ct.GUID+"/deploy", key, map[string]any{"bundle_id": b.ID})
		pubWant(t, "deploy "+name, r, 202)
		var started struct {
			TaskID string `json:"task_id"`
		}
		r.JSON(t, &started)
		if task := pubWaitTask(t, nodes[0].URL, key, started.TaskID); task.Code != 0 {
			t.Fatalf("deploy %s: %+v", name, task)
		}
		// Readers need no key.
		r = pubJSON(t, "PATCH", nodes[0].URL+"/__api__/v1/content/"+ct.GUID, key, map[string]string{"access_type": "all"})
		pubWant(t, "open "+name, r, 200)
		return ct.GUID
	}
	reconnecting := deployShiny("shiny_reconnect", "session$allowReconnect(TRUE)")
	plain := deployShiny("shiny_plain", "")

	browser := newBrowser(t)
	tabP, cancelP := chromedp.NewContext(browser)
	t.Cleanup(cancelP)
	// The first Run opens the tab, which lives as long as that call's
	// context: no timeout on it.
	if _, err := chromedp.Run(tabP, chromedp.Steps()); err != nil {
		t.Fatalf("open a second tab: %v", err)
	}

	// read returns the tab's output ("double:… token:…") and whether
	// Shiny's disconnected overlay is up.
	read := func(tab context.Context) (string, bool) {
		v := browserRun(t, tab, "read the page", chromedp.Evaluate[[]any](
			`[(document.getElementById("out")||{}).textContent||"", !!document.getElementById("shiny-disconnected-overlay")]`))
		out, _ := v[0].(string)
		overlay, _ := v[1].(bool)
		return out, overlay
	}
	waitFor := func(tab context.Context, what string, limit time.Duration, cond func(out string, overlay bool) bool) string {
		t.Helper()
		var out string
		last := time.Now()
		testutil.WaitFor(t, limit, what, func() bool {
			var overlay bool
			out, overlay = read(tab)
			if time.Since(last) > 10*time.Second {
				last = time.Now()
				t.Logf("waiting for %s: %q overlay %v", what, out, overlay)
			}
			return cond(out, overlay)
		})
		return out
	}
	token := func(out string) string { _, tok, _ := strings.Cut(out, " token:"); return tok }
	tabs := []struct {
		name string
		tab  context.Context
		guid string
	}{{"reconnecting", browser, reconnecting}, {"plain", tabP, plain}}

	// Both pages open on one node (HAProxy's cookie is the browser's), and
	// their input is set to 7.
	tokens := map[string]string{}
	for _, tb := range tabs {
		browserRun(t, tb.tab, "open "+tb.name, chromedp.Navigate(lb.URL+"/content/"+tb.guid+"/"))
		waitFor(tb.tab, tb.name+" shows its first output", 3*time.Minute, func(out string, _ bool) bool { return strings.HasPrefix(out, "double:2 token:") })
		browserRun(t, tb.tab, "set n", chromedp.Evaluate[any](`$("#n").val(7).trigger("change"), null`))
		tokens[tb.name] = token(waitFor(tb.tab, tb.name+" doubles 7", time.Minute, func(out string, _ bool) bool { return strings.HasPrefix(out, "double:14 token:") }))
	}
	var victim, healthy *nodetest.Node
	for i, n := range nodes {
		if strings.Contains(n.Log(), reconnecting) && strings.Contains(n.Log(), "app process started") {
			victim, healthy = n, nodes[1-i]
		}
	}
	if victim == nil || !strings.Contains(victim.Log(), plain) {
		t.Fatalf("cannot tell which node serves both sessions")
	}

	killed := time.Now()
	victim.Kill(t)

	// allowReconnect(TRUE): the page reconnects to the healthy node, a new
	// session with the input it had.
	out := waitFor(browser, "the reconnecting app is back on the healthy node", 3*time.Minute, func(out string, overlay bool) bool {
		return !overlay && strings.HasPrefix(out, "double:14 token:") && token(out) != tokens["reconnecting"]
	})
	t.Logf("Shiny reconnect after the node's death: %.1fs (the new process's start included)", time.Since(killed).Seconds())
	if !strings.Contains(healthy.Log(), "app process started") {
		t.Fatalf("the healthy node started no app process")
	}
	browserRun(t, browser, "set n again", chromedp.Evaluate[any](`$("#n").val(8).trigger("change"), null`))
	waitFor(browser, "the reconnected app keeps working", time.Minute, func(o string, _ bool) bool { return o == "double:16 token:"+token(out) })

	// Without allowReconnect: the disconnection shows and stays.
	waitFor(tabP, "the plain app shows the disconnect", time.Minute, func(_ string, overlay bool) bool { return overlay })
	time.Sleep(testutil.Timeout(5 * time.Second)) // Shiny would have retried by now if it were going to
	if o, overlay := read(tabP); !overlay || token(o) != tokens["plain"] {
		t.Fatalf("the plain app reconnected by itself: %q overlay %v", o, overlay)
	}
	// A reload gets a new session on the healthy node.
	browserRun(t, tabP, "reload", chromedp.Reload())
	waitFor(tabP, "the reloaded plain app has a new session", 3*time.Minute, func(o string, overlay bool) bool {
		return !overlay && strings.HasPrefix(o, "double:2 token:") && token(o) != tokens["plain"]
	})
}
