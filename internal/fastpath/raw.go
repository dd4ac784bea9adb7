package fastpath

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"time"
)

// RawRequest is a simple request offered to Server.Raw before anything
// is built for it: no http.Request, no header map, no context. Its byte
// slices are in the connection's read buffer and valid until Raw returns.
type RawRequest struct {
	Method string
	// Target is the request line's target, Host the Host header's value.
	Target []byte
	Host   string
	// Fields are the header lines in the order sent, Host excepted, with
	// canonical names.
	Fields []Field
	// Remote is the client's address, as http.Request.RemoteAddr.
	Remote string
	// Close: the answer must end the connection (the client asked, or the
	// server is shutting down) and say "Connection: close".
	Close bool

	c      *conn
	rq     *reqState
	resp   *response
	cancel context.CancelFunc
}

// Writer is the client connection's buffered writer. A raw handler writes
// its whole answer there, head and body, exactly as net/http would have
// written it; the loop flushes it.
func (r *RawRequest) Writer() *bufio.Writer { return r.c.bw }

// Context is the parent of the request's work: the server's base context.
func (r *RawRequest) Context() context.Context { return r.c.s.BaseContext }

// Fallback returns the http.Request and ResponseWriter the loop's Handler
// would have had. A raw handler that finds, having written nothing to
// Writer, that the answer needs net/http's semantics (an app's chunked or
// interim answer, an error page) finishes the request through them; the
// loop then ends the response as for Handler.
func (r *RawRequest) Fallback() (http.ResponseWriter, *http.Request) {
	if r.resp == nil {
		ctx, cancel := context.WithCancel(r.c.s.BaseContext)
		req := r.rq.request(ctx, r.c.remote)
		r.resp = newResponse(r.c, req, r.Close)
		r.cancel = cancel
		r.c.setCancel(cancel) // ended if the client leaves
	}
	return r.resp, r.resp.req
}

// OnGone registers c to be closed if the client leaves while the request
// is served (nil: nothing to close), as a handler on net/http gives the
// request's context to what it waits for: the raw lane registers its
// connection to the app, so that an abandoned request stops holding it.
// It reports whether the client has left already (c, if any, is then
// closed). A handler registers nil before it lets c go (back to a pool).
func (r *RawRequest) OnGone(c io.Closer) (gone bool) { return r.c.setAbort(c) }

// FellBack reports whether Fallback was called.
func (r *RawRequest) FellBack() bool { return r.resp != nil }

// RawResult is what a raw handler did with a request.
type RawResult int

const (
	// RawDeclined: nothing written, nothing called Fallback; the loop
	// serves the request through Lane and Handler.
	RawDeclined RawResult = iota
	// RawKeep: answered in full; the connection may serve another request.
	RawKeep
	// RawClose: answered, or broken off; the connection must close.
	RawClose
)

// serveRaw offers the parsed request to s.Raw. handled false: the request
// is still to be served.
func (c *conn) serveRaw(rq *reqState) (handled, keep bool) {
	closing := rq.wantsClose || c.s.closing.Load()
	r := &RawRequest{Method: rq.method, Target: rq.target, Host: rq.host, Fields: rq.fields, Remote: c.remote,
		Close: closing, c: c, rq: rq}
	c.arm(nil)
	res := c.s.Raw(r)
	if c.disarm() {
		// The client left: whatever was written goes nowhere.
		if r.resp != nil {
			r.cancel()
		}
		return true, false
	}
	if r.resp != nil {
		// Finished through Fallback: as serveOne.
		defer r.cancel()
		return true, r.resp.finish() && !r.resp.closeAfter
	}
	switch res {
	case RawDeclined:
		return false, true
	case RawKeep:
		if c.br.Buffered() == 0 {
			// Nothing pipelined behind this request: the answer goes now.
			if c.bw.Flush() != nil {
				return true, false
			}
		}
		return true, !closing
	default:
		_ = c.bw.Flush()
		return true, false
	}
}

// deadlineConn is the connection as the loop's writer sees it when the
// server has a WriteTimeout: every write to the client gets its own
// deadline, as web's per-write deadline gives the handler chain's.
type deadlineConn struct {
	net.Conn
	d time.Duration
}

func (c deadlineConn) Write(p []byte) (int, error) {
	_ = c.Conn.SetWriteDeadline(time.Now().Add(c.d))
	return c.Conn.Write(p)
}
