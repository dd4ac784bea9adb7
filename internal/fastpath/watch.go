package fastpath

import (
	"context"
	"errors"
	"io"
	"os"
	"sync"
	"time"
)

// watchAfter is how long the loop serves a request before it starts
// watching the connection for the client leaving. net/http watches every
// request from its start, with a read behind the handler; the loop starts
// one only for the requests that last, where it matters: a long poll, or
// a slow app whose client gave up and maybe retried. Without the watch the
// app kept working on, and holding a connection for, every abandoned
// request until it answered, and those piled up against
// MaxConnsPerProcess. Server.watchAfter overrides it (tests).
const watchAfter = 500 * time.Millisecond

// watch is a connection's watch for a departed client (see watchAfter).
// Armed when a request starts being served and disarmed when its handler
// returns, it reads one byte from the connection once watchAfter has
// passed: the end of the connection (EOF, a reset) means the client has
// left, and the request is abandoned: its context is cancelled and the
// closer its handler registered (RawRequest.OnGone) is closed. A byte
// read is the start of the client's next request (pipelining): it is kept
// for the loop's next read (conn.Read), and the watch ends.
type watch struct {
	mu    sync.Mutex
	timer *time.Timer
	state watchState
	// What ends the request when the client leaves.
	cancel context.CancelFunc
	abort  io.Closer
	gone   bool          // the client left during the request
	ending bool          // disarm is ending the read
	done   chan struct{} // closed when the read returns
	b      [1]byte
}

type watchState uint8

const (
	watchOff watchState = iota
	watchArmed
	watchReading
)

// arm starts watching for the request the loop is about to serve, whose
// context cancel ends (nil: none yet). A connection with bytes read and
// not yet served (a pipelined request) is not watched: there is nothing
// to read, and its client is still sending.
func (c *conn) arm(cancel context.CancelFunc) {
	if c.br.Buffered() > 0 || c.pend {
		return
	}
	w := &c.w
	w.mu.Lock()
	w.state, w.cancel, w.abort, w.gone = watchArmed, cancel, nil, false
	w.mu.Unlock()
	d := c.s.watchAfter
	if d == 0 {
		d = watchAfter
	}
	if w.timer == nil {
		w.timer = time.AfterFunc(d, c.watchRead)
	} else {
		w.timer.Reset(d)
	}
}

// disarm ends the watch of the request just served, waiting for a read in
// progress to end, and reports whether the client left meanwhile.
func (c *conn) disarm() (gone bool) {
	w := &c.w
	if w.timer != nil {
		w.timer.Stop()
	}
	w.mu.Lock()
	state, done := w.state, w.done
	w.ending = state == watchReading
	w.state, w.cancel, w.abort = watchOff, nil, nil
	gone = w.gone
	w.mu.Unlock()
	if state == watchReading {
		// A deadline in the past ends the read, as net/http ends its
		// background read.
		_ = c.c.SetReadDeadline(longAgo)
		<-done
		_ = c.c.SetReadDeadline(time.Time{}) // the next wait sets its own
		w.mu.Lock()
		w.ending = false
		gone = w.gone
		w.mu.Unlock()
	}
	return gone
}

// setCancel registers the context cancel of the request being served
// (RawRequest.Fallback's), called at once if its client has left.
func (c *conn) setCancel(cancel context.CancelFunc) {
	w := &c.w
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.gone {
		cancel()
		return
	}
	if w.state != watchOff {
		w.cancel = cancel
	}
}

// setAbort registers the closer to close if the client of the request
// being served leaves (nil: none), and reports whether it has left.
func (c *conn) setAbort(abort io.Closer) (gone bool) {
	w := &c.w
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.gone {
		if abort != nil {
			_ = abort.Close()
		}
		return true
	}
	if w.state != watchOff {
		w.abort = abort
	}
	return false
}

// watchRead is the watch's read, on the timer's goroutine.
func (c *conn) watchRead() {
	w := &c.w
	w.mu.Lock()
	if w.state != watchArmed {
		w.mu.Unlock()
		return
	}
	w.state = watchReading
	// No deadline: the one the wait for this request set would end the
	// watch of a long request. Set before disarm can see the read (it
	// reads the state under the lock), so its deadline comes after.
	_ = c.c.SetReadDeadline(time.Time{})
	done := make(chan struct{})
	w.done = done
	w.mu.Unlock()
	defer close(done)

	n, err := c.c.Read(w.b[:])
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case n > 0:
		c.pend = true // the next request's first byte, for conn.Read
	case err == nil, w.ending, errors.Is(err, os.ErrDeadlineExceeded):
		// Ended by disarm: no news of the client.
	default:
		w.gone = true
		if w.abort != nil {
			_ = w.abort.Close()
		}
		if w.cancel != nil {
			w.cancel()
		}
	}
}

// Read is what the connection's buffered reader reads: the byte a watch
// read first, then the connection. readHead always reads before a
// connection is handed over, so that byte never has to go along.
func (c *conn) Read(b []byte) (int, error) {
	if c.pend && len(b) > 0 {
		b[0] = c.w.b[0]
		c.pend = false
		return 1, nil
	}
	return c.c.Read(b)
}
