package integration

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/podiumhq/podium/bundle"
	"github.com/podiumhq/podium/dbprovider/pgtest"
	"github.com/podiumhq/podium/internal/nodetest"
	"github.com/podiumhq/podium/internal/testutil"
)

// Soak phases, from the start of the load. make bench-soak runs the whole
// schedule once: about two minutes of load plus set-up and checks.
const (
	soakWorkers   = 6
	soakKillAt    = 15 * time.Second // SIGKILL n2
	soakRestartAt = 25 * time.Second // start n2 again
	soakStopAt    = 40 * time.Second // SIGSTOP n3
	soakContAt    = 55 * time.Second // SIGCONT n3
	soakPGStopAt  = 70 * time.Second // stop PostgreSQL (fast)
	soakPGStartAt = 75 * time.Second // start it again
	soakEnd       = 100 * time.Second
	soakTimeout   = 30 * time.Second // one client request
	soakHostile   = 200              // stalled and idle connections to n1
)

// BenchmarkSoak runs three nodes on one PostgreSQL behind HAProxy under a
// client load (reads, logins, deployments through the API with task
// polling) while one node is SIGKILLed and restarted, one is SIGSTOPped
// and SIGCONTed and PostgreSQL is restarted. It prints the requests, the
// errors by kind, latency percentiles per operation, goroutines, threads
// and RSS of each node at the start and at the end (a leak shows), and the
// acknowledged deployments lost (goal 0: every deployment whose task the
// API reported finished must be live at the end). make bench-soak runs it.
func BenchmarkSoak(b *testing.B) {
	for range b.N {
		runSoak(b)
	}
}

// soakNode is one node and its Prometheus port.
type soakNode struct {
	*nodetest.Node
	prom int
}

