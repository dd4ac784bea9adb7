// Package fastpath serves the plain listener's simplest requests without
// net/http's per-connection machinery, and hands every other connection to
// net/http.
//
// Issue 30: the app proxy cost about three times what HAProxy costs per
// request, and most of it was not Podium's work: net/http's connection
// loop (the request's header map and context, the response's buffers, the
// background read that watches for the client leaving, a goroutine
// wake-up per request) and the copies around it. A bare Go proxy that
// reads heads into a reused buffer costs about what HAProxy costs.
//
// A Server sits between the listener and net/http. Each accepted
// connection first runs the fast loop: it reads a request head into the
// connection's buffer and, when the request is simple (GET or HEAD,
// HTTP/1.1, no body, no Expect, upgrade or trailers, one Host, a head
// that fits the buffer, and a path the Server's Simple accepts), builds
// the http.Request itself and calls the same Handler net/http would call,
// through a ResponseWriter that writes what net/http's would. At the first
// request that is not simple, the connection, with every byte read so
// far, goes to net/http for good: net/http then sees a connection whose
// first request is that one, and does everything it always did (bodies,
// 100-continue, upgrades and hijacking, header limits and their 431,
// HTTP/1.0, malformed requests and their 400).
//
// A client that leaves while its request is handled is noticed as net/http
// notices it, by a read of the connection behind the handler, but only
// once the request has lasted half a second (watch.go): net/http starts
// that read for every request, which is much of its cost per request.
// The request's context then ends, and the raw lane's connection to the
// app is closed (RawRequest.OnGone). What the fast loop does not do:
// HTTP/2 (the plain listener has none). Handlers on the fast path cannot
// hijack the connection: no simple request asks for an upgrade.
package fastpath

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/http"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"
)

// bufSize is each connection's read and write buffer: a request head
// that does not fit in it goes to net/http, which allows up to
// MaxHeaderBytes.
const bufSize = 4096

// Server is the fast loop in front of a net/http server.
type Server struct {
	// Handler answers every request the fast loop serves: the same
	// handler the net/http server has.
	Handler http.Handler
	// Simple reports whether a request with this method and target (the
	// request line's second word) may be served by the fast loop. nil:
	// every simple request may.
	Simple func(method string, target []byte) bool
	// Lane, when set, is tried before Handler on each request the loop
	// serves: a cheaper handler for the requests it knows (web's fast
	// lane for apps). It reports false, having written nothing, to leave
	// the request to Handler.
	Lane func(w http.ResponseWriter, r *http.Request) bool
	// Raw, when set, is offered each request the loop serves before
	// anything is built for it (see RawRequest): the cheapest lane, for
	// the requests it can answer in bytes.
	Raw func(r *RawRequest) RawResult
	// WriteTimeout bounds each write to the client (0: none).
	WriteTimeout time.Duration
	// ReadHeaderTimeout bounds the read of a request head once its first
	// byte has arrived, IdleTimeout the wait for the next request (as
	// http.Server's; 0 means none).
	ReadHeaderTimeout, IdleTimeout time.Duration
	// BaseContext is the parent of every request's context.
	BaseContext context.Context
	Log         *logrus.Entry

	watchAfter time.Duration // 0: the package's watchAfter

	mu      sync.Mutex
	conns   map[*conn]struct{}
	closing atomic.Bool
	handoff chan net.Conn
	done    chan struct{}
	inner   net.Listener
	started sync.Once
	err     error // the inner listener's Accept error, once done
}

// Listener returns the listener net/http serves: it yields the
// connections the fast loop hands over. Closing it closes inner.
func (s *Server) Listener(inner net.Listener) net.Listener {
	s.inner = inner
	s.conns = map[*conn]struct{}{}
	s.handoff = make(chan net.Conn)
	s.done = make(chan struct{})
	return &listener{s: s}
}

type listener struct{ s *Server }

func (l *listener) Accept() (net.Conn, error) {
	s := l.s
	s.started.Do(func() { go s.acceptLoop() })
	select {
	case c := <-s.handoff:
		return c, nil
	case <-s.done:
		return nil, s.err
	}
}

func (l *listener) Close() error   { return l.s.inner.Close() }
func (l *listener) Addr() net.Addr { return l.s.inner.Addr() }

