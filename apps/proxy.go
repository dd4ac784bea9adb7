package apps

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"html"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/podiumhq/podium"
	"github.com/sirupsen/logrus"
)

// ServeApp proxies the request c, under /content/{guid}/, to a process of
// the app, starting one when needed. The caller has checked that the user
// may see the content. A request that cannot be served gets a 502 or 503
// page rather than waiting forever.
func (s *Supervisor) ServeApp(c echo.Context, guid string) error {
	req := c.Request()
	prefix := "/content/" + guid
	if req.URL.Path == prefix {
		u := *req.URL
		u.Path += "/"
		u.RawPath = ""
		return c.Redirect(http.StatusMovedPermanently, u.RequestURI())
	}
	if !strings.HasPrefix(req.URL.Path, prefix+"/") {
		return podium.Errorf(podium.ENOTFOUND, "not under %s/", prefix)
	}
	pl := s.pool(guid)
	s.refresh(req.Context(), pl, false)
	p, err := s.acquire(req.Context(), pl, true)
	if err != nil {
		return s.unavailable(c.Response(), pl, err)
	}
	defer s.release(pl, p)
	w := &trackingWriter{ResponseWriter: c.Response(), s: s, pl: pl, c: c, p: p}
	defer w.untrack()
	if p.up != nil && direct(req) {
		s.serveDirect(w, req, p, p.keepPrefix)
		return nil
	}
	p.proxy.ServeHTTP(w, req)
	return nil
}

// ServeFast is ServeApp for the fast lane (web's Lane): a request from
// the fast connection loop, already granted, that the direct path can take
// now. It reports false, having written nothing and started nothing but
// perhaps a process, when the request needs more than that (a redirect,
// the standard path, a process with room to wait for, a start that
// failed): the caller then leaves it to ServeApp. accepted runs once the
// request is the lane's, before it is proxied.
func (s *Supervisor) ServeFast(w http.ResponseWriter, req *http.Request, guid string, accepted func()) bool {
	// Decided before acquire, which counts the request: one the lane
	// declines is counted by ServeApp.
	if s.opts.Proxy == ProxyStandard || !strings.HasPrefix(req.URL.Path, "/content/"+guid+"/") || !direct(req) {
		return false
	}
	pl := s.pool(guid)
	s.refresh(req.Context(), pl, false)
	p, err := s.acquire(req.Context(), pl, false)
	if err != nil {
		return false
	}
	defer s.release(pl, p)
	accepted()
	s.serveDirect(&trackingWriter{ResponseWriter: w, s: s, pl: pl, p: p}, req, p, p.keepPrefix)
	return true
}

// errNoRoom is acquire's answer, without wait, when no process has room.
var errNoRoom = errors.New("no process has room now")

// errUnavailable is an app that cannot take the request now (503).
type errUnavailable struct{ msg string }

func (e *errUnavailable) Error() string { return e.msg }