func runSoak(b *testing.B) {
	cluster := pgtest.StartCluster(b)
	pg := cluster.CreateDatabase(b, "soak")
	data := sharedDataDir(b)
	bin := nodetest.Binary(b)
	nodes := make([]*soakNode, 3)
	for i := range nodes {
		prom := testutil.FreePort(b)
		cfg := fmt.Sprintf("[HA]\nHeartbeatInterval = 1s\nNodeTimeout = 6s\n[Applications]\nRunAs = nobody\nJobHeartbeatTimeout = 6s\n"+
			"[HTTP]\nIdleTimeout = 20s\nReadHeaderTimeout = 10s\n"+
			"[Metrics]\nPrometheusListen = 127.0.0.1:%d\nInterval = 5s\n", prom)
		nodes[i] = &soakNode{nodetest.StartNode(b, nodetest.Options{Binary: bin, Name: fmt.Sprintf("n%d", i+1), Postgres: pg, DataDir: data, Config: cfg}), prom}
	}
	plain := make([]*nodetest.Node, len(nodes))
	for i, n := range nodes {
		plain[i] = n.Node
	}
	lb := startHAProxy(b, plain)
	admin := userKey(b, plain[0], "admin", "admin")
	for i := range soakWorkers {
		r := soakCall(http.DefaultClient, "POST", lb.URL+"/__api__/v1/users", admin, "application/json",
			[]byte(fmt.Sprintf(`{"username": "reader%d", "role": "viewer", "password": "soak-password-%d"}`, i, i)))
		if r.status != 201 {
			b.Fatalf("create reader%d: %d %s", i, r.status, r.body)
		}
	}
	// One content everyone reads.
	site := b.TempDir()
	if err := soakSite(site, "soak"); err != nil {
		b.Fatal(err)
	}
	stdout, stderr, code := nodetest.Run(b, bin, []string{"PODIUM_SERVER=" + lb.URL, "PODIUM_API_KEY=" + admin}, "deploy", site, "--name", "soak-read")
	if code != 0 {
		b.Fatalf("deploy the read content: %d %s", code, stderr)
	}
	_, page, ok := strings.Cut(strings.TrimSpace(stdout), "/content/")
	if !ok {
		b.Fatalf("podium deploy printed %q, want the content URL", stdout)
	}
	page = "/content/" + page

	before := soakSample(nodes)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	start := time.Now()
	st := &soakStats{start: start, lat: map[string][]time.Duration{}, errs: map[string]int{}, byPhase: map[string]int{}}
	for w := range soakWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			soakWorker(w, lb.URL, admin, page, st, stop)
		}()
	}

	// Hostile connections to n1: headers that never end, and idle
	// keep-alives. The node must close every one of them (goroutines and
	// fds back to where they were).
	var hostile hostileConns
	hostile.open(strings.TrimPrefix(nodes[0].URL, "http://"), soakHostile)
	defer func() {
		for _, c := range hostile.conns {
			c.Close()
		}
	}()

	// The faults, on this goroutine (the harness fails the benchmark
	// from here only).
	at := func(d time.Duration, what string, f func()) {
		time.Sleep(time.Until(start.Add(d)))
		b.Logf("%6s  %s", time.Since(start).Round(time.Second), what)
		f()
	}
	n2, n3 := nodes[1], nodes[2]
	at(soakKillAt, "SIGKILL n2", func() { n2.Kill(b) })
	at(soakRestartAt, "restart n2", func() {
		n2.Node = nodetest.Start(b, n2.Opts)
		n2.WaitReady(b, 60*time.Second)
	})
	at(soakStopAt, "SIGSTOP n3", func() { _ = n3.Signal(syscall.SIGSTOP) })
	at(soakContAt, "SIGCONT n3", func() { _ = n3.Signal(syscall.SIGCONT) })
	at(soakPGStopAt, "stop PostgreSQL", func() { cluster.Stop(b) })
	at(soakPGStartAt, "start PostgreSQL", func() { cluster.Start(b) })
	at(soakEnd, "stop the load", func() { close(stop) })
	wg.Wait()
	elapsed := time.Since(start)
	for _, n := range nodes {
		n.WaitReady(b, 60*time.Second)
	}
	time.Sleep(5 * time.Second) // let keep-alives and finished tasks settle
	after := soakSample(nodes)

	// Every acknowledged deployment must be live: its bundle active, its
	// page serving its marker.
	lost := 0
	for _, d := range st.acked {
		r := soakCall(http.DefaultClient, "GET", lb.URL+"/__api__/v1/content/"+d.guid, admin, "", nil)
		var ct struct {
			ActiveBundleID *int64 `json:"bundle_id"`
		}
		_ = json.Unmarshal(r.body, &ct)
		page := soakCall(http.DefaultClient, "GET", lb.URL+"/content/"+d.guid+"/", admin, "", nil)
		if r.status != 200 || ct.ActiveBundleID == nil || *ct.ActiveBundleID != d.bundle || !bytes.Contains(page.body, []byte(d.marker)) {
			lost++
			b.Logf("lost: content %s bundle %d: content %d %s, page %d", d.guid, d.bundle, r.status, r.body, page.status)
		}
	}
	st.report(b, elapsed, before, after, lost, &hostile)
	if lost > 0 {
		b.Errorf("%d acknowledged deployment(s) lost", lost)
	}
}

// soakDeploy is an acknowledged deployment.
type soakDeploy struct {
	guid   string
	bundle int64
	marker string
}

type soakStats struct {
	mu       sync.Mutex
	start    time.Time
	requests int
	lat      map[string][]time.Duration
	errs     map[string]int
	byPhase  map[string]int
	acked    []soakDeploy
	stuck    int
}

// soakPhase names the fault phase at d after the start of the load.
func soakPhase(d time.Duration) string {
	switch {
	case d < soakKillAt:
		return "0 steady"
	case d < soakRestartAt:
		return "1 n2 killed"
	case d < soakStopAt:
		return "2 n2 restarted"
	case d < soakContAt:
		return "3 n3 stopped"
	case d < soakPGStopAt:
		return "4 n3 continued"
	case d < soakPGStartAt:
		return "5 PostgreSQL stopped"
	default:
		return "6 PostgreSQL back"
	}
}

