package metrics

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"net"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/podiumhq/podium/internal/startstop"
	"github.com/sirupsen/logrus"
)

// GraphiteOptions configure NewGraphite.
type GraphiteOptions struct {
	// Addr is host:port of the Carbon plaintext receiver.
	Addr string
	// Prefix starts every metric path: "<GraphiteClientId>.<host>".
	Prefix string
	Log    *logrus.Entry
	// MaxBackoff bounds the wait between reconnection attempts (0: 1
	// minute); the first retry comes after a second.
	MaxBackoff time.Duration
	// Queue is how many samples wait while Carbon is away (0: 60); the
	// oldest are dropped first.
	Queue int
}

// Graphite sends samples to Carbon in its plaintext protocol ("path value
// timestamp\n"), from its own goroutine: Send never blocks the caller, and
// while Carbon is away samples queue (bounded) and the connection is
// retried with exponential backoff.
type Graphite struct {
	startstop.Base
	opts GraphiteOptions
	log  *logrus.Entry

	mu      sync.Mutex
	queue   [][]byte
	dropped int
	wake    chan struct{}
}

// NewGraphite returns a sender; Start starts it.
func NewGraphite(opts GraphiteOptions) *Graphite {
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = time.Minute
	}
	if opts.Queue <= 0 {
		opts.Queue = 60
	}
	return &Graphite{opts: opts, log: opts.Log, wake: make(chan struct{}, 1)}
}

// GraphitePrefix returns "<clientID>.<host>" with the host's dots made
// underscores, so that the host is one path element.
func GraphitePrefix(clientID, host string) string {
	return SanitizeName(clientID) + "." + strings.ReplaceAll(SanitizeName(host), ".", "_")
}

// Send queues one sample taken at t.
func (g *Graphite) Send(t time.Time, values map[string]float64) {
	names := make([]string, 0, len(values))
	for k := range values {
		names = append(names, k)
	}
	sort.Strings(names)
	var b bytes.Buffer
	ts := strconv.FormatInt(t.Unix(), 10)
	for _, k := range names {
		v := values[k]
		if math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		fmt.Fprintf(&b, "%s.%s %s %s\n", g.opts.Prefix, SanitizeName(k), strconv.FormatFloat(v, 'f', -1, 64), ts)
	}
	if b.Len() == 0 {
		return
	}
	g.mu.Lock()
	g.queue = append(g.queue, b.Bytes())
	if len(g.queue) > g.opts.Queue {
		g.queue = g.queue[1:]
		g.dropped++
	}
	g.mu.Unlock()
	select {
	case g.wake <- struct{}{}:
	default:
	}
}

// Start starts the sending goroutine; it ends when ctx ends or at Stop
// (from startstop.Base), which waits for it.
func (g *Graphite) Start(ctx context.Context) error { return g.Go(ctx, g.loop) }

func (g *Graphite) loop(ctx context.Context) {
	var conn net.Conn
	defer func() {
		if conn != nil {
			conn.Close()
		}
	}()
	backoff := time.Second
	var retryAt time.Time
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-g.wake:
		case <-time.After(time.Second):
		}
		if time.Now().Before(retryAt) {
			continue
		}
		for {
			g.mu.Lock()
			if len(g.queue) == 0 {
				g.mu.Unlock()
				break
			}
			batch := g.queue[0]
			g.mu.Unlock()
			if conn == nil {
				d := net.Dialer{Timeout: 5 * time.Second}
				c, err := d.DialContext(ctx, "tcp", g.opts.Addr)
				if err != nil {
					if !failing {
						g.log.WithError(err).WithField("addr", g.opts.Addr).Warn("graphite unreachable: queueing samples and retrying")
					}
					failing = true
					retryAt = time.Now().Add(backoff)
					backoff = min(2*backoff, g.opts.MaxBackoff)
					break
				}
				conn = c
				if failing {
					g.log.WithField("addr", g.opts.Addr).Info("graphite reachable again")
				}
				failing, backoff = false, time.Second
			}
			_ = conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
			if _, err := conn.Write(batch); err != nil {
				g.log.WithError(err).Warn("graphite write failed: reconnecting")
				conn.Close()
				conn = nil
				failing = true
				retryAt = time.Now().Add(backoff)
				break
			}
			g.mu.Lock()
			if len(g.queue) > 0 && &g.queue[0][0] == &batch[0] {
				g.queue = g.queue[1:]
			}
			g.mu.Unlock()
		}
	}
}
