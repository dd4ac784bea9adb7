package server

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider/sqlite"
	"github.com/podiumhq/podium/internal/testutil"
	"github.com/podiumhq/podium/schema"
)

// recorder is a service that records what the shutdown does to it.
type recorder struct {
	name     string
	mu       *sync.Mutex
	events   *[]string
	hang     chan struct{} // when set, Stop ignores its context and waits for it
	ctx      context.Context
	node     *Node
	drainSaw string // the node's health status when Drain was called
}

func (r *recorder) Name() string                    { return r.name }
func (r *recorder) Start(ctx context.Context) error { r.ctx = ctx; return nil }
func (r *recorder) Drain() {
	body, _ := r.node.health(context.Background())
	r.mu.Lock()
	defer r.mu.Unlock()
	r.drainSaw = body.Status
	*r.events = append(*r.events, "drain "+r.name)
}
func (r *recorder) Stop(ctx context.Context) error {
	r.mu.Lock()
	ev := "stop " + r.name
	if r.ctx.Err() == nil {
		ev += " (context not cancelled!)"
	}
	*r.events = append(*r.events, ev)
	r.mu.Unlock()
	if r.hang != nil {
		<-r.hang // a service that does not honour its context
	}
	return nil
}

// TestNewerSchemaShutdownIsBounded: when another process moves the schema
// past the binary, the node reports draining before anything else, tells
// Drainer services at once, closes hijacked connections, gives a hanging
// request the grace period only, stops services in reverse order with
// their contexts cancelled, abandons a service that hangs, and Run returns
// ESCHEMA (exit 3) well within 30 seconds.
func TestNewerSchemaShutdownIsBounded(t *testing.T) {
	t.Parallel()
	n := testNode(t)
	n.Config.Server.ShutdownGracePeriod = time.Second
	n.Config.Database.SchemaCheckInterval = 200 * time.Millisecond

	var mu sync.Mutex
	var events []string
	unhang := make(chan struct{})
	t.Cleanup(func() { close(unhang) })
	first := &recorder{name: "first", mu: &mu, events: &events, node: n, hang: unhang}
	second := &recorder{name: "second", mu: &mu, events: &events, node: n}
	n.AddService(first)
	n.AddService(second)

	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	hanging := make(chan struct{})
	n.Web().Echo.GET("/test/hang", func(c echo.Context) error {
		close(hanging)
		<-release // a request that never finishes by itself
		return nil
	})
	n.Web().Echo.GET("/test/ws", func(c echo.Context) error {
		conn, _, err := c.Response().Hijack()
		if err != nil {
			return err
		}
		untrack := n.Web().TrackHijacked(conn)
		defer untrack()
		_, _ = conn.Write([]byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"))
		buf := make([]byte, 1)
		_, _ = conn.Read(buf) // until the node closes it
		return nil
	})

	runErr := make(chan error, 1)
	go func() { runErr <- n.Run(context.Background()) }()
	base := "http://" + n.Addr()
	testutil.WaitFor(t, 10*time.Second, "ping 200", func() bool {
		code, _ := get(base + "/__ping__")
		return code == http.StatusOK
	})

	hangErr := make(chan error, 1)
	var hangEnded time.Time
	go func() { _, err := get(base + "/test/hang"); hangEnded = time.Now(); hangErr <- err }()
	<-hanging
	ws, err := net.Dial("tcp", n.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	if _, err := ws.Write([]byte("GET /test/ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	wsClosed := make(chan time.Time, 1)
	go func() {
		buf := make([]byte, 4096)
		for {
			if _, err := ws.Read(buf); err != nil {
				wsClosed <- time.Now()
				return
			}
		}
	}()

	// Another process raises the schema (as a newer binary would).
	other, err := sqlite.Open(context.Background(), sqlite.Options{Dir: n.Config.Database.Dir})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	newer := schema.Latest() + 1
	if _, err := other.DB().Exec(`INSERT INTO goose_db_version (version_id, is_applied) VALUES (?, 1)`, newer); err != nil {
		t.Fatal(err)
	}
	raised := time.Now()

	var err2 error
	select {
	case err2 = <-runErr:
	case <-time.After(testutil.Timeout(30 * time.Second)):
		t.Fatal("Run did not return within 30s of the schema change")
	}
	returned := time.Now()
	if !podium.IsCode(err2, podium.ESCHEMA) || podium.ExitCode(err2) != 3 {
		t.Fatalf("Run: %v; want ESCHEMA (exit 3)", err2)
	}
	at := n.detectedAt.Load()
	if at == nil {
		t.Fatal("no detection time recorded")
	}
	took := returned.Sub(*at)
	t.Logf("schema raised -> detected %s; detected -> Run returned %s (grace 1s, one service hangs)",
		at.Sub(raised).Round(time.Millisecond), took.Round(time.Millisecond))
	// Grace (1s) + the services' wait (5s) + slack; far under 30s.
	if took > 6*time.Second+testutil.Timeout(2*time.Second) {
		t.Errorf("detection -> return took %s", took)
	}
	if body, ok := n.health(context.Background()); ok || body.Status != "draining" {
		t.Errorf("health after detection: %+v ok=%t; want draining, not ok", body, ok)
	}
	var wsClosedAt time.Time
	select {
	case wsClosedAt = <-wsClosed:
	case <-time.After(testutil.Timeout(5 * time.Second)):
		t.Error("hijacked connection still open after Run returned")
	}
	select {
	case err := <-hangErr:
		if err == nil {
			t.Error("the hanging request got a response; want its connection closed after the grace period")
		}
		// Hijacked connections close as the drain begins, the hanging
		// request's only when the grace period is over.
		if !wsClosedAt.IsZero() && !wsClosedAt.Before(hangEnded) {
			t.Errorf("hijacked connection closed %s after detection, hanging request %s: want the hijacked one first",
				wsClosedAt.Sub(*at), hangEnded.Sub(*at))
		}
		if hangEnded.Sub(*at) < 900*time.Millisecond {
			t.Errorf("the hanging request was cut %s after detection; want the 1s grace period", hangEnded.Sub(*at))
		}
	case <-time.After(testutil.Timeout(5 * time.Second)):
		t.Error("the hanging request's connection is still open")
	}

	mu.Lock()
	defer mu.Unlock()
	want := []string{"drain second", "drain first", "stop second", "stop first"}
	if len(events) != len(want) {
		t.Fatalf("service events %q, want %q", events, want)
	}
	for i := range want {
		if events[i] != want[i] {
			t.Errorf("service events %q, want %q", events, want)
			break
		}
	}
	if first.drainSaw != "draining" {
		t.Errorf("when Drain was called the node reported %q; want draining (readiness first)", first.drainSaw)
	}
	got, err := n.DB().NodeGet(context.Background(), n.ID())
	if err != nil || got.Status != podium.NodeStopped {
		t.Errorf("node row after exit: %+v, %v; want stopped", got, err)
	}
	if errors.Is(err2, context.Canceled) {
		t.Error("Run returned context.Canceled")
	}
}