// record tallies one request; it reports whether it succeeded. A failed
// request costs the worker a short pause, as a real client's retry would,
// so that instant errors do not flood the figures.
func (s *soakStats) record(op string, r soakResult) bool {
	s.mu.Lock()
	s.requests++
	s.lat[op] = append(s.lat[op], r.took)
	kind := ""
	switch {
	case r.err != nil:
		kind = r.kind()
	case r.status == http.StatusServiceUnavailable && !bytes.Contains(r.body, []byte(`"code"`)):
		kind = "HTTP 503 from HAProxy (no node up)"
	case r.status >= 400:
		kind = fmt.Sprintf("HTTP %d", r.status)
	}
	if kind != "" {
		s.errs[op+": "+kind]++
		s.byPhase[soakPhase(time.Since(s.start))]++
	}
	s.mu.Unlock()
	if kind != "" {
		time.Sleep(100 * time.Millisecond)
	}
	return kind == ""
}

type soakResult struct {
	status int
	body   []byte
	err    error
	took   time.Duration
}

// kind names a transport error for the tally.
func (r soakResult) kind() string {
	var ne net.Error
	switch {
	case errors.As(r.err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(r.err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(r.err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(r.err, io.EOF), errors.Is(r.err, io.ErrUnexpectedEOF):
		return "connection closed"
	}
	return "transport error"
}

func soakCall(hc *http.Client, method, u, key, ctype string, body []byte) soakResult {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		return soakResult{err: err}
	}
	if key != "" {
		req.Header.Set("Authorization", "Key "+key)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	start := time.Now()
	res, err := hc.Do(req)
	if err != nil {
		return soakResult{err: err, took: time.Since(start)}
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return soakResult{status: res.StatusCode, body: b, err: err, took: time.Since(start)}
}

// soakWorker loops over the mix until stop: reads of the content list and
// a page, a login, and every fourth round a deployment (create, upload,
// deploy, poll the task).
func soakWorker(w int, base, admin, page string, st *soakStats, stop <-chan struct{}) {
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Timeout: soakTimeout, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for round := 0; ; round++ {
		select {
		case <-stop:
			return
		default:
		}
		st.record("list", soakCall(hc, "GET", base+"/__api__/v1/content", admin, "", nil))
		st.record("page", soakCall(hc, "GET", base+page, admin, "", nil))
		soakLogin(hc, base, w, st)
		if round%4 == 0 {
			soakDeployOnce(hc, base, admin, fmt.Sprintf("soak-%d-%d", w, round), st, stop)
		}
	}
}

// soakLogin logs in through the form (login CSRF token from the cookie).
func soakLogin(hc *http.Client, base string, w int, st *soakStats) {
	r := soakCall(hc, "GET", base+"/__login__", "", "", nil)
	if !st.record("login", r) {
		return
	}
	u, _ := url.Parse(base + "/__login__")
	var token string
	for _, c := range hc.Jar.Cookies(u) {
		if c.Name == "podium_login_csrf" {
			token = c.Value
		}
	}
	form := url.Values{"username": {fmt.Sprintf("reader%d", w)}, "password": {fmt.Sprintf("soak-password-%d", w)}, "login_csrf": {token}}
	r = soakCall(hc, "POST", base+"/__login__", "", "application/x-www-form-urlencoded", []byte(form.Encode()))
	if r.err == nil && r.status == http.StatusSeeOther {
		r.status = 200
	}
	st.record("login", r)
}

func soakDeployOnce(hc *http.Client, base, admin, name string, st *soakStats, stop <-chan struct{}) {
	r := soakCall(hc, "POST", base+"/__api__/v1/content", admin, "application/json", []byte(`{"name": "`+name+`"}`))
	if !st.record("deploy", r) {
		return
	}
	var ct struct{ GUID string }
	_ = json.Unmarshal(r.body, &ct)
	marker := "marker-" + name
	bundle := soakBundle(marker)
	r = soakCall(hc, "POST", base+"/__api__/v1/content/"+ct.GUID+"/bundles", admin, "application/gzip", bundle)
	if !st.record("deploy", r) {
		return
	}
	var bd struct{ ID int64 }
	_ = json.Unmarshal(r.body, &bd)
	r = soakCall(hc, "POST", base+"/__api__/v1/content/"+ct.GUID+"/deploy", admin, "application/json", []byte(fmt.Sprintf(`{"bundle_id": %d}`, bd.ID)))
	if !st.record("deploy", r) {
		return
	}
	var task struct {
		TaskID string `json:"task_id"`
	}
	_ = json.Unmarshal(r.body, &task)
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		r = soakCall(hc, "GET", base+"/__api__/v1/tasks/"+task.TaskID, admin, "", nil)
		if !st.record("task poll", r) {
			continue
		}
		var tb struct {
			Finished bool
			Code     int
			Error    string
		}
		_ = json.Unmarshal(r.body, &tb)
		if !tb.Finished {
			continue
		}
		st.mu.Lock()
		if tb.Code == 0 {
			st.acked = append(st.acked, soakDeploy{guid: ct.GUID, bundle: bd.ID, marker: marker})
		} else {
			st.errs["deploy: task failed: "+firstWords(tb.Error, 8)]++
		}
		st.mu.Unlock()
		return
	}
	st.mu.Lock()
	st.stuck++
	st.errs["deploy: task not finished after 60s"]++
	st.mu.Unlock()
}

func firstWords(s string, n int) string {
	f := strings.Fields(s)
	if len(f) > n {
		f = f[:n]
	}
	return strings.Join(f, " ")
}

// soakSite writes a static site whose page holds marker into dir.
func soakSite(dir, marker string) error {
	if err := os.WriteFile(filepath.Join(dir, "manifest.json"), []byte(`{"version": 1, "metadata": {"appmode": "static"}}`), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "index.html"), []byte("<p>"+marker+"</p>"), 0o644)
}

// soakBundle packs a small static site whose page holds marker.
func soakBundle(marker string) []byte {
	dir, err := os.MkdirTemp("", "podium-soak-")
	if err != nil {
		return nil
	}
	defer os.RemoveAll(dir)
	var buf bytes.Buffer
	if soakSite(dir, marker) != nil {
		return nil
	}
	if _, err := bundle.Pack(context.Background(), dir, &buf); err != nil {
		return nil
	}
	return buf.Bytes()
}

// nodeFigures are one node's resource figures.
type nodeFigures struct {
	goroutines, threads int
	rssKiB, heapBytes   int64
	fds                 int
}

func soakSample(nodes []*soakNode) []nodeFigures {
	out := make([]nodeFigures, len(nodes))
	for i, n := range nodes {
		f := &out[i]
		f.goroutines = -1
		if res, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", n.prom)); err == nil {
			sc := bufio.NewScanner(res.Body)
			for sc.Scan() {
				if v, ok := strings.CutPrefix(sc.Text(), "go_goroutines "); ok {
					f.goroutines, _ = strconv.Atoi(strings.TrimSpace(v))
				}
				if v, ok := strings.CutPrefix(sc.Text(), "go_memstats_heap_inuse_bytes "); ok {
					h, _ := strconv.ParseFloat(strings.TrimSpace(v), 64)
					f.heapBytes = int64(h)
				}
			}
			res.Body.Close()
		}
		pid := n.Cmd.Process.Pid
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid)); err == nil {
			for _, line := range strings.Split(string(b), "\n") {
				k, v, _ := strings.Cut(line, ":")
				fs := strings.Fields(v)
				if len(fs) == 0 {
					continue
				}
				switch k {
				case "Threads":
					f.threads, _ = strconv.Atoi(fs[0])
				case "VmRSS":
					f.rssKiB, _ = strconv.ParseInt(fs[0], 10, 64)
				}
			}
		}
		if ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid)); err == nil {
			f.fds = len(ents)
		}
	}
	return out
}

