package server

import (
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/podiumhq/podium"
	"github.com/sirupsen/logrus"
)

// rejectWait bounds the time spent on a connection refused at [HTTP]
// MaxConnections.
const rejectWait = 2 * time.Second

// connLimiter caps the client connections a node holds at once ([HTTP]
// MaxConnections): keep-alive, in-flight and hijacked (proxied WebSockets)
// alike, since each holds a goroutine and a file descriptor. A connection
// over the cap is not queued: it is answered at once with 503,
// "Retry-After: 1" and "Connection: close", so a load balancer or client
// tries elsewhere or later instead of waiting in the dark.
type connLimiter struct {
	net.Listener
	max      int64
	open     atomic.Int64
	rejected atomic.Int64
	log      *logrus.Entry
	lastLog  atomic.Int64 // unix ns of the last "at the cap" log line
	// closeOnly closes a connection over the cap without an answer: on
	// the [HTTPS] listener a plain-text 503 would be garbage to a client
	// that starts with a TLS handshake.
	closeOnly bool
}

func newConnLimiter(l net.Listener, max int, log *logrus.Entry) *connLimiter {
	return &connLimiter{Listener: l, max: int64(max), log: log}
}

// Open returns the number of connections held now.
func (l *connLimiter) Open() int64 { return l.open.Load() }

// Accept returns the next connection under the cap, refusing those over
// it in the background.
func (l *connLimiter) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.open.Add(1) > l.max {
			l.open.Add(-1)
			l.rejected.Add(1)
			if now := time.Now().UnixNano(); now-l.lastLog.Load() > int64(10*time.Second) {
				l.lastLog.Store(now)
				l.log.WithFields(logrus.Fields{"max_connections": l.max, "rejected_total": l.rejected.Load()}).
					Warn("[HTTP] MaxConnections reached: answering new connections 503")
			}
			if l.closeOnly {
				_ = c.Close()
			} else {
				go rejectConn(c, l.max)
			}
			continue
		}
		return &limitedConn{Conn: c, l: l}, nil
	}
}

// rejectConn answers 503 on a connection over the cap. It reads what the
// client sent first and half-closes before closing, so that the client
// reads the answer rather than a connection reset.
func rejectConn(c net.Conn, max int64) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(rejectWait))
	buf := make([]byte, 4096)
	_, _ = c.Read(buf)
	body := fmt.Sprintf(`{"code":%q,"error":"this node holds its maximum of %d connections ([HTTP] MaxConnections): try again shortly"}`+"\n",
		podium.EUNAVAILABLE, max)
	_, err := fmt.Fprintf(c, "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nX-Content-Type-Options: nosniff\r\nRetry-After: 1\r\n"+
		"Connection: close\r\nCache-Control: no-store\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	if err != nil {
		return
	}
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(c, 1<<20))
}

// limitedConn gives its slot back when closed (once).
type limitedConn struct {
	net.Conn
	l    *connLimiter
	once sync.Once
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.open.Add(-1) })
	return err
}

// CloseWrite half-closes the connection: net/http uses it to let a client
// read an answer before the connection closes.
func (c *limitedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
