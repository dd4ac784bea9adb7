package web

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/publish"
)

// Limits bound what one request may cost the node ([HTTP] in
// docs/configuration.md). The zero value bounds nothing.
type Limits struct {
	// WriteTimeout bounds one write to the client (not the whole
	// response): each write gets a fresh deadline, so long downloads and
	// streams live as long as the client reads.
	WriteTimeout time.Duration
	// MinUploadRate (bytes/s) and UploadRateWindow: a request body must
	// bring MinUploadRate × UploadRateWindow bytes in every window, or the
	// read fails (408) and the connection is closed. 0 turns it off.
	MinUploadRate    int64
	UploadRateWindow time.Duration
	// MaxFormBody bounds a url-encoded form body (the login form);
	// 0 means MaxJSONBody.
	MaxFormBody int64
	// DrainMax and DrainTime bound how much of an oversized body the node
	// reads (and discards) after answering 413, so that the client, still
	// sending, gets to read the answer instead of a connection reset.
	// 0 means 1 GiB and 10 s.
	DrainMax  int64
	DrainTime time.Duration
}

func (l *Limits) drainMax() int64 {
	if l.DrainMax > 0 {
		return l.DrainMax
	}
	return 1 << 30
}

func (l *Limits) drainTime() time.Duration {
	if l.DrainTime > 0 {
		return l.DrainTime
	}
	return 10 * time.Second
}

// edgeKey holds the request's *edgeBody in the echo context.
const edgeKey = "podium.edge"

// edge is the first middleware of every request: it gives each write of
// the response its own deadline, meters the request body against the
// minimum upload rate, and refuses, with 400, input that is not text
// (invalid UTF-8 or NUL) in the path, the query and form fields of
// Podium's own endpoints and in JSON bodies. Traffic under /content/ (static
// files, reports, apps and their proxies) is passed through as it came:
// the app owns its input.
func (s *Server) edge(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		res := c.Response()
		rc := http.NewResponseController(res.Writer)
		var dw *deadlineWriter
		if d := s.limits.WriteTimeout; d > 0 {
			dw = &deadlineWriter{ResponseWriter: res.Writer, rc: rc, d: d}
			res.Writer = dw
		}
		if req.Body != nil && req.Body != http.NoBody {
			b := &edgeBody{raw: req.Body, rc: rc}
			if s.limits.MinUploadRate > 0 && s.limits.UploadRateWindow > 0 {
				b.window = s.limits.UploadRateWindow
				b.quota = max(1, int64(float64(s.limits.MinUploadRate)*s.limits.UploadRateWindow.Seconds()))
			}
			c.Set(edgeKey, b)
			req.Body = b
		}
		if !strings.HasPrefix(req.URL.Path, "/content/") && !maybeVanity(c) {
			if err := s.checkTextInput(c); err != nil {
				if dw != nil {
					dw.finish()
				}
				return err
			}
		}
		err := next(c)
		if dw != nil {
			// The response is flushed after the handler returns: give that
			// last write its own deadline too.
			dw.finish()
		}
		if b, ok := c.Get(edgeKey).(*edgeBody); ok && !(dw != nil && dw.hijacked) {
			// A body the handler left unread (a request refused before its
			// body) is read by net/http after the handler, up to 256 KiB,
			// to reuse the connection: bound that read too, or a client that
			// stalls holds the connection forever.
			b.afterHandler()
		}
		return err
	}
}

// maybeVanity reports whether a request may be for content under a
// vanity URL (api_vanity.go): no route of Podium's matched it (or only the
// landing directory's catch-all) and its path is not under one of
// Podium's own first segments. Such traffic is passed through as under
// /content/: the content owns its input (a form posted to an app through
// its vanity URL reaches the app unread).
func maybeVanity(c echo.Context) bool {
	if c.Path() != "/*" {
		return false
	}
	first, _, _ := strings.Cut(strings.TrimPrefix(c.Request().URL.Path, "/"), "/")
	first = strings.ToLower(first)
	return first != "" && !strings.HasPrefix(first, "__") && first != "content" && first != "metrics"
}