// acceptLoop accepts from the inner listener, with net/http's back-off on
// temporary errors, and starts each connection's fast loop.
func (s *Server) acceptLoop() {
	var delay time.Duration
	for {
		c, err := s.inner.Accept()
		if err != nil {
			// As http.Server.Serve: a temporary error (EMFILE: out of file
			// descriptors) is waited out, not the end of the listener.
			var te interface{ Temporary() bool }
			if errors.As(err, &te) && te.Temporary() {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				time.Sleep(delay)
				continue
			}
			s.err = err
			close(s.done)
			return
		}
		delay = 0
		fc := &conn{s: s, c: c}
		if !s.track(fc) {
			_ = c.Close()
			continue
		}
		go fc.serve()
	}
}

func (s *Server) track(c *conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing.Load() {
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *Server) untrack(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

// Shutdown stops the fast loops as http.Server.Shutdown stops its
// connections: a connection waiting for its next request is closed, one
// serving a request closes after its answer (which says "Connection:
// close"). It returns when every fast loop has ended, or closes what is
// left when ctx ends. Connections already handed over are net/http's.
func (s *Server) Shutdown(ctx context.Context) error {
	s.closing.Store(true)
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		s.mu.Lock()
		n := len(s.conns)
		for c := range s.conns {
			c.wakeIdle()
		}
		s.mu.Unlock()
		if n == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			s.Close()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// Close closes every connection still in a fast loop.
func (s *Server) Close() {
	s.closing.Store(true)
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		_ = c.c.Close()
	}
}

// conn is one connection in its fast loop.
type conn struct {
	s      *Server
	c      net.Conn
	br     *bufio.Reader
	bw     *bufio.Writer
	remote string
	// idle is set while the loop waits for the next request's first
	// byte: Shutdown may then close it at once.
	idle atomic.Bool
	// w watches for the client leaving while a request is served; pend
	// is set when its read took the first byte of the next request.
	w    watch
	pend bool
}

// longAgo is a deadline in the past: it ends a read in progress.
var longAgo = time.Unix(1, 0)

// wakeIdle makes an idle connection's read return, so its loop sees the
// shutdown.
func (c *conn) wakeIdle() {
	if c.idle.Load() {
		_ = c.c.SetReadDeadline(longAgo)
	}
}

var bufPool = sync.Pool{New: func() any {
	return &buffers{r: bufio.NewReaderSize(nil, bufSize), w: bufio.NewWriterSize(nil, bufSize)}
}}

type buffers struct {
	r *bufio.Reader
	w *bufio.Writer
}

func (c *conn) serve() {
	handedOver, panicked := false, false
	bufs := bufPool.Get().(*buffers)
	bufs.r.Reset(c) // conn.Read: the connection, after a byte the watch read
	if d := c.s.WriteTimeout; d > 0 {
		bufs.w.Reset(deadlineConn{Conn: c.c, d: d})
	} else {
		bufs.w.Reset(c.c)
	}
	c.br, c.bw = bufs.r, bufs.w
	c.remote = c.c.RemoteAddr().String()
	defer func() {
		if v := recover(); v != nil {
			// As net/http: a panic ends the connection, not the process;
			// http.ErrAbortHandler (the app proxy cutting a client whose
			// answer broke off) is no error to log.
			if c.s.Log != nil && v != http.ErrAbortHandler {
				c.s.Log.WithField("panic", v).WithField("stack", string(debug.Stack())).Error("http: panic serving " + c.remote)
			}
			handedOver = false
			panicked = true
		}
		c.s.untrack(c)
		if !handedOver {
			if !panicked {
				_ = c.bw.Flush() // answers held back while pipelined requests were read (serveRaw)
			}
			_ = c.c.Close()
		}
		bufs.r.Reset(nil)
		bufs.w.Reset(nil)
		bufPool.Put(bufs)
	}()
	rq := &reqState{}
	for first := true; ; first = false {
		if c.s.closing.Load() {
			return
		}
		head, ok := c.readHead(first)
		if !ok {
			return
		}
		if head == nil || !rq.parse(head, c.s.Simple) {
			handedOver = c.handOver()
			return
		}
		// The head stays in the reader's buffer until the request is
		// served: the request's strings were copied out of it.
		if _, err := c.br.Discard(len(head)); err != nil {
			return
		}
		if c.s.Raw != nil {
			handled, keep := c.serveRaw(rq)
			if handled {
				if !keep {
					return
				}
				continue
			}
		}
		if !c.serveOne(rq) {
			return
		}
	}
}

// readHead waits for the next request and returns its head (through the
// blank line) as it sits in the read buffer, unconsumed. nil with ok: a
// head that does not fit the buffer (net/http reads it). !ok: the
// connection is done (closed, timed out, shutting down).
func (c *conn) readHead(first bool) (head []byte, ok bool) {
	if c.br.Buffered() == 0 {
		// One deadline per request in the common case (a head that
		// arrives whole): it stays set while the request is served,
		// when nothing reads the connection, and the next wait replaces
		// it. A new connection has ReadHeaderTimeout for its first
		// request, as in net/http: one that sends nothing is not kept
		// for the whole IdleTimeout.
		d := c.s.IdleTimeout
		if first && c.s.ReadHeaderTimeout > 0 {
			d = c.s.ReadHeaderTimeout
		}
		if d > 0 {
			_ = c.c.SetReadDeadline(time.Now().Add(d))
		} else {
			_ = c.c.SetReadDeadline(time.Time{})
		}
		c.idle.Store(true)
		if c.s.closing.Load() {
			c.idle.Store(false)
			return nil, false
		}
		_, err := c.br.Peek(1)
		c.idle.Store(false)
		if err != nil {
			return nil, false
		}
		buf, _ := c.br.Peek(c.br.Buffered())
		if i := headEnd(buf); i >= 0 {
			return buf[:i], true
		}
	}
	// The rest of the head within ReadHeaderTimeout.
	if d := c.s.ReadHeaderTimeout; d > 0 {
		_ = c.c.SetReadDeadline(time.Now().Add(d))
	} else {
		_ = c.c.SetReadDeadline(time.Time{})
	}
	for {
		buf, _ := c.br.Peek(c.br.Buffered())
		if i := headEnd(buf); i >= 0 {
			return buf[:i], true
		}
		if len(buf) >= bufSize {
			return nil, true // too long for the fast loop: net/http's limits apply
		}
		if _, err := c.br.Peek(len(buf) + 1); err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return nil, false // as net/http: a head not read in time closes the connection, unanswered
			}
			if c.br.Buffered() > 0 {
				// Part of a head, then the client's close: net/http
				// answers it (400) as it would have.
				return nil, true
			}
			return nil, false
		}
	}
}