// acquire picks the least-loaded ready process of pl's current bundle
// that has fewer than MaxConnsPerProcess connections, and counts the
// request on it. It starts a new process when that process's load (with
// this request) would exceed the load factor, or when no process has room,
// and fewer than MaxProcesses run. A request that finds no process with
// room waits (queued) until one has, up to InitTimeout, and then gets a
// 503: MaxConnsPerProcess is never exceeded.
// Without wait, a request that would wait gets errNoRoom at once (any
// process start it called for goes ahead).
func (s *Supervisor) acquire(ctx context.Context, pl *pool, wait bool) (*process, error) {
	var deadline <-chan time.Time
	refreshed := false
	queued := false
	var turn chan struct{} // this request's place in pl.waiters, once queued
	hadTurn := false       // woken by a release (wakeOne), not yet back under the lock
	defer func() {
		if queued {
			s.mu.Lock()
			pl.queued--
			pl.leave(turn)
			s.mu.Unlock()
		}
	}()
	for {
		s.mu.Lock()
		front := hadTurn // a turn that found no room keeps its place
		if hadTurn {
			pl.granted--
			hadTurn = false
		}
		if s.stopped {
			s.mu.Unlock()
			return nil, &errUnavailable{"this node is shutting down"}
		}
		app, lim := pl.app, pl.limits
		if app == nil {
			err := pl.fetchErr
			s.mu.Unlock()
			if err != nil {
				return nil, fmt.Errorf("app %s: %w", pl.guid, err)
			}
			return nil, podium.Errorf(podium.ENOTFOUND, "no application is deployed at %s", pl.guid)
		}
		best, live, starting := pl.leastLoaded()
		// First come, first served: while requests wait, or a release
		// has given one of them its turn and it has not yet run, a new
		// one queues behind them rather than take that room.
		room := best != nil && best.conns < lim.MaxConnsPerProcess && (queued || len(pl.waiters) == 0 && pl.granted == 0)
		now := s.opts.Now()
		grow := live < lim.MaxProcesses && starting == 0 && !now.Before(pl.notUntil) &&
			(!room || float64(best.conns+1)/float64(lim.MaxConnsPerProcess) > lim.LoadFactor)
		if grow {
			pl.starting++ // reserved here, under the lock; spawn runs it
		}
		if room {
			best.conns++
			best.served++
			s.events.Requests++
			pl.events.Requests++
			s.mu.Unlock()
			if grow {
				s.goSpawn(pl, app)
			}
			return best, nil
		}
		if best == nil && starting == 0 && now.Before(pl.notUntil) && pl.failedBundle == bundleOf(app) {
			msg := pl.lastErr
			s.mu.Unlock()
			// The app read may be up to RefreshInterval old: before
			// answering with a failed start, make sure its bundle is
			// still the active one (a redeploy resets the backoff).
			if !refreshed {
				refreshed = true
				s.refresh(ctx, pl, true)
				continue
			}
			return nil, &errUnavailable{"the application failed to start (" + msg + "); retrying in " +
				pl.notUntil.Sub(now).Round(time.Second).String()}
		}
		if !wait {
			s.mu.Unlock()
			if grow {
				s.goSpawn(pl, app)
			}
			return nil, errNoRoom
		}
		if !queued {
			queued = true
			pl.queued++
			turn = make(chan struct{}, 1)
		}
		pl.wait(turn, front)
		wait := pl.changed
		s.mu.Unlock()
		if grow {
			s.goSpawn(pl, app)
		}
		if deadline == nil {
			t := time.NewTimer(lim.InitTimeout + time.Second)
			defer t.Stop()
			deadline = t.C
		}
		select {
		case <-wait:
		case <-turn:
			hadTurn = true
		case <-deadline:
			if best == nil {
				return nil, &errUnavailable{"no application process became ready in time"}
			}
			return nil, &errUnavailable{fmt.Sprintf("the application is at its limit on this node: its %d processes (MaxProcesses %d) each serve their maximum of %d connections (MaxConnsPerProcess), and none ended within %s; try again shortly",
				live, lim.MaxProcesses, lim.MaxConnsPerProcess, lim.InitTimeout+time.Second)}
		case <-ctx.Done():
			return nil, fmt.Errorf("app %s: %w", pl.guid, ctx.Err())
		}
	}
}

// release ends one request on p.
func (s *Supervisor) release(pl *pool, p *process) {
	s.mu.Lock()
	p.conns--
	if p.conns == 0 {
		p.idleFrom = s.opts.Now()
	}
	// One connection's room: one waiting request's turn. Waking them all
	// (pl.signal) made every release wake every queued request, all but
	// one to queue again: with 32 clients on an app whose process takes
	// 20 (MaxConnsPerProcess), a dozen wake-ups per request.
	pl.wakeOne()
	s.mu.Unlock()
}

