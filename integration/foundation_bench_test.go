package integration

import (
	"context"
	"io"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/podiumhq/podium/config"
	"github.com/podiumhq/podium/dbprovider/pgtest"
	"github.com/podiumhq/podium/internal/nodetest"
	"github.com/podiumhq/podium/server"
	"github.com/sirupsen/logrus"
)

// BenchmarkStartToReady measures a node's start: from starting the process
// (exec) to the first 200 on /__ping__, on SQLite and PostgreSQL, on an
// empty database (migrations included) and on an existing one (a restart).
// It reports the median and the maximum over b.N starts (make bench-start
// runs it with -benchtime 10x). InProcess measures server.Node's Open until
// it serves, without the process start.
func BenchmarkStartToReady(b *testing.B) {
	bin := nodetest.Binary(b)
	b.Run("SQLite/Empty", func(b *testing.B) {
		benchStarts(b, func(b *testing.B) nodetest.Options { return nodetest.Options{Binary: bin} }, false)
	})
	b.Run("SQLite/Restart", func(b *testing.B) {
		opts := nodetest.Options{Binary: bin, DataDir: b.TempDir()}
		benchStarts(b, func(b *testing.B) nodetest.Options { return opts }, true)
	})
	b.Run("Postgres/Empty", func(b *testing.B) {
		benchStarts(b, func(b *testing.B) nodetest.Options {
			return nodetest.Options{Binary: bin, Postgres: pgtest.NewDatabase(b)}
		}, false)
	})
	b.Run("Postgres/Restart", func(b *testing.B) {
		opts := nodetest.Options{Binary: bin, Postgres: pgtest.NewDatabase(b), StateDir: b.TempDir()}
		benchStarts(b, func(b *testing.B) nodetest.Options { return opts }, true)
	})
	b.Run("InProcess/SQLite/Restart", benchInProcess)
}

// benchStarts starts a node b.N times with the options from next, timing
// exec to first 200, and stops it after each start. With warm, one untimed
// start first creates the database.
func benchStarts(b *testing.B, next func(b *testing.B) nodetest.Options, warm bool) {
	if warm {
		n := nodetest.StartNode(b, next(b))
		n.Stop(b)
	}
	var times []time.Duration
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		opts := next(b)
		b.StartTimer()
		start := time.Now()
		n := nodetest.Start(b, opts)
		waitPing(b, n.URL, n.Done(), n.Log)
		times = append(times, time.Since(start))
		b.StopTimer()
		if code := n.Stop(b); code != 0 {
			b.Fatalf("exit %d\n%s", code, n.Log())
		}
		b.StartTimer()
	}
	report(b, times)
}

var fastClient = &http.Client{Timeout: time.Second}

// waitPing polls url/__ping__ every millisecond until it answers 200.
func waitPing(b *testing.B, url string, done <-chan struct{}, log func() string) {
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := fastClient.Get(url + "/__ping__")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-done:
			b.Fatalf("node exited before serving\n%s", log())
		default:
		}
		if time.Now().After(deadline) {
			b.Fatalf("node not ready after 30s\n%s", log())
		}
		time.Sleep(time.Millisecond)
	}
}

func report(b *testing.B, times []time.Duration) {
	if len(times) == 0 {
		return
	}
	slices.Sort(times)
	median := times[len(times)/2]
	b.ReportMetric(float64(median.Microseconds())/1000, "ms-median")
	b.ReportMetric(float64(times[len(times)-1].Microseconds())/1000, "ms-max")
	b.ReportMetric(0, "ns/op") // the per-op mean includes the untimed parts' noise; median and max are the figures
}

// benchInProcess times server.Node Open (existing SQLite database) until
// /__ping__ answers 200 from Run.
func benchInProcess(b *testing.B) {
	opts := nodetest.Options{}
	path := nodetest.WriteConfig(b, &opts)
	log := logrus.New()
	log.SetOutput(io.Discard)
	open := func() (*server.Node, context.CancelFunc, chan error) {
		cfg, err := config.Load(config.Options{Path: path, LookupEnv: func(string) (string, bool) { return "", false }})
		if err != nil {
			b.Fatal(err)
		}
		n := server.New(cfg, log)
		if err := n.Open(context.Background()); err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- n.Run(ctx) }()
		return n, cancel, done
	}
	stop := func(n *server.Node, cancel context.CancelFunc, done chan error) {
		cancel()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
		n.Close()
	}
	n, cancel, done := open() // create the database
	waitPing(b, "http://"+n.Addr(), nil, func() string { return "" })
	stop(n, cancel, done)
	var times []time.Duration
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		n, cancel, done := open()
		waitPing(b, "http://"+n.Addr(), nil, func() string { return "" })
		times = append(times, time.Since(start))
		b.StopTimer()
		stop(n, cancel, done)
		b.StartTimer()
	}
	report(b, times)
}