// headEnd returns the length of the head in buf, through the blank line
// that ends it ("\r\n\r\n", or a bare "\n\n" that the parse then leaves
// to net/http), or -1.
func headEnd(buf []byte) int {
	for i := 1; i < len(buf); i++ {
		if buf[i] != '\n' {
			continue
		}
		if buf[i-1] == '\n' || (i >= 2 && buf[i-1] == '\r' && buf[i-2] == '\n') {
			return i + 1
		}
	}
	return -1
}

// handOver gives the connection, with the bytes read and not yet served,
// to net/http. It reports false when net/http is no longer accepting.
func (c *conn) handOver() bool {
	// Answers held back while pipelined requests were read (serveRaw)
	// go first: net/http writes on the connection itself.
	if c.bw.Flush() != nil {
		return false
	}
	_ = c.c.SetReadDeadline(time.Time{}) // net/http sets its own
	n := c.br.Buffered()
	var pending []byte
	if n > 0 {
		b, _ := c.br.Peek(n)
		pending = append([]byte(nil), b...)
	}
	pc := &prefixConn{Conn: c.c, pending: pending}
	select {
	case c.s.handoff <- pc:
		return true
	case <-c.s.done:
		return false
	}
}

// prefixConn is a handed-over connection: its reads return what the fast
// loop had read first.
type prefixConn struct {
	net.Conn
	pending []byte
}

func (p *prefixConn) Read(b []byte) (int, error) {
	if len(p.pending) > 0 {
		n := copy(b, p.pending)
		p.pending = p.pending[n:]
		if len(p.pending) == 0 {
			p.pending = nil
		}
		return n, nil
	}
	return p.Conn.Read(b)
}

// serveOne runs the handler for the parsed request and writes its
// answer. It reports whether the connection may serve another request.
func (c *conn) serveOne(rq *reqState) bool {
	ctx, cancel := context.WithCancel(c.s.BaseContext)
	defer cancel()
	req := rq.request(ctx, c.remote)
	w := newResponse(c, req, rq.wantsClose || c.s.closing.Load())
	c.arm(cancel)
	if c.s.Lane == nil || !c.s.Lane(w, req) {
		c.s.Handler.ServeHTTP(w, req)
	}
	if c.disarm() {
		return false // the client left: nobody reads the answer
	}
	if !w.finish() {
		return false
	}
	if w.closeAfter {
		return false
	}
	return true
}
