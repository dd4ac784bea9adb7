package server

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/config"
	"github.com/podiumhq/podium/dbprovider/sqlite"
	"github.com/podiumhq/podium/internal/testutil"
	"github.com/sirupsen/logrus"
)

// testNode opens a node on SQLite in a temp dir, listening on a free
// loopback port.
func testNode(t *testing.T) *Node {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "podium.gcfg")
	src := "[Server]\nDataDir = " + dir + "/data\nStateDir = " + dir + "/state\nShutdownGracePeriod = 5s\n" +
		"[HTTP]\nListen = 127.0.0.1:0\n[Database]\nSchemaCheckInterval = 1s\n"
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(config.Options{Path: path, LookupEnv: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatal(err)
	}
	log := logrus.New()
	log.SetOutput(io.Discard)
	n := New(cfg, log)
	if err := n.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.Close)
	return n
}

func get(url string) (int, error) {
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Get(url)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

// TestDrain: when the node is told to stop, /__ping__ reports 503
// (draining) at once, an in-flight request still completes, Run returns nil
// and the node is recorded stopped.
func TestDrain(t *testing.T) {
	t.Parallel()
	n := testNode(t)
	started, release := make(chan struct{}), make(chan struct{})
	n.Web().Echo.GET("/test/slow", func(c echo.Context) error {
		close(started)
		<-release
		return c.String(http.StatusOK, "done")
	})
	base := "http://" + n.Addr()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	runErr := make(chan error, 1)
	go func() { runErr <- n.Run(ctx) }()
	testutil.WaitFor(t, 10*time.Second, "ping 200", func() bool {
		code, _ := get(base + "/__ping__")
		return code == http.StatusOK
	})

	slow := make(chan int, 1)
	go func() {
		code, err := get(base + "/test/slow")
		if err != nil {
			code = -1
		}
		slow <- code
	}()
	<-started
	cancel() // what SIGTERM does in podium serve
	testutil.WaitFor(t, 5*time.Second, "the health check to report draining", func() bool {
		body, ok := n.health(context.Background())
		return !ok && body.Status == "draining"
	})
	// New connections are refused while the in-flight request runs.
	if code, err := get(base + "/__ping__"); err == nil && code == http.StatusOK {
		t.Error("ping answered 200 during the drain")
	}
	select {
	case err := <-runErr:
		t.Fatalf("Run returned (%v) before the in-flight request finished", err)
	default:
	}
	close(release)
	if code := <-slow; code != http.StatusOK {
		t.Fatalf("in-flight request got %d during the drain, want 200", code)
	}
	select {
	case err := <-runErr:
		if err != nil {
			t.Fatalf("Run = %v, want nil after a requested stop", err)
		}
	case <-time.After(testutil.Timeout(10 * time.Second)):
		t.Fatal("Run did not return after the drain")
	}
	id := n.ID()
	dbDir := n.Config.Database.Dir
	n.Close()
	p, err := sqlite.Open(context.Background(), sqlite.Options{Dir: dbDir, Exclusive: true, Purpose: "test"})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	row, err := p.NodeGet(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if row.Status != podium.NodeStopped {
		t.Errorf("node status after drain = %q, want stopped", row.Status)
	}
}

// TestDrainDelay: with [Server] DrainDelay, a stopping node answers 503 on
// /__ping__ at once but keeps accepting and serving new requests for the
// delay (the load balancer's time to take it out), then closes.
func TestDrainDelay(t *testing.T) {
	t.Parallel()
	n := testNode(t)
	n.Config.Server.DrainDelay = 4 * time.Second
	n.Web().Echo.GET("/test/ok", func(c echo.Context) error { return c.String(http.StatusOK, "ok") })
	base := "http://" + n.Addr()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	runErr := make(chan error, 1)
	go func() { runErr <- n.Run(ctx) }()
	testutil.WaitFor(t, 10*time.Second, "ping 200", func() bool {
		code, _ := get(base + "/__ping__")
		return code == http.StatusOK
	})
	stopped := time.Now()
	cancel()
	testutil.WaitFor(t, 10*time.Second, "ping 503", func() bool {
		code, _ := get(base + "/__ping__")
		return code == http.StatusServiceUnavailable
	})
	// A new connection (no keep-alive) during the delay is served.
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Get(base + "/test/ok")
	if err != nil {
		t.Fatalf("request during the drain delay (%s after stop): %v", time.Since(stopped), err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("request during the drain delay: %d, want 200", resp.StatusCode)
	}
	select {
	case err := <-runErr:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(testutil.Timeout(30 * time.Second)):
		t.Fatal("Run did not return after the drain delay")
	}
	if since := time.Since(stopped); since < 4*time.Second {
		t.Fatalf("Run returned %s after stop, before the 4s drain delay", since)
	}
	if _, err := client.Get(base + "/test/ok"); err == nil {
		t.Fatal("the listener still accepts after Run returned")
	}
}