// wait puts turn in pl's queue of waiting requests, unless it is there
// already: at the end, or at the front for a request whose turn found no
// room. Call with s.mu held.
func (pl *pool) wait(turn chan struct{}, front bool) {
	switch {
	case slices.Contains(pl.waiters, turn):
	case front:
		pl.waiters = slices.Insert(pl.waiters, 0, turn)
	default:
		pl.waiters = append(pl.waiters, turn)
	}
}

// wakeOne gives the first waiting request its turn (it looks for room
// again). Call with s.mu held.
func (pl *pool) wakeOne() {
	if len(pl.waiters) == 0 {
		return
	}
	turn := pl.waiters[0]
	pl.waiters[0] = nil
	pl.waiters = pl.waiters[1:]
	select {
	case turn <- struct{}{}:
		pl.granted++
	default:
	}
}

// leave takes a request that stops waiting out of the queue. A turn it
// was given and did not use goes to the next. Call with s.mu held.
func (pl *pool) leave(turn chan struct{}) {
	if i := slices.Index(pl.waiters, turn); i >= 0 {
		pl.waiters = slices.Delete(pl.waiters, i, i+1)
	}
	select {
	case <-turn:
		pl.granted--
		pl.wakeOne()
	default:
	}
}

// unavailable answers a request no process could take: a 503 page for an
// app that cannot take it now; other errors (the app is gone, the client
// left) are returned for the caller to answer.
func (s *Supervisor) unavailable(w http.ResponseWriter, pl *pool, err error) error {
	var ue *errUnavailable
	if !errors.As(err, &ue) {
		if podium.IsCode(err, podium.ENOTFOUND) || errors.Is(err, context.Canceled) {
			return err
		}
		ue = &errUnavailable{"the application cannot be reached right now"}
		s.log.WithError(err).Warn("app request failed")
	}
	s.mu.Lock()
	s.events.Rejected++
	pl.events.Rejected++
	s.mu.Unlock()
	w.Header().Set("Retry-After", "5")
	return errorPage(w, http.StatusServiceUnavailable, ue.msg)
}

// errorPage writes a short HTML page for an app that cannot answer.
func errorPage(w http.ResponseWriter, status int, msg string) error {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, err := fmt.Fprintf(w, "<!doctype html>\n<title>%d %s</title>\n<h1>%d %s</h1>\n<p>%s</p>\n",
		status, http.StatusText(status), status, http.StatusText(status), html.EscapeString(msg))
	return err
}

// newReverseProxy returns the proxy to one process at target. It strips
// /content/{guid} from the path, unless keepPrefix (the app learns it from
// the base-path variable and X-Forwarded-Prefix), sets the forwarding headers, and
// drops Podium's own credentials. Responses, WebSocket upgrades included,
// lose every Set-Cookie for a Podium cookie (podium_*): an app must not log
// its viewer out, into another account, or out of the content origin.
func (s *Supervisor) newReverseProxy(target *url.URL, keepPrefix bool) *httputil.ReverseProxy {
	return &httputil.ReverseProxy{
		Transport:  s.transport,
		BufferPool: copyBuffers,
		Rewrite: func(pr *httputil.ProxyRequest) {
			in, out := pr.In, pr.Out
			rest, prefix := splitContentPath(in.URL.EscapedPath())
			if keepPrefix {
				rest = in.URL.EscapedPath()
			}
			out.URL.Scheme, out.URL.Host = target.Scheme, target.Host
			out.URL.RawPath = rest
			if p, err := url.PathUnescape(rest); err == nil {
				out.URL.Path = p
			} else {
				out.URL.Path = rest
			}
			if out.URL.Path == out.URL.RawPath {
				out.URL.RawPath = ""
			}
			out.Host = in.Host
			// ProxyRequest.Out's Trailer is a copy made before the body
			// was read, so it stays empty: share the incoming one, which
			// the server fills at the end of the body, before the
			// transport writes the trailers.
			out.Trailer = in.Trailer
			s.setForwarded(in, out, prefix)
			if a := out.Header.Get("Authorization"); strings.HasPrefix(a, "Key ") {
				out.Header.Del("Authorization")
			}
			dropPodiumCookies(out.Header)
		},
		// ReverseProxy runs it on 101 Switching Protocols answers too,
		// before it copies their headers to the client.
		ModifyResponse: func(res *http.Response) error {
			dropPodiumSetCookies(res.Header)
			if h := s.opts.ContentHeaders; h != nil {
				h(res.Header)
			}
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if r.Context().Err() != nil {
				return // the client went away
			}
			s.log.WithError(err).WithFields(logrus.Fields{"path": r.URL.Path, "target": target.Host}).Warn("app process did not answer")
			s.mu.Lock()
			s.events.Rejected++
			if tw, ok := w.(*trackingWriter); ok { // ServeApp's writer: count it for its content
				tw.pl.events.Rejected++
			}
			s.mu.Unlock()
			_ = errorPage(w, http.StatusBadGateway, "The application did not answer. It may have crashed; Podium is replacing it. Try again shortly.")
		},
	}
}

