package integration

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/podiumhq/podium/dbprovider/pgtest"
	"github.com/podiumhq/podium/internal/nodetest"
	"github.com/podiumhq/podium/internal/testutil"
	"github.com/podiumhq/podium/metrics"
	"github.com/podiumhq/podium/schema"
)

// scrape returns the samples of a Prometheus text exposition, by series
// ("name{labels}" as printed) and value.
func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape: %s", resp.Status)
	}
	if resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("scrape: X-Content-Type-Options %q, want nosniff (on every answer Podium writes)", resp.Header.Get("X-Content-Type-Options"))
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("scrape: bad line %q", line)
		}
		out[line[:i]] = v
	}
	return out
}

// memTotal returns MemTotal of /proc/meminfo in bytes.
func memTotal(t *testing.T) float64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			kb, _ := strconv.ParseFloat(strings.Fields(rest)[0], 64)
			return kb * 1024
		}
	}
	t.Fatal("no MemTotal")
	return 0
}

// TestMetricsPrometheusAndStore: a node serves its figures on [Metrics]
// PrometheusListen under conventional names, counts HTTP requests by
// route and status, and keeps a history in its round-robin store.
func TestMetricsPrometheusAndStore(t *testing.T) {
	t.Parallel()
	bin := nodetest.Binary(t)
	prom := fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t))
	n := nodetest.StartNode(t, nodetest.Options{Binary: bin,
		Config: "[Metrics]\nInterval = 200ms\nPrometheusListen = " + prom + "\n[HA]\nHeartbeatInterval = 200ms\n"})
	for range 3 {
		if _, err := http.Get(n.URL + "/no/such/page"); err != nil {
			t.Fatal(err)
		}
	}
	var m map[string]float64
	testutil.WaitFor(t, 20*time.Second, "host figures sampled", func() bool {
		m = scrape(t, "http://"+prom+"/metrics")
		_, ok := m["podium_host_cpu_busy_percent"]
		return ok
	})
	latest := float64(schema.Latest())
	want := map[string]func(float64) bool{
		`podium_schema_version{source="binary"}`:                                  func(v float64) bool { return v == latest },
		`podium_schema_version{source="database"}`:                                func(v float64) bool { return v == latest },
		`podium_http_requests_total{method="GET",route="/__ping__",status="200"}`: func(v float64) bool { return v >= 1 },
		`podium_http_requests_total{method="GET",route="other",status="404"}`:     func(v float64) bool { return v == 3 },
		`podium_host_memory_total_bytes`:                                          func(v float64) bool { return v == memTotal(t) },
		`podium_node_heartbeat_age_seconds`:                                       func(v float64) bool { return v >= 0 && v < 5 },
		`podium_clock_offset_seconds`:                                             func(v float64) bool { return v > -1 && v < 1 },
		`podium_jobs_running`:                                                     func(v float64) bool { return v == 0 },
		`podium_job_queue_depth`:                                                  func(v float64) bool { return v == 0 },
		`podium_job_oldest_waiting_seconds`:                                       func(v float64) bool { return v == 0 },
		`podium_jobs_reclaimed_total`:                                             func(v float64) bool { return v == 0 },
		`podium_host_load_average{period="1m"}`:                                   func(v float64) bool { return v >= 0 },
	}
	for name, ok := range want {
		v, found := m[name]
		if !found || !ok(v) {
			t.Errorf("%s = %v (found %t): unexpected", name, v, found)
		}
	}
	if v := m[`podium_http_request_duration_seconds_count{route="/__ping__"}`]; v < 1 {
		t.Errorf("no /__ping__ duration observed")
	}

	// The store under DataPath ({StateDir}/metrics) holds the history the
	// dashboard charts, read through the same Go API.
	dir := filepath.Join(n.StateDir, "metrics")
	store, err := metrics.OpenStore(dir, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var pts []metrics.Point
	testutil.WaitFor(t, 20*time.Second, "two samples stored", func() bool {
		pts, err = store.Series(metrics.SeriesMemTotal, time.Now().Add(-time.Minute), time.Now().Add(time.Minute))
		return err == nil && len(pts) >= 2
	})
	// Older ranges come from the hourly averages: one point.
	hourly, err := store.Series(metrics.SeriesMemTotal, time.Now().Add(-2*time.Hour), time.Now().Add(time.Minute))
	if err != nil || len(hourly) != 1 || hourly[0].Value != memTotal(t) {
		t.Errorf("hourly series = %v (%v), want one point at MemTotal", hourly, err)
	}
	if pts[len(pts)-1].Value != memTotal(t) {
		t.Errorf("stored %s = %v, want %v", metrics.SeriesMemTotal, pts[len(pts)-1].Value, memTotal(t))
	}
	rec, err := metrics.ReadClaim(dir)
	if err != nil || rec.NodeID != nodeID(t, n) {
		t.Errorf("claim.json = %+v (%v), want the node's id", rec, err)
	}
}

