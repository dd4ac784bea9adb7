package integration

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/podiumhq/podium/apps"
	"github.com/podiumhq/podium/internal/nodetest"
	"github.com/podiumhq/podium/internal/testutil"
)

// BenchmarkProxy measures the app proxy: an app reached directly on its
// port and through Podium (/content/{guid}/), with the same load generator
// in the same run, against two peers in front of the same process: a bare
// HAProxy, and Go's standard reverse proxy alone (testdata/goproxy), the
// stack Podium's proxy is built on. Each app runs one process (min = max =
// 1), so every path reaches the same process, and takes as many
// connections at once as the benchmark opens (MaxConnsPerProcess), as
// behind HAProxy: no path queues requests.
//
// Two apps: the Go echo app, whose request costs almost nothing (the worst
// case for any proxy: the proxy's own work is most of the total), and a
// Python app on the standard library's threading HTTP server
// (testdata/apps/pyecho), a typical small data app or API.
//
// Small requests: requests/s and p50/p99 latency with PODIUM_BENCH_CONNS
// (default 32) keep-alive connections for PODIUM_BENCH_SECONDS (default 5)
// per path, in PODIUM_BENCH_ROUNDS (default 3) rounds that take the paths
// in turn, so a slow spell of the shared machine hits every path alike.
// Each figure is the median over the rounds; each ratio is the median of
// the rounds' ratios. WebSocket: p50/p99 round trip of 5000 sequential
// messages on one connection to the Go app. Goal: through Podium at least
// 80% of direct throughput and p99 within 1.5x of direct.
//
// The sandbox: the same two apps also run sandboxed on a second node
// (package internal/sandbox: their own network namespace, reached by
// Podium through a socket made in it), and the figure is their throughput
// through Podium against the unsandboxed ones' in the same rounds. Goal:
// within 5%.
//
// More paths measure where the proxy's time goes: a fourth node runs
// without the fast connection loop and its lanes ([HTTP] FastPath =
// false, package internal/fastpath), set against Podium in the same
// rounds; a bare Go proxy (testdata/rawproxy: heads copied as bytes,
// nothing else) is set against HAProxy, the least Go's runtime and network
// poller cost per request; and the same app at the default
// MaxConnsPerProcess (20), where 12 of the 32 requests queue, shows what
// queueing costs.
//
// It also reports the CPU time per request of the generator, the app and
// the proxy on each path. On a small machine the three share the cores, so
// throughput follows total CPU per request: the proxy's own share is the
// figure to compare between versions and against the peers.
func BenchmarkProxy(b *testing.B) {
	conns := envInt("PODIUM_BENCH_CONNS", 32)
	dur := time.Duration(envInt("PODIUM_BENCH_SECONDS", 5)) * time.Second
	rounds := envInt("PODIUM_BENCH_ROUNDS", 3)
	data := sharedDataDir(b)
	// The node whose app processes the peers reach directly runs them
	// without a sandbox (a sandboxed app's port is reachable by its node
	// only); a second node runs the same apps sandboxed, for the figure
	// of the sandbox's cost.
	n := nodetest.StartNode(b, nodetest.Options{DataDir: data, Config: "[Applications]\nRunAs = nobody\nSandbox = off\n"})
	ns := nodetest.StartNode(b, nodetest.Options{DataDir: sharedDataDir(b), Name: "sandboxed", Config: "[Applications]\nRunAs = nobody\n"})
	// A third node is the first without usage recording ([Usage] Enabled
	// = false): the cost of recording (every benchmark request is a
	// visit, the worst case) is the first node's figure against this one's.
	nu := nodetest.StartNode(b, nodetest.Options{DataDir: sharedDataDir(b), Name: "nousage", Config: "[Applications]\nRunAs = nobody\nSandbox = off\n[Usage]\nEnabled = false\n"})
	// A fourth node is the first without the fast connection loop and its
	// lanes ([HTTP] FastPath = false, package internal/fastpath): every
	// request goes through net/http and the handler chain.
	nf := nodetest.StartNode(b, nodetest.Options{DataDir: sharedDataDir(b), Name: "chain", Config: "[Applications]\nRunAs = nobody\nSandbox = off\n[HTTP]\nFastPath = false\n"})
	bin := nodetest.Binary(b)
	nodetest.Run(b, bin, nil, "users", "create", "--config", n.ConfigPath, "--username", "bench", "--role", "publisher", "--no-password")
	key, _, _ := nodetest.Run(b, bin, nil, "keys", "create", "--config", n.ConfigPath, "--username", "bench")
	api := &apiClient{t: b, base: n.URL, key: strings.TrimSpace(key)}
	nodetest.Run(b, bin, nil, "users", "create", "--config", ns.ConfigPath, "--username", "bench", "--role", "publisher", "--no-password")
	skey, _, _ := nodetest.Run(b, bin, nil, "keys", "create", "--config", ns.ConfigPath, "--username", "bench")
	sapi := &apiClient{t: b, base: ns.URL, key: strings.TrimSpace(skey)}
	nodetest.Run(b, bin, nil, "users", "create", "--config", nu.ConfigPath, "--username", "bench", "--role", "publisher", "--no-password")
	ukey, _, _ := nodetest.Run(b, bin, nil, "keys", "create", "--config", nu.ConfigPath, "--username", "bench")
	uapi := &apiClient{t: b, base: nu.URL, key: strings.TrimSpace(ukey)}
	nodetest.Run(b, bin, nil, "users", "create", "--config", nf.ConfigPath, "--username", "bench", "--role", "publisher", "--no-password")
	fkey, _, _ := nodetest.Run(b, bin, nil, "keys", "create", "--config", nf.ConfigPath, "--username", "bench")
	fapi := &apiClient{t: b, base: nf.URL, key: strings.TrimSpace(fkey)}
	goproxy := buildTestProgram(b, "goproxy")
	rawproxy := buildTestProgram(b, "rawproxy")

	// Every app is one process that takes as many connections as the
	// benchmark opens (MaxConnsPerProcess = conns), as the app behind
	// HAProxy does: the proxies do the same work. One more app on the
	// first node keeps the default MaxConnsPerProcess (20), under which
	// 12 of the 32 requests queue at any time: what queueing costs is
	// its figure against the first app's.
	goGUID, goProc := benchOneProcess(b, api, "bench-go", echoBundleDir(b), conns)
	pyGUID, pyProc := benchOneProcess(b, api, "bench-python", filepath.Join("testdata", "apps", "pyecho"), conns)
	sgoGUID, sgoProc := benchOneProcess(b, sapi, "bench-go", echoBundleDir(b), conns)
	spyGUID, spyProc := benchOneProcess(b, sapi, "bench-python", filepath.Join("testdata", "apps", "pyecho"), conns)
	ugoGUID, ugoProc := benchOneProcess(b, uapi, "bench-go", echoBundleDir(b), conns)
	upyGUID, upyProc := benchOneProcess(b, uapi, "bench-python", filepath.Join("testdata", "apps", "pyecho"), conns)
	fgoGUID, fgoProc := benchOneProcess(b, fapi, "bench-go", echoBundleDir(b), conns)
	fpyGUID, fpyProc := benchOneProcess(b, fapi, "bench-python", filepath.Join("testdata", "apps", "pyecho"), conns)
	qgoGUID, qgoProc := benchOneProcess(b, api, "bench-go-queued", echoBundleDir(b), 0)
	qpyGUID, qpyProc := benchOneProcess(b, api, "bench-python-queued", filepath.Join("testdata", "apps", "pyecho"), 0)
	fastPID := nf.Cmd.Process.Pid
	nodePID, sandboxedPID, noUsagePID := n.Cmd.Process.Pid, ns.Cmd.Process.Pid, nu.Cmd.Process.Pid

	// targets returns the six paths to an app process: direct, the two
	// peers and Podium, in that order, then Podium to the same app in a
	// sandbox (another process, on the sandboxed node), then Podium
	// without usage recording (another process, on the third node).
	targets := func(guid string, proc apps.ProcessInfo, sguid string, sproc apps.ProcessInfo, uguid string, uproc apps.ProcessInfo, fguid string, fproc apps.ProcessInfo, qguid string, qproc apps.ProcessInfo) []benchTarget {
		app := fmt.Sprintf("http://127.0.0.1:%d", proc.Port)
		lb := startPeerHAProxy(b, proc.Port)
		gp := startGoProxy(b, goproxy, app)
		rp := startGoProxy(b, rawproxy, strings.TrimPrefix(app, "http://"))
		return []benchTarget{
			{"direct", app + "/", []int{proc.PID}},
			{"haproxy", lb.URL + "/", []int{proc.PID, lb.cmd.Process.Pid}},
			{"go-proxy", gp.url + "/", []int{proc.PID, gp.cmd.Process.Pid}},
			{"podium", n.URL + "/content/" + guid + "/", []int{proc.PID, nodePID}},
			{"sandboxed", ns.URL + "/content/" + sguid + "/", []int{sandboxedApp(sproc.PID), sandboxedPID}},
			{"no-usage", nu.URL + "/content/" + uguid + "/", []int{uproc.PID, noUsagePID}},
			{"chain", nf.URL + "/content/" + fguid + "/", []int{fproc.PID, fastPID}},
			{"go-raw", rp.url + "/", []int{proc.PID, rp.cmd.Process.Pid}},
			{"queued", n.URL + "/content/" + qguid + "/", []int{qproc.PID, nodePID}},
		}
	}
	fmt.Printf("bench-proxy: %d connections, %s per path, %d rounds, one app process per app\n", conns, dur, rounds)
	for _, app := range []struct {
		tag, name string
		goal      int // % of direct throughput (issue 30)
		targets   []benchTarget
	}{
		{"go", "go echo app", 50, targets(goGUID, goProc, sgoGUID, sgoProc, ugoGUID, ugoProc, fgoGUID, fgoProc, qgoGUID, qgoProc)},
		{"py", "python app", 85, targets(pyGUID, pyProc, spyGUID, spyProc, upyGUID, upyProc, fpyGUID, fpyProc, qpyGUID, qpyProc)},
	} {
		tgs := app.targets
		for _, tg := range tgs {
			benchLoad(b, tg, conns, dur/2) // warm up every path
		}
		res := make([][]benchResult, len(tgs)) // [target][round]
		for range rounds {
			for i, tg := range tgs {
				res[i] = append(res[i], benchLoad(b, tg, conns, dur))
			}
		}
		// ratio is the median over the rounds of f(target i's result,
		// direct's result) in the same round.
		// between is the median over the rounds of f(path i's result,
		// path j's result) in the same round; ratio compares with direct.
		between := func(i, j int, f func(r, d benchResult) float64) float64 {
			var v []float64
			for k := range res[i] {
				v = append(v, f(res[i][k], res[j][k]))
			}
			return median(v)
		}
		ratio := func(i int, f func(r, d benchResult) float64) float64 { return between(i, 0, f) }
		thr := func(r, d benchResult) float64 { return r.rps / d.rps }
		p99 := func(r, d benchResult) float64 { return float64(r.p99) / float64(d.p99) }
		cpu := func(r, d benchResult) float64 { return float64(r.proxyCPU) / float64(d.proxyCPU) }
		fmt.Printf("  %s, small requests (medians of %d rounds):\n", app.name, rounds)
		for i, tg := range tgs {
			m := medianResult(res[i])
			line := fmt.Sprintf("    %-9s %8.0f req/s  p50 %-9s p99 %-9s  CPU/req: generator %s, app %s", tg.name+":", m.rps,
				m.p50.Round(time.Microsecond), m.p99.Round(time.Microsecond), m.genCPU.Round(100*time.Nanosecond), m.appCPU.Round(100*time.Nanosecond))
			if i > 0 {
				line += fmt.Sprintf(", %s %s", tg.name, m.proxyCPU.Round(100*time.Nanosecond))
			}
			fmt.Println(line)
		}
		var perRound []string
		for k := range rounds {
			perRound = append(perRound, fmt.Sprintf("%.0f%%", thr(res[3][k], res[0][k])*100))
		}
		fmt.Printf("    through podium:   %3.0f%% of direct throughput (goal >= %d%%; rounds %s), p99 %.2fx direct (goal <= 1.5x)\n",
			ratio(3, thr)*100, app.goal, strings.Join(perRound, " "), ratio(3, p99))
		// Proxy CPU per request against HAProxy's, per round (issue 30:
		// goal within 1.5x for the Go app, whose requests cost the app
		// almost nothing).
		fmt.Printf("    podium proxy CPU/req: %.2fx haproxy's (goal <= 1.5x for the go app)\n", between(3, 1, cpu))
		b.ReportMetric(between(3, 1, cpu), app.tag+"-cpu-vs-haproxy")
		fmt.Printf("    through haproxy:  %3.0f%% of direct throughput, p99 %.2fx direct\n", ratio(1, thr)*100, ratio(1, p99))
		fmt.Printf("    through go-proxy: %3.0f%% of direct throughput, p99 %.2fx direct\n", ratio(2, thr)*100, ratio(2, p99))
		var sbRounds []string
		for k := range rounds {
			sbRounds = append(sbRounds, fmt.Sprintf("%.0f%%", res[4][k].rps/res[3][k].rps*100))
		}
		// The sandboxed app against the unsandboxed one through Podium.
		fmt.Printf("    podium, sandboxed app: %3.0f%% of the unsandboxed app's throughput through podium (goal >= 95%%; rounds %s)\n", between(4, 3, thr)*100, strings.Join(sbRounds, " "))
		// Usage recording: Podium (recording every request as a visit)
		// against the node that records nothing.
		fmt.Printf("    podium, usage recording on vs off: %3.0f%% of the throughput without recording, proxy CPU/req %.2fx (%s on, %s off)\n",
			between(3, 5, thr)*100, between(3, 5, cpu), medianResult(res[3]).proxyCPU.Round(100*time.Nanosecond), medianResult(res[5]).proxyCPU.Round(100*time.Nanosecond))
		// The fast connection loop and lanes: Podium (on by default)
		// against the node with [HTTP] FastPath = false (net/http's loop
		// and the handler chain for every request).
		fmt.Printf("    podium, fast loop on vs off ([HTTP] FastPath): %3.0f%% of the throughput without it, proxy CPU/req %.2fx (%s on, %s off)\n",
			between(3, 6, thr)*100, between(3, 6, cpu), medianResult(res[3]).proxyCPU.Round(100*time.Nanosecond), medianResult(res[6]).proxyCPU.Round(100*time.Nanosecond))
		b.ReportMetric(between(3, 6, cpu), app.tag+"-fastpath-cpu-ratio")
		// Queueing: the same app at the default MaxConnsPerProcess (20),
		// where 12 of the 32 requests wait for a connection, against
		// Podium's figure (no queue), and against HAProxy's (which has
		// no such limit, and no queue).
		fmt.Printf("    podium, app at the default MaxConnsPerProcess 20 (12 of %d requests queue): %3.0f%% of the throughput without queueing, proxy CPU/req %.2fx (%s), %.2fx haproxy's\n",
			conns, between(8, 3, thr)*100, between(8, 3, cpu), medianResult(res[8]).proxyCPU.Round(100*time.Nanosecond), between(8, 1, cpu))
		b.ReportMetric(between(8, 1, cpu), app.tag+"-queued-cpu-vs-haproxy")
		// The bare Go proxy (testdata/rawproxy) against HAProxy: what Go
		// itself costs per proxied request.
		fmt.Printf("    bare go proxy (go-raw) CPU/req: %.2fx haproxy's\n", between(7, 1, cpu))
		b.ReportMetric(between(7, 1, cpu), app.tag+"-goraw-cpu-vs-haproxy")
		b.ReportMetric(between(3, 5, thr)*100, app.tag+"-usage-on-throughput-%")
		b.ReportMetric(between(3, 5, cpu), app.tag+"-usage-on-cpu-ratio")
		b.ReportMetric(medianResult(res[4]).rps, app.tag+"-sandboxed-req/s")
		b.ReportMetric(between(4, 3, thr)*100, app.tag+"-sandboxed-throughput-%")
		b.ReportMetric(medianResult(res[0]).rps, app.tag+"-direct-req/s")
		b.ReportMetric(medianResult(res[3]).rps, app.tag+"-podium-req/s")
		b.ReportMetric(ratio(3, thr)*100, app.tag+"-throughput-%")
		b.ReportMetric(ratio(1, thr)*100, app.tag+"-haproxy-throughput-%")
		b.ReportMetric(ratio(3, p99), app.tag+"-p99-ratio")
		b.ReportMetric(float64(medianResult(res[3]).proxyCPU.Nanoseconds())/1e3, app.tag+"-podium-cpu-µs/req")
	}

	fmt.Printf("  go echo app, websocket round trip (5000 messages):\n")
	var wsP50 []time.Duration
	for _, tg := range targets(goGUID, goProc, sgoGUID, sgoProc, ugoGUID, ugoProc, fgoGUID, fgoProc, qgoGUID, qgoProc) {
		if tg.name == "go-raw" || tg.name == "queued" {
			continue // it proxies no upgrade; one connection queues nowhere
		}
		p50, p99 := benchWebSocket(b, tg.url)
		wsP50 = append(wsP50, p50)
		fmt.Printf("    %-9s p50 %-9s p99 %s\n", tg.name+":", p50.Round(time.Microsecond), p99.Round(time.Microsecond))
	}
	fmt.Printf("    podium p50 %.2fx haproxy's (goal <= 1.3x)\n", float64(wsP50[3])/float64(wsP50[1]))
}

