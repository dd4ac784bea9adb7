package integration

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/podiumhq/podium/bundle"
	"github.com/podiumhq/podium/internal/nodetest"
	"github.com/podiumhq/podium/internal/testutil"
	"github.com/podiumhq/podium/metrics"
)

// TestMetricsAppEvents: a process that crashes, one that never listens
// within InitTimeout, and the requests they could not serve show in the
// node's Prometheus metrics (per content item) and in its store (totals).
func TestMetricsAppEvents(t *testing.T) {
	t.Parallel()
	prom := fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t))
	n := nodetest.StartNode(t, nodetest.Options{DataDir: sharedDataDir(t), Config: "[Metrics]\nInterval = 200ms\nPrometheusListen = " + prom +
		"\n[Applications]\nRunAs = nobody\n[Scheduler]\nInitTimeout = 2s\n"})
	bin := nodetest.Binary(t)
	nodetest.Run(t, bin, nil, "users", "create", "--config", n.ConfigPath, "--username", "ops", "--role", "publisher", "--no-password")
	key, _, _ := nodetest.Run(t, bin, nil, "keys", "create", "--config", n.ConfigPath, "--username", "ops")
	api := &apiClient{t: t, base: n.URL, key: strings.TrimSpace(key)}

	get := func(url string) int {
		t.Helper()
		res, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	scrapeFor := func(what string, ok func(m map[string]float64) bool) map[string]float64 {
		t.Helper()
		var m map[string]float64
		testutil.WaitFor(t, 20*time.Second, what, func() bool {
			m = scrape(t, "http://"+prom+"/metrics")
			return ok(m)
		})
		return m
	}

	// An app that answers, then crashes on /crash.
	app := deployApp(t, api, "crashy", echoBundleDir(t))
	base := n.URL + "/content/" + app + "/"
	if code := get(base); code != 200 {
		t.Fatalf("GET app: %d", code)
	}
	series := func(name, guid string, labels ...string) string {
		l := `content_guid="` + guid + `"`
		for _, x := range labels {
			l += "," + x
		}
		return name + "{" + l + "}"
	}
	scrapeFor("the app's process and request counted", func(m map[string]float64) bool {
		return m[series("podium_app_processes", app)] == 1 &&
			m[series("podium_app_process_events_total", app, `event="started"`)] == 1 &&
			m[series("podium_app_requests_total", app)] >= 1
	})
	if code := get(base + "crash"); code != http.StatusBadGateway {
		t.Errorf("GET crash: %d, want 502 (the process died mid-request)", code)
	}
	m := scrapeFor("the crash counted", func(m map[string]float64) bool {
		return m[series("podium_app_process_events_total", app, `event="crashed"`)] == 1
	})
	if v := m[series("podium_app_requests_rejected_total", app)]; v < 1 {
		t.Errorf("rejected requests = %v, want >= 1 (the 502)", v)
	}
	if v := m[series("podium_app_process_events_total", app, `event="failed"`)]; v != 0 {
		t.Errorf("failed = %v for an app that listened, want 0", v)
	}

	// An app that never listens: its start fails after InitTimeout and the
	// request gets a 503 page.
	dir := t.TempDir()
	exe, err := os.ReadFile(filepath.Join(echoBundleDir(t), "echoapp"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "echoapp"), exe, 0o755); err != nil {
		t.Fatal(err)
	}
	manifest := `{"version": 1, "metadata": {"appmode": "app"}, "serve": {"command": ["./echoapp", "--no-listen"]}}`
	if err := os.WriteFile(filepath.Join(dir, bundle.ManifestName), []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	mute := deployApp(t, api, "mute", dir)
	if code := get(n.URL + "/content/" + mute + "/"); code != http.StatusServiceUnavailable {
		t.Errorf("GET an app that never listens: %d, want 503", code)
	}
	m = scrapeFor("the failed start counted", func(m map[string]float64) bool {
		return m[series("podium_app_process_events_total", mute, `event="failed"`)] >= 1
	})
	if v := m[series("podium_app_requests_rejected_total", mute)]; v < 1 {
		t.Errorf("rejected requests of the mute app = %v, want >= 1 (the 503)", v)
	}

	// The store keeps the totals over the node's apps.
	store, err := metrics.OpenStore(filepath.Join(n.StateDir, "metrics"), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	last := func(name string) float64 {
		pts, err := store.Series(name, time.Now().Add(-time.Minute), time.Now().Add(time.Minute))
		if err != nil || len(pts) == 0 {
			return -1
		}
		return pts[len(pts)-1].Value
	}
	testutil.WaitFor(t, 20*time.Second, "the store's app totals", func() bool {
		return last(metrics.SeriesAppCrashed) == 1 && last(metrics.SeriesAppFailed) >= 1 && last(metrics.SeriesAppRejected) >= 2
	})
}
