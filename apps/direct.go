package apps

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"
)

// The direct path (ProxyDirect) proxies the common request, one without a
// body or an upgrade, on connections to the process that the handler uses
// itself: it writes the request head, reads the answer with
// http.ReadResponse and copies the body, all on its own goroutine.
// httputil.ReverseProxy over http.Transport hands each request to the
// connection's write goroutine and its answer back from the read
// goroutine (two wake-ups per request, with channels, selects and a
// request clone around them), which made it cost about four times what
// HAProxy costs per request (issue 30). Everything else (bodies, trailers
// on the request, Expect, upgrades and WebSockets, an opaque URL) keeps
// the ReverseProxy path, whose handling of those is Go's.

// Proxy paths ([Applications] Proxy).
const (
	// ProxyDirect proxies requests without a body on the direct path,
	// the rest through httputil.ReverseProxy.
	ProxyDirect = "direct"
	// ProxyStandard proxies every request through httputil.ReverseProxy.
	ProxyStandard = "standard"
)

// idleReuse bounds how long a connection to a process may sit idle and
// still be reused. Without a read goroutine the direct path cannot see an
// app close an idle connection; app servers close them after a few
// seconds (uvicorn 5 s, gunicorn 2 s), so a connection idle for longer is
// closed rather than risked.
const idleReuse = time.Second

// upstream holds the idle connections to one process for the direct path.
type upstream struct {
	dial    func(ctx context.Context) (net.Conn, error)
	maxIdle int
	host    string // the proxy target's host

	mu     sync.Mutex
	idle   []*upConn
	closed bool
}

// upConn is one connection to a process.
type upConn struct {
	conn      net.Conn
	br        *bufio.Reader
	bw        *bufio.Writer
	idleSince time.Time
	read      int64 // bytes read from conn, ever
	headEnd   int64 // while reading an answer's head: read may not pass it (0: no bound)
}

// maxHead bounds the head of an app's answer (interim answers included),
// as http.Transport's default MaxResponseHeaderBytes does on the standard
// path: an app that sends headers without end is cut off, not buffered.
const maxHead = 10 << 20

// maxInterim bounds the interim (1xx) answers before the final one, as
// http.Transport does.
const maxInterim = 5

var errHeadTooLarge = errors.New("the app's answer head is larger than 10 MiB")

// Read reads from the connection, counting.
func (c *upConn) Read(b []byte) (int, error) {
	if c.headEnd > 0 && c.read >= c.headEnd {
		return 0, errHeadTooLarge
	}
	n, err := c.conn.Read(b)
	c.read += int64(n)
	return n, err
}

// get returns an idle connection idle for less than idleReuse (reused
// true), or a new one.
func (u *upstream) get(ctx context.Context, now time.Time) (c *upConn, reused bool, err error) {
	u.mu.Lock()
	for len(u.idle) > 0 {
		c = u.idle[len(u.idle)-1]
		u.idle = u.idle[:len(u.idle)-1]
		if now.Sub(c.idleSince) < idleReuse {
			u.mu.Unlock()
			return c, true, nil
		}
		c.conn.Close()
	}
	u.mu.Unlock()
	c, err = u.dialNew(ctx)
	return c, false, err
}

func (u *upstream) dialNew(ctx context.Context) (*upConn, error) {
	conn, err := u.dial(ctx)
	if err != nil {
		return nil, err
	}
	c := &upConn{conn: conn, bw: bufio.NewWriterSize(conn, 4<<10)}
	c.br = bufio.NewReaderSize(c, 4<<10)
	return c, nil
}

// put keeps c for the next request, or closes it.
func (u *upstream) put(c *upConn, now time.Time) {
	c.idleSince = now
	u.mu.Lock()
	if u.closed || len(u.idle) >= u.maxIdle {
		u.mu.Unlock()
		c.conn.Close()
		return
	}
	u.idle = append(u.idle, c)
	u.mu.Unlock()
}

// close closes the idle connections and keeps no more (the process ended).
func (u *upstream) close() {
	u.mu.Lock()
	u.closed = true
	idle := u.idle
	u.idle = nil
	u.mu.Unlock()
	for _, c := range idle {
		c.conn.Close()
	}
}