// benchTarget is one path to an app process.
type benchTarget struct {
	name string
	url  string // ends in "/"
	pids []int  // the app, then the proxy (if any)
}

// benchResult is one load run against one path.
type benchResult struct {
	rps      float64
	p50, p99 time.Duration
	// CPU time per request of the load generator (this process), the app
	// and the proxy: what each path costs, whatever the contention.
	genCPU, appCPU, proxyCPU time.Duration
}

// benchLoad sends GET {url}small on conns keep-alive connections for d
// and measures throughput, latency and CPU per request.
func benchLoad(b *testing.B, tg benchTarget, conns int, d time.Duration) benchResult {
	cpu := func() (app, proxy time.Duration) {
		app = procCPU(b, tg.pids[0])
		if len(tg.pids) > 1 {
			proxy = procCPU(b, tg.pids[1])
		}
		return
	}
	g0 := selfCPU(b)
	a0, p0 := cpu()
	tr := &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	var mu sync.Mutex
	var lat []time.Duration
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]time.Duration, 0, 1<<16)
			for time.Now().Before(deadline) {
				t0 := time.Now()
				res, err := client.Get(tg.url + "small")
				if err != nil {
					b.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != 200 {
					b.Errorf("%s: status %d", tg.name, res.StatusCode)
					return
				}
				local = append(local, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, local...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	g1 := selfCPU(b)
	a1, p1 := cpu()
	slices.Sort(lat)
	if len(lat) == 0 {
		b.Fatalf("%s: no requests completed", tg.name)
	}
	per := func(c time.Duration) time.Duration { return c / time.Duration(len(lat)) }
	return benchResult{rps: float64(len(lat)) / d.Seconds(), p50: lat[len(lat)/2], p99: lat[len(lat)*99/100],
		genCPU: per(g1 - g0), appCPU: per(a1 - a0), proxyCPU: per(p1 - p0)}
}

// benchWebSocket returns the p50 and p99 round trip of 5000 sequential
// messages on one WebSocket to {base}ws.
func benchWebSocket(b *testing.B, base string) (p50, p99 time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, _, err := websocket.Dial(ctx, wsURL(base)+"ws", nil)
	if err != nil {
		b.Fatal(err)
	}
	defer c.CloseNow()
	var lat []time.Duration
	for i := range 5000 {
		t0 := time.Now()
		if err := c.Write(ctx, websocket.MessageText, []byte(strconv.Itoa(i))); err != nil {
			b.Fatal(err)
		}
		if _, _, err := c.Read(ctx); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	slices.Sort(lat)
	return lat[len(lat)/2], lat[len(lat)*99/100]
}

// medianResult is the field-by-field median of rs.
func medianResult(rs []benchResult) benchResult {
	f := func(get func(benchResult) float64) float64 {
		var v []float64
		for _, r := range rs {
			v = append(v, get(r))
		}
		return median(v)
	}
	d := func(get func(benchResult) time.Duration) time.Duration {
		return time.Duration(f(func(r benchResult) float64 { return float64(get(r)) }))
	}
	return benchResult{
		rps:      f(func(r benchResult) float64 { return r.rps }),
		p50:      d(func(r benchResult) time.Duration { return r.p50 }),
		p99:      d(func(r benchResult) time.Duration { return r.p99 }),
		genCPU:   d(func(r benchResult) time.Duration { return r.genCPU }),
		appCPU:   d(func(r benchResult) time.Duration { return r.appCPU }),
		proxyCPU: d(func(r benchResult) time.Duration { return r.proxyCPU }),
	}
}

// goProxy is a running testdata/goproxy.
type goProxy struct {
	url string
	cmd *exec.Cmd
}

// startGoProxy starts the goproxy binary bin in front of target.
func startGoProxy(b *testing.B, bin, target string) *goProxy {
	b.Helper()
	g := &goProxy{url: fmt.Sprintf("http://127.0.0.1:%d", testutil.FreePort(b))}
	g.cmd = exec.Command(bin, strings.TrimPrefix(g.url, "http://"), target)
	g.cmd.Stderr = os.Stderr
	if err := g.cmd.Start(); err != nil {
		b.Fatalf("goproxy: %v", err)
	}
	b.Cleanup(func() {
		_ = g.cmd.Process.Kill()
		_ = g.cmd.Wait()
	})
	waitOK(b, g.url+"/small", "goproxy")
	return g
}

// buildTestProgram builds testdata/{name} into the test's temp dir.
func buildTestProgram(tb testing.TB, name string) string {
	tb.Helper()
	out := filepath.Join(tb.TempDir(), name)
	cmd := exec.Command("go", "build", "-o", out, "./testdata/"+name)
	if b, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("build testdata/%s: %v\n%s", name, err, b)
	}
	return out
}

// startPeerHAProxy starts a bare HAProxy (HTTP mode, keep-alive to the
// server, no checks, no cookie) in front of one app process on port: the
// peer the benchmark compares Podium's proxy with.
func startPeerHAProxy(b *testing.B, port int) *haproxy {
	b.Helper()
	front := testutil.FreePort(b)
	cfg := haproxyTestDefaults + fmt.Sprintf(`frontend fe
    bind 127.0.0.1:%d
    default_backend app
backend app
    http-reuse always
    server app 127.0.0.1:%d
`, front, port)
	h := &haproxy{URL: "http://127.0.0.1:" + strconv.Itoa(front)}
	startHAProxyProcess(b, h, cfg)
	waitOK(b, h.URL+"/small", "haproxy")
	return h
}

// procCPU returns the user+system CPU time process pid has used
// (/proc/pid/stat, in clock ticks of 10 ms).
func procCPU(tb testing.TB, pid int) time.Duration {
	tb.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		tb.Fatal(err)
	}
	// The fields after the command name (in parentheses, maybe with
	// spaces): state is field 3, utime 14, stime 15.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		tb.Fatalf("/proc/%d/stat: %q", pid, b)
	}
	return time.Duration(ut+st) * 10 * time.Millisecond
}