// TestMetricsDataPathClaim: a node refuses to start (exit 2) on a
// [Metrics] DataPath that a live node holds, naming it: through the flock,
// and, as on NFS where flocks are unreliable, through claim.json and the
// registry.
func TestMetricsDataPathClaim(t *testing.T) {
	t.Parallel()
	url := pgtest.NewDatabase(t)
	data := t.TempDir()
	bin := nodetest.Binary(t)
	shared := t.TempDir()
	n1 := nodetest.StartNode(t, nodetest.Options{Binary: bin, Name: "node1", Postgres: url, DataDir: data,
		Config: "[Metrics]\nDataPath = " + shared + "\n"})
	id1 := nodeID(t, n1)

	n2 := nodetest.Start(t, nodetest.Options{Binary: bin, Name: "node2", Postgres: url, DataDir: data,
		Config: "[Metrics]\nDataPath = " + shared + "\n"})
	code, err := n2.Wait(testutil.Timeout(30 * time.Second))
	if err != nil || code != 2 {
		t.Fatalf("node2 on node1's DataPath: exit %d (%v), want 2", code, err)
	}
	if log := n2.Log(); !strings.Contains(log, "is held by node "+id1) {
		t.Errorf("node2's refusal does not name %s:\n%s", id1, log)
	}

	// NFS: no flock held here, but claim.json names live node1.
	nfs := t.TempDir()
	b, _ := json.Marshal(metrics.ClaimRecord{NodeID: id1, Host: "other-host", PID: 1, ClaimedAt: time.Now()})
	if err := os.WriteFile(filepath.Join(nfs, metrics.ClaimFile), b, 0o640); err != nil {
		t.Fatal(err)
	}
	n3 := nodetest.Start(t, nodetest.Options{Binary: bin, Name: "node3", Postgres: url, DataDir: data,
		Config: "[Metrics]\nDataPath = " + nfs + "\n"})
	code, err = n3.Wait(testutil.Timeout(30 * time.Second))
	if err != nil || code != 2 {
		t.Fatalf("node3 on a DataPath claimed by live node1: exit %d (%v), want 2", code, err)
	}
	if log := n3.Log(); !strings.Contains(log, "is held by node "+id1+" (host other-host") {
		t.Errorf("node3's refusal does not name %s:\n%s", id1, log)
	}

	// Once node1 is stopped, its claim no longer holds.
	n1.Stop(t)
	nodetest.StartNode(t, nodetest.Options{Binary: bin, Name: "node4", Postgres: url, DataDir: data,
		Config: "[Metrics]\nDataPath = " + nfs + "\n"})
}

// TestMetricsGraphite: with Graphite enabled, the node sends its figures
// in Carbon plaintext as <GraphiteClientId>.<host>.<metric> to a real
// carbon-cache; the receiver starts after the node, so the sender's
// reconnection is exercised too. The values are read back from whisper.
func TestMetricsGraphite(t *testing.T) {
	t.Parallel()
	bin := nodetest.Binary(t)
	dir := t.TempDir()
	port := testutil.FreePort(t)
	n := nodetest.StartNode(t, nodetest.Options{Binary: bin, Config: fmt.Sprintf(
		"[Metrics]\nInterval = 200ms\nGraphiteEnabled = true\nGraphiteHost = 127.0.0.1\nGraphitePort = %d\nGraphiteClientId = ptest\n", port)})
	n.WaitLog(t, 20*time.Second, "graphite unreachable")

	startCarbon(t, dir, port)
	host, _ := os.Hostname()
	wsp := filepath.Join(dir, "storage", "whisper", "ptest", strings.ReplaceAll(metrics.SanitizeName(host), ".", "_"), "memory", "total_bytes.wsp")
	want := memTotal(t)
	var last string
	testutil.WaitFor(t, 30*time.Second, "carbon stores memory.total_bytes", func() bool {
		out, err := exec.Command("whisper-fetch", "--from="+strconv.FormatInt(time.Now().Add(-10*time.Minute).Unix(), 10), wsp).Output()
		if err != nil {
			return false
		}
		for _, line := range strings.Split(string(out), "\n") {
			f := strings.Fields(line)
			if len(f) == 2 && f[1] != "None" {
				last = f[1]
				if v, _ := strconv.ParseFloat(f[1], 64); v == want {
					return true
				}
			}
		}
		return false
	})
	if last == "" {
		t.Fatalf("no value in %s", wsp)
	}
	n.WaitLog(t, 10*time.Second, "graphite reachable again")
}

// startCarbon runs carbon-cache in the foreground on 127.0.0.1:port (and
// free ports for its other listeners), storing in dir/storage/whisper at
// 1 s resolution.
func startCarbon(t *testing.T, dir string, port int) {
	t.Helper()
	conf := fmt.Sprintf(`[cache]
STORAGE_DIR = %[1]s/storage
LOCAL_DATA_DIR = %[1]s/storage/whisper
WHITELISTS_DIR = %[1]s/storage/lists
CONF_DIR = %[1]s
LOG_DIR = %[1]s/log
PID_DIR = %[1]s
ENABLE_LOGROTATION = False
ENABLE_TAGS = False
USER =
MAX_CACHE_SIZE = inf
MAX_UPDATES_PER_SECOND = 1000
MAX_CREATES_PER_MINUTE = inf
LINE_RECEIVER_INTERFACE = 127.0.0.1
LINE_RECEIVER_PORT = %[2]d
ENABLE_UDP_LISTENER = False
PICKLE_RECEIVER_INTERFACE = 127.0.0.1
PICKLE_RECEIVER_PORT = %[3]d
CACHE_QUERY_INTERFACE = 127.0.0.1
CACHE_QUERY_PORT = %[4]d
`, dir, port, testutil.FreePort(t), testutil.FreePort(t))
	for _, d := range []string{"storage/whisper", "log"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o750); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "carbon.conf"), []byte(conf), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "storage-schemas.conf"), []byte("[default]\npattern = .*\nretentions = 1s:1h\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("carbon-cache", "--config="+filepath.Join(dir, "carbon.conf"), "--nodaemon", "start")
	log, err := os.Create(filepath.Join(dir, "carbon.out"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatalf("carbon-cache: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		log.Close()
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(dir, "carbon.out"))
			t.Logf("carbon-cache output:\n%s", b)
		}
	})
}