// retryStale runs send on uc and, when uc was a kept connection that the
// process had closed meanwhile (send failed with a stale-connection error
// before anything was read from it: the request was not taken), runs an
// idempotent request's send once more on a new connection, as
// http.Transport does. It returns the connection send last ran on, nil
// when a new one could not be made.
func (u *upstream) retryStale(ctx context.Context, uc *upConn, reused, idempotent bool, send func(*upConn) error) (*upConn, error) {
	before := uc.read
	err := send(uc)
	if err == nil || !reused || !idempotent || ctx.Err() != nil || uc.read != before || !staleConn(err) {
		return uc, err
	}
	uc.conn.Close()
	fresh, err := u.dialNew(ctx)
	if err != nil {
		return nil, err
	}
	return fresh, send(fresh)
}

// direct reports whether r can take the direct path: no body, no upgrade,
// no Expect, no trailers, an ordinary URL.
func direct(r *http.Request) bool {
	return r.ContentLength == 0 && r.TransferEncoding == nil && r.URL.Opaque == "" &&
		r.Header["Upgrade"] == nil && r.Header["Expect"] == nil && r.Header["Trailer"] == nil
}

// hopHeaders are the hop-by-hop headers (RFC 9110 7.6.1), which
// ReverseProxy drops too, with those the transport writes itself.
var hopHeaders = []string{
	"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization",
	"Te", "Trailer", "Transfer-Encoding", "Upgrade",
}

// skipRequestHeader reports whether the direct path writes header k
// itself or drops it: the hop-by-hop headers, those the request head
// carries apart (Host, Content-Length), the forwarding headers it
// replaces, and the Cookie and Authorization it filters.
func skipRequestHeader(k string) bool {
	switch k {
	case "Host", "Content-Length", "Cookie", "Authorization",
		"Forwarded", "X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host", "X-Forwarded-Prefix":
		return true
	}
	return slices.Contains(hopHeaders, k)
}

// connectionTokens are the header names the Connection header of h lists
// (hop-by-hop too), canonical; nil when it has none.
func connectionTokens(h http.Header) []string {
	var names []string
	for _, v := range h["Connection"] {
		for _, f := range strings.Split(v, ",") {
			if f = textproto.TrimString(f); f != "" {
				names = append(names, textproto.CanonicalMIMEHeaderKey(f))
			}
		}
	}
	return names
}

// serveDirect proxies in (direct(in) holds) to process p on the direct
// path. It keeps ReverseProxy's contract: the same request rewrite and
// headers, 1xx answers passed on, hop-by-hop headers dropped both ways,
// response trailers passed on, streamed bodies flushed as they come,
// a 502 page when the process does not answer, and a connection cut
// (http.ErrAbortHandler) when the answer breaks off mid-body.
func (s *Supervisor) serveDirect(w http.ResponseWriter, in *http.Request, p *process, keepPrefix bool) {
	ctx := in.Context()
	uc, reused, err := p.up.get(ctx, s.opts.Now())
	if err != nil {
		s.directError(w, in, p, err)
		return
	}
	// A client that goes away ends the wait for the process: closing the
	// connection unblocks the read, and the app sees its client leave.
	stop := func() bool { return true }
	var res *http.Response
	uc, err = p.up.retryStale(ctx, uc, reused, idempotent(in.Method), func(c *upConn) error {
		stop() // the watch on a connection retryStale gave up
		stop = closeOnDone(ctx, c)
		var err error
		res, err = s.roundTrip(w, c, in, keepPrefix, p.up.host)
		return err
	})
	keep := false
	defer func() {
		switch {
		case uc == nil:
			stop()
		case !stop() || !keep:
			uc.conn.Close()
		default:
			p.up.put(uc, s.opts.Now())
		}
	}()
	if err != nil {
		if ctx.Err() == nil {
			s.directError(w, in, p, err)
		}
		return
	}

	keep = s.answerDirect(w, uc, res)
}

