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
	}
	load := func(base string) result {
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
		slices.Sort(lat)
		if len(lat) == 0 {
			b.Fatal("no requests completed")
		}
		return result{rps: float64(len(lat)) / dur.Seconds(), p50: lat[len(lat)/2], p99: lat[len(lat)*99/100]}
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
	fmt.Printf("  websocket RTT   direct: p50 %-9s p99 %s\n", wd50.Round(time.Microsecond), wd99.Round(time.Microsecond))
	fmt.Printf("  websocket RTT   podium: p50 %-9s p99 %s\n", wp50.Round(time.Microsecond), wp99.Round(time.Microsecond))
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}