// copyBuffers lends the proxies their copy buffers: without a pool,
// ReverseProxy allocates (and the GC then clears) 32 KiB per response.
var copyBuffers = &bufferPool{pool: sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}}

// bufferPool is an httputil.BufferPool over a sync.Pool of *[]byte.
type bufferPool struct{ pool sync.Pool }

// Get returns a 32 KiB buffer.
func (p *bufferPool) Get() []byte { return *(p.pool.Get().(*[]byte)) }

// Put returns b to the pool.
func (p *bufferPool) Put(b []byte) {
	if cap(b) >= 32<<10 {
		b = b[:32<<10]
		p.pool.Put(&b)
	}
}

// splitContentPath splits "/content/{guid}/rest" into "/rest" and
// "/content/{guid}".
func splitContentPath(p string) (rest, prefix string) {
	const root = "/content/"
	if !strings.HasPrefix(p, root) {
		return p, ""
	}
	i := strings.IndexByte(p[len(root):], '/')
	if i < 0 {
		return "/", p
	}
	return p[len(root)+i:], p[:len(root)+i]
}

// setForwarded sets X-Forwarded-For/-Proto/-Host/-Prefix on out (see
// forwarded).
func (s *Supervisor) setForwarded(in, out *http.Request, prefix string) {
	xff, proto, host := s.forwarded(in)
	out.Header.Set("X-Forwarded-For", xff)
	out.Header.Set("X-Forwarded-Proto", proto)
	out.Header.Set("X-Forwarded-Host", host)
	out.Header.Set("X-Forwarded-Prefix", prefix)
}

// forwarded returns the X-Forwarded-For/-Proto/-Host values for a request
// to an app. The incoming values are kept only when the peer is a trusted
// proxy; otherwise they are replaced by what this node saw.
func (s *Supervisor) forwarded(in *http.Request) (xff, proto, host string) {
	peer, trusted := s.peer(in.RemoteAddr)
	xff = peer
	if prior := in.Header.Values("X-Forwarded-For"); trusted && len(prior) > 0 {
		xff = strings.Join(prior, ", ") + ", " + peer
	}
	proto = "http"
	if in.TLS != nil {
		proto = "https"
	}
	if v := in.Header.Get("X-Forwarded-Proto"); trusted && (v == "http" || v == "https") {
		proto = v
	}
	host = in.Host
	if v := in.Header.Get("X-Forwarded-Host"); trusted && v != "" {
		host = v
	}
	return xff, proto, host
}

// peer is the client's address of a connection from remoteAddr, and
// whether it is a trusted proxy, whose forwarding headers are kept.
func (s *Supervisor) peer(remoteAddr string) (ip string, trusted bool) {
	ip, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		ip = remoteAddr
	}
	return ip, len(s.opts.TrustedProxies) > 0 && s.trusted(ip)
}