// answerDirect writes the app's answer res, read from uc, to w: the
// second half of serveDirect. It reports whether uc may take another
// request. An answer that breaks off mid-body cuts the client's
// connection (panic http.ErrAbortHandler), leaving uc to the caller to
// close.
func (s *Supervisor) answerDirect(w http.ResponseWriter, uc *upConn, res *http.Response) (keep bool) {
	h := res.Header
	for _, k := range connectionTokens(h) {
		delete(h, k)
	}
	for _, k := range hopHeaders {
		delete(h, k)
	}
	dropPodiumSetCookies(h)
	if f := s.opts.ContentHeaders; f != nil {
		f(h)
	}
	out := w.Header()
	for k, vv := range h {
		out[k] = append(out[k], vv...)
	}
	announced := len(res.Trailer)
	if announced > 0 {
		keys := make([]string, 0, announced)
		for k := range res.Trailer {
			keys = append(keys, k)
		}
		out.Add("Trailer", strings.Join(keys, ", "))
	}
	w.WriteHeader(res.StatusCode)

	if err := copyBody(w, res); err != nil {
		// The head is sent: all that is left is to cut the client's
		// connection, so that a broken answer never looks complete. The
		// deferred close of the app's connection runs on the way out.
		panic(http.ErrAbortHandler)
	}
	keep = !res.Close && uc.br.Buffered() == 0
	if len(res.Trailer) > 0 {
		// Force chunking, so that the trailers can follow the body.
		_ = http.NewResponseController(w).Flush()
		if len(res.Trailer) == announced {
			for k, vv := range res.Trailer {
				out[k] = append(out[k], vv...)
			}
		} else {
			for k, vv := range res.Trailer {
				for _, v := range vv {
					out.Add(http.TrailerPrefix+k, v)
				}
			}
		}
	}
	return keep
}

// closeOnDone closes c's connection when ctx ends; the function it
// returns stops that, and reports false if it was too late.
func closeOnDone(ctx context.Context, c *upConn) func() bool {
	conn := c.conn
	return context.AfterFunc(ctx, func() { conn.Close() })
}

// roundTrip sends in's head on c and reads the final answer.
func (s *Supervisor) roundTrip(w http.ResponseWriter, c *upConn, in *http.Request, keepPrefix bool, host string) (*http.Response, error) {
	if err := s.writeDirectHead(c.bw, in, keepPrefix, host); err != nil {
		return nil, err
	}
	if err := c.bw.Flush(); err != nil {
		return nil, err
	}
	c.headEnd = c.read + maxHead
	res, err := readFinal(w, c.br, in)
	c.headEnd = 0
	return res, err
}

// writeDirectHead writes the request line and headers of in, rewritten as
// newReverseProxy's Rewrite does, to bw; target is the Host of a request
// that had none.
func (s *Supervisor) writeDirectHead(bw *bufio.Writer, in *http.Request, keepPrefix bool, target string) error {
	rest, prefix := splitContentPath(in.URL.EscapedPath())
	if keepPrefix {
		rest = in.URL.EscapedPath()
	}
	bw.WriteString(in.Method)
	bw.WriteByte(' ')
	bw.WriteString(rest)
	if in.URL.ForceQuery || in.URL.RawQuery != "" {
		bw.WriteByte('?')
		bw.WriteString(in.URL.RawQuery)
	}
	bw.WriteString(" HTTP/1.1\r\nHost: ")
	if in.Host != "" {
		bw.WriteString(in.Host)
	} else {
		bw.WriteString(target) // an HTTP/1.0 request without Host: the transport's choice too
	}
	bw.WriteString("\r\n")
	switch in.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch:
		bw.WriteString("Content-Length: 0\r\n") // as http.Transport sends for these
	}
	var conn []string
	if in.Header["Connection"] != nil {
		conn = connectionTokens(in.Header)
	}
	for k, vv := range in.Header {
		if skipRequestHeader(k) || (conn != nil && slices.Contains(conn, k)) {
			continue
		}
		for _, v := range vv {
			writeHeaderLine(bw, k, v)
		}
	}
	if te := in.Header["Te"]; te != nil && tokenListed(te, "trailers") {
		bw.WriteString("Te: trailers\r\n")
	}
	if a := in.Header["Authorization"]; a != nil {
		if len(a) == 0 || !strings.HasPrefix(a[0], "Key ") {
			for _, v := range a {
				writeHeaderLine(bw, "Authorization", v)
			}
		}
	}
	if in.Header["Cookie"] != nil {
		h := http.Header{"Cookie": in.Header["Cookie"]}
		dropPodiumCookies(h)
		for _, v := range h["Cookie"] {
			writeHeaderLine(bw, "Cookie", v)
		}
	}
	xff, proto, host := s.forwarded(in)
	writeHeaderLine(bw, "X-Forwarded-For", xff)
	writeHeaderLine(bw, "X-Forwarded-Proto", proto)
	writeHeaderLine(bw, "X-Forwarded-Host", host)
	writeHeaderLine(bw, "X-Forwarded-Prefix", prefix)
	_, err := bw.WriteString("\r\n")
	return err
}