func (s *soakStats) report(b *testing.B, elapsed time.Duration, before, after []nodeFigures, lost int, hostile *hostileConns) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var w strings.Builder
	errTotal := 0
	for _, n := range s.errs {
		errTotal += n
	}
	fmt.Fprintf(&w, "\nsoak: %d requests in %s (%.0f/s), %d errors (%.2f%%)\n", s.requests, elapsed.Round(time.Second),
		float64(s.requests)/elapsed.Seconds(), errTotal, 100*float64(errTotal)/float64(max(1, s.requests)))
	var all []time.Duration
	ops := make([]string, 0, len(s.lat))
	for op := range s.lat {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	fmt.Fprintf(&w, "%-10s %8s %9s %9s %9s\n", "operation", "requests", "p50", "p99", "max")
	for _, op := range ops {
		l := s.lat[op]
		all = append(all, l...)
		p50, p99, mx := percentiles(l)
		fmt.Fprintf(&w, "%-10s %8d %9s %9s %9s\n", op, len(l), p50, p99, mx)
	}
	p50, p99, mx := percentiles(all)
	fmt.Fprintf(&w, "%-10s %8d %9s %9s %9s\n", "all", len(all), p50, p99, mx)
	keys := make([]string, 0, len(s.errs))
	for k := range s.errs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fmt.Fprintf(&w, "errors by kind:\n")
	for _, k := range keys {
		fmt.Fprintf(&w, "  %5d  %s\n", s.errs[k], k)
	}
	phases := make([]string, 0, len(s.byPhase))
	for k := range s.byPhase {
		phases = append(phases, k)
	}
	sort.Strings(phases)
	fmt.Fprintf(&w, "errors by phase:\n")
	for _, k := range phases {
		fmt.Fprintf(&w, "  %5d  %s\n", s.byPhase[k], k[2:])
	}
	fmt.Fprintf(&w, "nodes (start -> end; n2 is a new process after its restart): goroutines, threads, RSS, Go heap in use, open fds\n")
	for i := range before {
		x, y := before[i], after[i]
		fmt.Fprintf(&w, "  n%d  goroutines %4d -> %4d   threads %3d -> %3d   RSS %6.1f -> %6.1f MiB   heap %5.1f -> %5.1f MiB   fds %4d -> %4d\n", i+1,
			x.goroutines, y.goroutines, x.threads, y.threads, float64(x.rssKiB)/1024, float64(y.rssKiB)/1024,
			float64(x.heapBytes)/(1<<20), float64(y.heapBytes)/(1<<20), x.fds, y.fds)
	}
	fmt.Fprintf(&w, "hostile connections to n1 (stalled headers, idle keep-alives): %d opened, %d closed by the node, %d still open\n",
		hostile.opened.Load(), hostile.closed.Load(), hostile.opened.Load()-hostile.closed.Load())
	fmt.Fprintf(&w, "deployments acknowledged: %d, lost: %d, tasks never finished: %d\n", len(s.acked), lost, s.stuck)
	b.Log(w.String())
	fmt.Print(w.String())
	b.ReportMetric(float64(lost), "lost-deploys")
	b.ReportMetric(float64(p99.Milliseconds()), "p99-ms")
}