func (s *Supervisor) trusted(ip string) bool {
	a := net.ParseIP(ip)
	if a == nil {
		return false
	}
	for _, n := range s.opts.TrustedProxies {
		if n.Contains(a) {
			return true
		}
	}
	return false
}

// trackingWriter records the client connection when the proxy hijacks it
// for a WebSocket (or any upgrade), so the node's shutdown can close it
// (echo's Shutdown does not close hijacked connections), and counts it as
// an open WebSocket of its content until the proxy is done with it.
type trackingWriter struct {
	http.ResponseWriter
	s      *Supervisor
	pl     *pool
	c      echo.Context
	p      *process
	forget func()
	end    func() // ends the usage session
	hijack bool
}

// Hijack hijacks the underlying connection and tracks it.
func (w *trackingWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, rw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return conn, rw, err
	}
	if t := w.s.opts.TrackHijacked; t != nil {
		w.forget = t(conn)
	}
	w.hijack = true
	w.s.mu.Lock()
	w.pl.upgraded++
	var contentID int64
	if w.pl.app != nil {
		contentID = w.pl.app.ContentID
	}
	w.s.mu.Unlock()
	if sess := w.s.opts.Session; sess != nil && contentID != 0 {
		w.end = sess(w.c, contentID, w.pl.guid, w.p.bundleID)
	}
	return conn, rw, err
}

// Unwrap gives http.ResponseController the underlying writer (Flush).
func (w *trackingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush flushes the underlying writer, for streamed responses and SSE.
func (w *trackingWriter) Flush() { _ = http.NewResponseController(w.ResponseWriter).Flush() }

func (w *trackingWriter) untrack() {
	if w.forget != nil {
		w.forget()
	}
	if w.end != nil {
		w.end()
	}
	if w.hijack {
		w.s.mu.Lock()
		w.pl.upgraded--
		w.s.mu.Unlock()
	}
}

// dropPodiumCookies removes Podium's cookies (podium_*: the login
// session, the content origin's cookie) from the Cookie header: an app
// (anyone's code) must never hold a reader's Podium credentials, which
// would open the API or other content to it. The app's own cookies pass
// untouched.
func dropPodiumCookies(h http.Header) {
	lines := h.Values("Cookie")
	if len(lines) == 0 {
		return
	}
	h.Del("Cookie")
	for _, line := range lines {
		var kept []string
		for _, part := range strings.Split(line, ";") {
			name, _, _ := strings.Cut(strings.TrimSpace(part), "=")
			if !isPodiumCookie(name) && strings.TrimSpace(part) != "" {
				kept = append(kept, strings.TrimSpace(part))
			}
		}
		if len(kept) > 0 {
			h.Add("Cookie", strings.Join(kept, "; "))
		}
	}
}

// dropPodiumSetCookies removes from an app's response every Set-Cookie
// that would set, change or delete a Podium cookie; the app's own
// cookies pass.
func dropPodiumSetCookies(h http.Header) {
	lines := h.Values("Set-Cookie")
	if len(lines) == 0 {
		return
	}
	kept := lines[:0:0]
	for _, line := range lines {
		name, _, _ := strings.Cut(line, "=")
		if !isPodiumCookie(strings.TrimSpace(name)) {
			kept = append(kept, line)
		}
	}
	if len(kept) == len(lines) {
		return
	}
	h.Del("Set-Cookie")
	for _, line := range kept {
		h.Add("Set-Cookie", line)
	}
}

// isPodiumCookie reports whether a cookie name is Podium's, behind a
// __Host- or __Secure- prefix too (podium.ContentCookieName): browsers
// compare names exactly, but a case variant is refused as well, so that no
// app can confuse a reader (or a proxy) with a look-alike.
func isPodiumCookie(name string) bool {
	for _, p := range []string{podium.HostCookiePrefix, "__Secure-"} {
		if hasPrefixFold(name, p) {
			name = name[len(p):]
			break
		}
	}
	return hasPrefixFold(name, podium.CookiePrefix)
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}