// selfCPU returns the CPU time this process (the load generator) has used.
func selfCPU(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// benchOneProcess deploys dir as content with exactly one process through
// api, taking maxConns connections at once (0: the default
// MaxConnsPerProcess), and returns its GUID and that process.
func benchOneProcess(b *testing.B, api *apiClient, name, dir string, maxConns int) (string, apps.ProcessInfo) {
	b.Helper()
	guid := deployApp(b, api, name, dir)
	settings := `{"min_processes":1,"max_processes":1}`
	if maxConns > 0 {
		settings = fmt.Sprintf(`{"min_processes":1,"max_processes":1,"max_conns_per_process":%d}`, maxConns)
	}
	if code := api.do("PATCH", "/__api__/v1/content/"+guid+"/processes-settings",
		strings.NewReader(settings), nil); code != 200 {
		b.Fatalf("PATCH processes-settings: %d", code)
	}
	var procs apps.ProcessesBody
	testutil.WaitFor(b, 15*time.Second, name+"'s process", func() bool {
		api.do("GET", "/__api__/v1/content/"+guid+"/processes", nil, &procs)
		return len(procs.Processes) > 0 && procs.Processes[0].State == apps.StateReady
	})
	return guid, procs.Processes[0]
}

// sandboxedApp returns the app process under the bwrap podium started as
// pid (the deepest of its descendants), so its CPU time is the app's.
func sandboxedApp(pid int) int {
	for {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
		f := strings.Fields(string(b))
		if err != nil || len(f) == 0 {
			return pid
		}
		pid, _ = strconv.Atoi(f[0])
	}
}
