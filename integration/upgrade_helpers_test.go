package integration

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/podiumhq/podium/internal/nodetest"
	"github.com/podiumhq/podium/internal/testutil"
	"github.com/podiumhq/podium/schema"
)

// Build tags of the upgrade binaries (see schema/extra_nplus1*.go).
const (
	tagNPlus1       = "podium_nplus1"
	tagNPlus1Broken = "podium_nplus1_broken"
	// nplus1Version is the version of the tagged binaries' extra migration.
	nplus1Version = 99
)

// shutdownMessage is what an outdated node must log on detection.
func shutdownMessage() string { return schema.ShutdownMessage(nplus1Version, schema.Latest()) }

// exitWatch records when a node's process exited, as seen by the test.
type exitWatch struct {
	node *nodetest.Node
	at   time.Time
	done chan struct{}
}

func watchExit(n *nodetest.Node) *exitWatch {
	w := &exitWatch{node: n, done: make(chan struct{})}
	go func() {
		<-n.Done()
		w.at = time.Now()
		close(w.done)
	}()
	return w
}

// listenCommit connects to url, LISTENs on the schema channel and returns a
// channel that receives the time each notification arrived with its payload
// (the migration's commit, as any listener sees it).
func listenCommit(tb testing.TB, url string) <-chan commitEvent {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "LISTEN "+schema.NotifyChannel); err != nil {
		tb.Fatal(err)
	}
	ch := make(chan commitEvent, 16)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			n, err := conn.WaitForNotification(ctx)
			if err != nil {
				return
			}
			ch <- commitEvent{at: time.Now(), payload: n.Payload}
		}
	}()
	tb.Cleanup(func() {
		cancel()
		<-done
		_ = conn.Close(context.Background())
	})
	return ch
}

type commitEvent struct {
	at      time.Time
	payload string
}

// floorPayload is the notification of a raised floor (schema.raiseFloor).
const floorPayload = "floor"

// waitPayload waits for a schema notification with the given payload.
func waitPayload(tb testing.TB, ch <-chan commitEvent, payload string, timeout time.Duration) time.Time {
	tb.Helper()
	deadline := time.After(testutil.Timeout(timeout))
	for {
		select {
		case ev := <-ch:
			if ev.payload == payload {
				return ev.at
			}
		case <-deadline:
			tb.Fatalf("no schema notification %q within %s", payload, testutil.Timeout(timeout))
		}
	}
}

// sinceDetection reads the node's own detection-to-exit figure from its
// JSON log (the last line Run writes).
func sinceDetection(log string) (time.Duration, bool) {
	sc := bufio.NewScanner(strings.NewReader(log))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var line map[string]any
		if json.Unmarshal(sc.Bytes(), &line) != nil {
			continue
		}
		if ms, ok := line["since_detection_ms"].(float64); ok {
			return time.Duration(ms * float64(time.Millisecond)), true
		}
	}
	return 0, false
}

// requestLoop sends requests to a node until stopped, recording each
// outcome, to check what clients of an outdated node see.
type requestLoop struct {
	node    *nodetest.Node
	stop    chan struct{}
	done    chan struct{}
	mu      sync.Mutex
	results []requestResult
}

type requestResult struct {
	path   string
	sentAt time.Time
	status int
	err    error
}

// startRequestLoop requests /__ping__ and / in turn, about every 10ms, on
// a keep-alive client (the harder case: a connection opened before the
// drain).
func startRequestLoop(n *nodetest.Node) *requestLoop {
	l := &requestLoop{node: n, stop: make(chan struct{}), done: make(chan struct{})}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 2}}
	go func() {
		defer close(l.done)
		defer client.CloseIdleConnections()
		paths := []string{"/__ping__", "/"}
		for i := 0; ; i++ {
			select {
			case <-l.stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
			r := requestResult{path: paths[i%len(paths)], sentAt: time.Now()}
			resp, err := client.Get(n.URL + r.path)
			if err != nil {
				r.err = err
			} else {
				r.status = resp.StatusCode
				resp.Body.Close()
			}
			l.mu.Lock()
			l.results = append(l.results, r)
			l.mu.Unlock()
		}
	}()
	return l
}

func (l *requestLoop) finish() []requestResult {
	close(l.stop)
	<-l.done
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.results
}

// classify counts the outcomes of requests sent after since, and returns
// the ones that are failures: any 5xx except a 503 from /__ping__ (a
// half-working handler), and errors other than a refused or closed
// connection.
func classify(results []requestResult, since time.Time) (counts map[string]int, bad []string) {
	counts = map[string]int{}
	for _, r := range results {
		if r.sentAt.Before(since) {
			continue
		}
		switch {
		case r.err != nil && isConnRefused(r.err):
			counts["connection refused"]++
		case r.err != nil && isConnClosed(r.err):
			counts["connection closed"]++
		case r.err != nil:
			counts["other error"]++
			bad = append(bad, fmt.Sprintf("%s at %s: %v", r.path, r.sentAt.Format("15:04:05.000"), r.err))
		case r.status == http.StatusServiceUnavailable && r.path == "/__ping__":
			counts["503 /__ping__"]++
		case r.status >= 500:
			counts[fmt.Sprintf("%d %s", r.status, r.path)]++
			bad = append(bad, fmt.Sprintf("%s at %s: HTTP %d", r.path, r.sentAt.Format("15:04:05.000"), r.status))
		default:
			counts[fmt.Sprintf("%d %s", r.status, r.path)]++
		}
	}
	return counts, bad
}

func isConnRefused(err error) bool { return errors.Is(err, syscall.ECONNREFUSED) }

// isConnClosed: the server closed an idle keep-alive connection as the
// drain began, just as the client reused it (Go retries idempotent
// requests once, but not always). When the transport saw the close
// before it wrote the request and its one retry met the same, it reports
// that in its own words ("http: server closed idle connection", an
// unexported error of net/http).
func isConnClosed(err error) bool {
	var ne *net.OpError
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		strings.Contains(err.Error(), "EOF") || (errors.As(err, &ne) && ne.Op == "read") ||
		strings.Contains(err.Error(), "server closed idle connection")
}

func formatCounts(c map[string]int) string {
	var keys []string
	for k := range c {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s: %d", k, c[k]))
	}
	return strings.Join(parts, ", ")
}

// median returns the median of v (the mean of the middle two for an even
// count; 0 for none). v is left as it was.
func median[T ~int64 | ~float64](v []T) T {
	if len(v) == 0 {
		return 0
	}
	v = slices.Clone(v)
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

// maxDuration returns the largest of ds.
func maxDuration(ds []time.Duration) time.Duration {
	var m time.Duration
	for _, d := range ds {
		m = max(m, d)
	}
	return m
}
