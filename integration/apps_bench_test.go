package integration

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
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

// BenchmarkProxy measures the app proxy: the echo app reached directly on
// its port and through Podium (/content/{guid}/), with the same load
// generator in the same run. Small requests: requests/s and p50/p99
// latency with PODIUM_BENCH_CONNS (default 32) keep-alive connections for
// PODIUM_BENCH_SECONDS (default 5) each; WebSocket: p50/p99 round trip of
// 5000 sequential messages on one connection. The app runs one process
// (min = max = 1), so both paths reach the same process. Goal: through
// Podium at least 80% of direct throughput and p99 within 1.5x of direct.
//
// It also reports the CPU time per request of the generator, the app and
// the node on each path. On a small machine the three share the cores, so
// throughput follows total CPU per request: the node's own share is the
// figure to compare between versions, whatever the machine's load.
func BenchmarkProxy(b *testing.B) {
	conns := envInt("PODIUM_BENCH_CONNS", 32)
	dur := time.Duration(envInt("PODIUM_BENCH_SECONDS", 5)) * time.Second
	data := sharedDataDir(b)
	n := nodetest.StartNode(b, nodetest.Options{DataDir: data, Config: "[Applications]\nRunAs = nobody\n"})
	bin := nodetest.Binary(b)
	nodetest.Run(b, bin, nil, "users", "create", "--config", n.ConfigPath, "--username", "bench", "--role", "publisher", "--no-password")
	key, _, _ := nodetest.Run(b, bin, nil, "keys", "create", "--config", n.ConfigPath, "--username", "bench")
	api := &apiClient{t: b, base: n.URL, key: strings.TrimSpace(key)}
	guid := deployApp(b, api, "bench", echoBundleDir(b))
	if code := api.do("PATCH", "/__api__/v1/content/"+guid+"/processes-settings",
		strings.NewReader(`{"min_processes":1,"max_processes":1}`), nil); code != 200 {
		b.Fatalf("PATCH processes-settings: %d", code)
	}
	var procs apps.ProcessesBody
	testutil.WaitFor(b, 15*time.Second, "the app's process", func() bool {
		api.do("GET", "/__api__/v1/content/"+guid+"/processes", nil, &procs)
		return len(procs.Processes) > 0 && procs.Processes[0].State == apps.StateReady
	})
	direct := fmt.Sprintf("http://127.0.0.1:%d/", procs.Processes[0].Port)
	proxied := n.URL + "/content/" + guid + "/"

	type result struct {
		rps      float64
		p50, p99 time.Duration
		// CPU time per request of the load generator (this process), the
		// app and the node: what each path costs, whatever the contention.
		genCPU, appCPU, nodeCPU time.Duration
	}
	appPID, nodePID := procs.Processes[0].PID, n.Cmd.Process.Pid
	load := func(base string) result {
		g0, a0, n0 := selfCPU(b), procCPU(b, appPID), procCPU(b, nodePID)
		tr := &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns}
		defer tr.CloseIdleConnections()
		client := &http.Client{Transport: tr}
		var mu sync.Mutex
		var lat []time.Duration
		deadline := time.Now().Add(dur)
		var wg sync.WaitGroup
		for range conns {
			wg.Add(1)
			go func() {
				defer wg.Done()
				local := make([]time.Duration, 0, 1<<16)
				for time.Now().Before(deadline) {
					t0 := time.Now()
					res, err := client.Get(base + "small")
					if err != nil {
						b.Error(err)
						return
					}
					_, _ = io.Copy(io.Discard, res.Body)
					res.Body.Close()
					if res.StatusCode != 200 {
						b.Errorf("status %d", res.StatusCode)
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
		g1, a1, n1 := selfCPU(b), procCPU(b, appPID), procCPU(b, nodePID)
		slices.Sort(lat)
		if len(lat) == 0 {
			b.Fatal("no requests completed")
		}
		per := func(d time.Duration) time.Duration { return d / time.Duration(len(lat)) }
		return result{rps: float64(len(lat)) / dur.Seconds(), p50: lat[len(lat)/2], p99: lat[len(lat)*99/100],
			genCPU: per(g1 - g0), appCPU: per(a1 - a0), nodeCPU: per(n1 - n0)}
	}
	wsRTT := func(base string) (p50, p99 time.Duration) {
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

	load(direct) // warm up both paths
	load(proxied)
	d, p := load(direct), load(proxied)
	wd50, wd99 := wsRTT(direct)
	wp50, wp99 := wsRTT(proxied)
	b.ReportMetric(d.rps, "direct-req/s")
	b.ReportMetric(p.rps, "podium-req/s")
	b.ReportMetric(p.rps/d.rps*100, "throughput-%")
	b.ReportMetric(float64(p.p99)/float64(d.p99), "p99-ratio")
	fmt.Printf("bench-proxy: %d connections, %s per run, one app process\n", conns, dur)
	fmt.Printf("  small requests  direct: %8.0f req/s  p50 %-9s p99 %s\n", d.rps, d.p50.Round(time.Microsecond), d.p99.Round(time.Microsecond))
	fmt.Printf("  small requests  podium: %8.0f req/s  p50 %-9s p99 %s\n", p.rps, p.p50.Round(time.Microsecond), p.p99.Round(time.Microsecond))
	fmt.Printf("  throughput through podium: %.0f%% of direct (goal >= 80%%); p99 ratio %.2fx (goal <= 1.5x)\n", p.rps/d.rps*100, float64(p.p99)/float64(d.p99))
	fmt.Printf("  CPU per request direct: generator %s, app %s\n", d.genCPU, d.appCPU)
	fmt.Printf("  CPU per request podium: generator %s, app %s, podium %s (%.2fx the direct total)\n", p.genCPU, p.appCPU, p.nodeCPU,
		float64(p.genCPU+p.appCPU+p.nodeCPU)/float64(d.genCPU+d.appCPU))
	b.ReportMetric(float64(p.nodeCPU.Nanoseconds())/1e3, "podium-cpu-µs/req")
	fmt.Printf("  websocket RTT   direct: p50 %-9s p99 %s\n", wd50.Round(time.Microsecond), wd99.Round(time.Microsecond))
	fmt.Printf("  websocket RTT   podium: p50 %-9s p99 %s\n", wp50.Round(time.Microsecond), wp99.Round(time.Microsecond))
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