func percentiles(l []time.Duration) (p50, p99, mx time.Duration) {
	if len(l) == 0 {
		return 0, 0, 0
	}
	s := append([]time.Duration(nil), l...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	at := func(p float64) time.Duration { return s[min(len(s)-1, int(p*float64(len(s))))].Round(time.Millisecond) }
	return at(0.50), at(0.99), s[len(s)-1].Round(time.Millisecond)
}

// hostileConns are connections that hold a node's resources without
// finishing a request: half of them send headers that never end, half
// finish one request and then idle on keep-alive.
type hostileConns struct {
	opened, closed atomic.Int64
	conns          []net.Conn
}

func (h *hostileConns) open(addr string, n int) {
	for i := range n {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			continue
		}
		h.opened.Add(1)
		h.conns = append(h.conns, c)
		if i%2 == 0 {
			_, _ = io.WriteString(c, "GET /__ping__ HTTP/1.1\r\nHost: soak\r\nX-Slow: ")
		} else {
			_, _ = io.WriteString(c, "GET /__ping__ HTTP/1.1\r\nHost: soak\r\n\r\n")
		}
		go func() {
			// Read (and drop) whatever comes until the node closes it.
			_, _ = io.Copy(io.Discard, c)
			h.closed.Add(1)
		}()
	}
}