// checkTextInput refuses a path or query that is not text, and reads and
// checks a url-encoded form (bounded). A JSON body is checked as it is
// read (see textReader) and, decoded, by jsonbody.Decode.
func (s *Server) checkTextInput(c echo.Context) error {
	req := c.Request()
	if err := checkText("the URL path", req.URL.Path); err != nil {
		return err
	}
	if req.URL.RawQuery != "" {
		q, err := url.ParseQuery(req.URL.RawQuery)
		if err != nil {
			return podium.Errorf(podium.EINVALID, "the query string is malformed: %s", strings.TrimPrefix(err.Error(), "invalid URL escape "))
		}
		if err := checkValues("query parameter", q); err != nil {
			return err
		}
	}
	b, _ := c.Get(edgeKey).(*edgeBody)
	if b == nil || s.rawBody[req.Method+" "+c.Path()] {
		// No body, or bytes the handler takes as they are (a bundle
		// archive labelled as a form or JSON is still an archive).
		return nil
	}
	mt, _, _ := mime.ParseMediaType(req.Header.Get(echo.HeaderContentType))
	switch mt {
	case echo.MIMEApplicationJSON:
		b.text = &textReader{}
	case echo.MIMEApplicationForm:
		limit := s.limits.MaxFormBody
		if limit <= 0 {
			limit = MaxJSONBody
		}
		req.Body = http.MaxBytesReader(nil, b, limit)
		err := req.ParseForm()
		req.Body = b
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe):
			return podium.Errorf(podium.ETOOLARGE, "the form is larger than %d bytes", limit)
		case err != nil:
			var perr *podium.Error
			if errors.As(err, &perr) {
				return perr
			}
			return podium.Errorf(podium.EINVALID, "the form is malformed: %w", err)
		}
		if err := checkValues("form field", req.PostForm); err != nil {
			return err
		}
	}
	return nil
}