// writeHeaderLine writes "k: v\r\n". Header values the server read cannot
// hold CR or LF; http.Transport replaces them with spaces, and so does this.
func writeHeaderLine(bw *bufio.Writer, k, v string) {
	bw.WriteString(k)
	bw.WriteString(": ")
	if strings.ContainsAny(v, "\r\n") {
		v = strings.NewReplacer("\r", " ", "\n", " ").Replace(v)
	}
	bw.WriteString(v)
	bw.WriteString("\r\n")
}

func tokenListed(vv []string, token string) bool {
	for _, v := range vv {
		for _, f := range strings.Split(v, ",") {
			if strings.EqualFold(textproto.TrimString(f), token) {
				return true
			}
		}
	}
	return false
}

// readFinal reads the process's answer to in, passing interim (1xx)
// answers other than 101 on to w as ReverseProxy does. A 101 to a request
// that asked for no upgrade is an error.
func readFinal(w http.ResponseWriter, br *bufio.Reader, in *http.Request) (*http.Response, error) {
	for interim := 0; ; interim++ {
		if interim > maxInterim {
			return nil, fmt.Errorf("the app sent more than %d interim (1xx) answers", maxInterim)
		}
		res, err := http.ReadResponse(br, in)
		if err != nil {
			return nil, err
		}
		if res.StatusCode >= 200 {
			return res, nil
		}
		if res.StatusCode == http.StatusSwitchingProtocols {
			return nil, errors.New("the app switched protocols on a request without Upgrade")
		}
		h := w.Header()
		for k, vv := range res.Header {
			h[k] = vv
		}
		w.WriteHeader(res.StatusCode)
		for k := range res.Header {
			delete(h, k)
		}
	}
}

// copyBody copies res's body to w, flushing after each read when the
// answer is streamed (an unknown length, or Server-Sent Events), as
// ReverseProxy does. On an error the body is left unclosed: closing it
// would read the rest of the answer; the caller closes the connection.
func copyBody(w http.ResponseWriter, res *http.Response) error {
	if res.Body == http.NoBody {
		return nil
	}
	stream := res.ContentLength == -1 || strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream")
	var flush func() error
	if stream {
		rc := http.NewResponseController(w)
		flush = rc.Flush
	}
	buf := copyBuffers.Get()
	defer copyBuffers.Put(buf)
	for {
		n, rerr := res.Body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return werr
			}
			if flush != nil {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		if rerr == io.EOF {
			return res.Body.Close() // reads the trailers into res.Trailer
		}
		if rerr != nil {
			return rerr
		}
	}
}

// staleConn reports whether err, on a reused connection from which
// nothing was read, means the process had closed it before this request.
// (http.ReadResponse reports a connection closed before the first byte
// as io.ErrUnexpectedEOF.)
func staleConn(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// idempotent methods may be sent again (RFC 9110 9.2.2).
func idempotent(m string) bool {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace, http.MethodPut, http.MethodDelete:
		return true
	}
	return false
}

// directError answers a request the process did not answer, as the
// ReverseProxy path's ErrorHandler does.
func (s *Supervisor) directError(w http.ResponseWriter, r *http.Request, p *process, err error) {
	s.log.WithError(err).WithFields(logrus.Fields{"path": r.URL.Path, "pid": p.pid}).Warn("app process did not answer")
	s.mu.Lock()
	s.events.Rejected++
	if tw, ok := w.(*trackingWriter); ok {
		tw.pl.events.Rejected++
	}
	s.mu.Unlock()
	_ = errorPage(w, http.StatusBadGateway, "The application did not answer. It may have crashed; Podium is replacing it. Try again shortly.")
}