// checkValues refuses keys or values of a query or form that are not text.
func checkValues(what string, v url.Values) error {
	for k, vals := range v {
		if err := checkText(what+" name", k); err != nil {
			return err
		}
		for _, val := range vals {
			if err := checkText(fmt.Sprintf("%s %q", what, k), val); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkText returns EINVALID when s is not valid UTF-8 or holds a NUL
// character. The value is never quoted (it may be a password).
func checkText(what, s string) error {
	if !utf8.ValidString(s) {
		return podium.Errorf(podium.EINVALID, "%s is not valid UTF-8 text: send text encoded as UTF-8", what)
	}
	if strings.IndexByte(s, 0) >= 0 {
		return podium.Errorf(podium.EINVALID, "%s contains a NUL character, which text may not hold", what)
	}
	return nil
}

// textReader checks a body as it streams: valid UTF-8, no NUL byte. It
// keeps the bytes of a character split between two reads.
type textReader struct {
	pending []byte
	off     int64
}

func (t *textReader) check(p []byte, eof bool) error {
	buf := p
	if len(t.pending) > 0 {
		buf = append(t.pending, p...)
	}
	i := 0
	for i < len(buf) {
		if buf[i] < utf8.RuneSelf {
			if buf[i] == 0 {
				return podium.Errorf(podium.EINVALID, "the request body holds a NUL byte at byte %d: it is not text", t.off+int64(i))
			}
			i++
			continue
		}
		if !utf8.FullRune(buf[i:]) {
			break
		}
		r, size := utf8.DecodeRune(buf[i:])
		if r == utf8.RuneError && size == 1 {
			return podium.Errorf(podium.EINVALID, "the request body is not valid UTF-8 text (byte %d): send text encoded as UTF-8", t.off+int64(i))
		}
		i += size
	}
	t.off += int64(i)
	t.pending = append(t.pending[:0], buf[i:]...)
	if eof && len(t.pending) > 0 {
		return podium.Errorf(podium.EINVALID, "the request body ends inside a UTF-8 character (byte %d): it is not text", t.off)
	}
	return nil
}

// SlowBodyError is the error of a request body read that fell under the
// minimum upload rate: answered 408, and the connection is closed.
type SlowBodyError struct {
	Rate   int64
	Window time.Duration
}

func (e *SlowBodyError) Error() string {
	return fmt.Sprintf("the request body arrived slower than %d bytes/s over %s ([HTTP] MinUploadRate): the upload was stopped; "+
		"try again on a faster link, or ask the administrator to lower [HTTP] MinUploadRate", e.Rate, e.Window)
}

// edgeBody is the request body as handlers see it: metered against the
// minimum upload rate (each window of UploadRateWindow must bring quota
// bytes, else the read deadline fires) and, for JSON, checked as text.
type edgeBody struct {
	raw    io.ReadCloser
	rc     *http.ResponseController
	window time.Duration
	quota  int64
	text   *textReader

	got   int64 // bytes in the current window
	armed bool
	read  bool // anything was read (a 100-continue was answered)
	eof   bool
	err   error
}

func (b *edgeBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	b.read = true
	if b.window > 0 && !b.armed {
		// Armed at the first read, not at the request's start: a handler
		// may check credentials before it reads.
		b.armed = true
		_ = b.rc.SetReadDeadline(time.Now().Add(b.window))
	}
	n, err := b.raw.Read(p)
	if b.window > 0 && err == nil {
		b.got += int64(n)
		if b.got >= b.quota {
			b.got = 0
			_ = b.rc.SetReadDeadline(time.Now().Add(b.window))
		}
	}
	// At EOF net/http has cleared the deadline for its background read:
	// never set one again, or that read would end the request's context.
	if err == io.EOF {
		b.eof = true
	}
	if err != nil && err != io.EOF {
		var ne net.Error
		if b.window > 0 && (errors.As(err, &ne) && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded)) {
			err = &SlowBodyError{Rate: b.quota * int64(time.Second) / int64(b.window), Window: b.window}
		}
		b.err = err
		return n, err
	}
	if b.text != nil {
		if terr := b.text.check(p[:n], err == io.EOF); terr != nil {
			b.err = terr
			return 0, terr
		}
	}
	return n, err
}

func (b *edgeBody) Close() error { return b.raw.Close() }

// afterHandler arms the read deadline for what net/http reads of the body
// after the handler returns. At EOF, or after a read error, there is
// nothing left to read (and at EOF net/http's background read must keep
// no deadline).
func (b *edgeBody) afterHandler() {
	if b.window <= 0 || b.eof || b.err != nil {
		return
	}
	_ = b.rc.SetReadDeadline(time.Now().Add(b.window))
}

// drain reads and discards the rest of an oversized body, at most max
// bytes within d, so that a client still sending reads the answer rather
// than a reset. It gives up (the connection then closes) at the bounds.
// A client that asked "Expect: 100-continue" and was never told to go on
// sends nothing more: nothing to drain.
func (b *edgeBody) drain(req *http.Request, max int64, d time.Duration) {
	if b.eof || b.err != nil {
		return
	}
	if !b.read && strings.EqualFold(req.Header.Get("Expect"), "100-continue") {
		return
	}
	_ = b.rc.SetReadDeadline(time.Now().Add(d))
	_, _ = io.Copy(io.Discard, io.LimitReader(b.raw, max))
}

// deadlineWriter gives each write of the response a fresh write deadline
// of d: a client that stops reading is cut after d, a client that keeps
// reading is never cut (a long download, an SSE stream). A hijacked
// connection (a proxied WebSocket) has its deadlines cleared and is left
// alone.
type deadlineWriter struct {
	http.ResponseWriter
	rc       *http.ResponseController
	d        time.Duration
	hijacked bool
}

func (w *deadlineWriter) arm() {
	if !w.hijacked {
		_ = w.rc.SetWriteDeadline(time.Now().Add(w.d))
	}
}

func (w *deadlineWriter) finish() { w.arm() }

func (w *deadlineWriter) WriteHeader(code int) {
	w.arm()
	w.ResponseWriter.WriteHeader(code)
}

func (w *deadlineWriter) Write(p []byte) (int, error) {
	w.arm()
	return w.ResponseWriter.Write(p)
}

// Flush flushes with a fresh deadline.
func (w *deadlineWriter) Flush() {
	w.arm()
	_ = w.rc.Flush()
}

// Hijack hands the connection over with no deadline: a WebSocket may stay
// quiet for as long as its peers like.
func (w *deadlineWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, rw, err := w.rc.Hijack()
	if err != nil {
		return conn, rw, err
	}
	w.hijacked = true
	_ = conn.SetDeadline(time.Time{})
	return conn, rw, nil
}

// Unwrap lets http.ResponseController reach the connection.
func (w *deadlineWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// isNoSpace reports whether err comes from a full filesystem (or quota).
func isNoSpace(err error) bool { return publish.IsNoSpace(err) }
