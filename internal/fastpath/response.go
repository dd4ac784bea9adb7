package fastpath

import (
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/net/http/httpguts"
)

// bufferBeforeChunking is how much body net/http holds before it sends
// the head: a handler that writes less and returns gets a Content-Length,
// and the first bytes are what an absent Content-Type is sniffed from.
const bufferBeforeChunking = 2048

// response is the fast loop's http.ResponseWriter. It writes what
// net/http's response writes for the same calls (the same status line,
// headers and body; its chunk sizes may differ), following net/http's
// chunkWriter.writeHeader rule by rule.
type response struct {
	c      *conn
	req    *http.Request
	isHEAD bool
	// header is the handler's (Header()); head is the copy taken at
	// WriteHeader, which the head is written from, as net/http's:
	// headers set later are trailers or nothing.
	header, head http.Header

	status      int
	wroteHeader bool // a final (non-1xx) status was set
	committed   bool // the head is in the connection's write buffer
	chunking    bool
	handlerDone bool
	// contentLength is the body's declared length, -1 when undeclared.
	contentLength int64
	written       int64
	buf           []byte // body held before the head commits
	trailers      []string
	closeAfter    bool
	err           error // the first write error: the connection is done
}

func newResponse(c *conn, req *http.Request, closeAfter bool) *response {
	return &response{c: c, req: req, isHEAD: req.Method == http.MethodHead, header: make(http.Header, 8),
		contentLength: -1, closeAfter: closeAfter}
}

func (w *response) Header() http.Header { return w.header }

// Status is the final status set so far (0 before WriteHeader or Write),
// for the lane's metrics.
func (w *response) Status() int { return w.status }

func (w *response) WriteHeader(code int) {
	if w.wroteHeader {
		return // net/http logs "superfluous WriteHeader"; the first status stands
	}
	if code < 100 || code > 999 {
		panic("invalid WriteHeader code " + strconv.Itoa(code)) // as net/http's checkWriteHeaderCode
	}
	if code >= 100 && code <= 199 && code != http.StatusSwitchingProtocols {
		// An interim answer (103 Early Hints): sent at once, as net/http.
		w.writeStatusLine(code)
		for k, vv := range w.header {
			if k == "Content-Length" || k == "Transfer-Encoding" || strings.HasPrefix(k, http.TrailerPrefix) || k == "Trailer" {
				continue
			}
			for _, v := range vv {
				w.writeField(k, v)
			}
		}
		w.c.bw.WriteString("\r\n")
		w.noteErr(w.c.bw.Flush())
		return
	}
	w.wroteHeader = true
	w.status = code
	w.head = w.header.Clone()
	if cl := headerGet(w.header, "Content-Length"); cl != "" {
		if v, err := strconv.ParseInt(cl, 10, 64); err == nil && v >= 0 {
			w.contentLength = v
		} else {
			delete(w.header, "Content-Length")
		}
	}
}

func (w *response) Write(p []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if len(p) == 0 {
		return 0, nil
	}
	if !bodyAllowedForStatus(w.status) {
		return 0, http.ErrBodyNotAllowed
	}
	w.written += int64(len(p))
	if w.contentLength != -1 && w.written > w.contentLength {
		return 0, http.ErrContentLength
	}
	if w.err != nil {
		return 0, w.err
	}
	if !w.committed {
		if len(w.buf)+len(p) <= bufferBeforeChunking {
			w.buf = append(w.buf, p...)
			return len(p), nil
		}
		// What net/http's 2 KiB buffer would pass on first: the held
		// bytes and this write.
		first := append(w.buf, p...)
		w.commit(first)
		w.body(first)
		w.buf = first[:0]
		return len(p), w.err
	}
	w.body(p)
	return len(p), w.err
}

// WriteString lets io.WriteString skip a copy.
func (w *response) WriteString(s string) (int, error) { return w.Write([]byte(s)) }

// Flush sends the head and what is held, as net/http's Flush.
func (w *response) Flush() { _ = w.FlushError() }

// FlushError is Flush reporting the write's error (http.ResponseController).
func (w *response) FlushError() error {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	w.flushHeld()
	w.noteErr(w.c.bw.Flush())
	return w.err
}

// SetWriteDeadline and SetReadDeadline serve http.ResponseController.
func (w *response) SetWriteDeadline(t time.Time) error { return w.c.c.SetWriteDeadline(t) }
func (w *response) SetReadDeadline(t time.Time) error  { return w.c.c.SetReadDeadline(t) }

// EnableFullDuplex: a fast-path request has no body to read while
// answering, so there is nothing to enable.
func (w *response) EnableFullDuplex() error { return nil }

func (w *response) flushHeld() {
	if !w.committed {
		w.commit(w.buf)
		w.body(w.buf)
		w.buf = w.buf[:0]
	}
}

// finish ends the response after the handler returned (net/http's
// finishRequest) and reports whether the connection may serve another
// request.
func (w *response) finish() bool {
	w.handlerDone = true
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	w.flushHeld()
	if w.chunking {
		w.c.bw.WriteString("0\r\n")
		for k, vv := range w.finalTrailers() {
			for _, v := range vv {
				w.writeField(k, v)
			}
		}
		w.c.bw.WriteString("\r\n")
	}
	w.noteErr(w.c.bw.Flush())
	if !w.isHEAD && w.contentLength != -1 && bodyAllowedForStatus(w.status) && w.contentLength != w.written {
		w.closeAfter = true // the body is short: the client cannot tell where the next answer starts
	}
	return w.err == nil && !w.closeAfter
}

func (w *response) noteErr(err error) {
	if err != nil && w.err == nil {
		w.err = err
	}
}

// body writes p to the connection, framed as a chunk when chunking. A
// HEAD request's body is counted, never sent.
func (w *response) body(p []byte) {
	if len(p) == 0 || w.isHEAD || !bodyAllowedForStatus(w.status) {
		return
	}
	bw := w.c.bw
	if w.chunking {
		var n [16]byte
		bw.Write(strconv.AppendInt(n[:0], int64(len(p)), 16))
		bw.WriteString("\r\n")
		bw.Write(p)
		bw.WriteString("\r\n")
	} else {
		bw.Write(p)
	}
	if bw.Buffered() == 0 || len(p) >= bufSize {
		// bufio wrote through: note its error now.
		w.noteErr(bw.Flush())
	}
}

// commit writes the head, deciding the framing from the handler's headers
// and p, the first bytes of the body: net/http's chunkWriter.writeHeader
// for an HTTP/1.1 request without a body.
func (w *response) commit(p []byte) {
	w.committed = true
	h := w.head
	var exclude map[string]bool
	del := func(k string) {
		if _, ok := h[k]; !ok {
			return
		}
		if exclude == nil {
			exclude = map[string]bool{}
		}
		exclude[k] = true
	}
	var setCL, setType, setConn, setTE string

	trailers := false
	for k := range h {
		if strings.HasPrefix(k, http.TrailerPrefix) {
			if exclude == nil {
				exclude = map[string]bool{}
			}
			exclude[k] = true
			trailers = true
		}
	}
	for _, v := range h["Trailer"] {
		trailers = true
		for _, f := range strings.Split(v, ",") {
			if f = textproto.TrimString(f); f != "" {
				w.declareTrailer(f)
			}
		}
	}
	te := headerGet(h, "Transfer-Encoding")
	hasTE := te != ""
	if w.handlerDone && !trailers && !hasTE && bodyAllowedForStatus(w.status) && !headerHas(h, "Content-Length") && (!w.isHEAD || len(p) > 0) {
		w.contentLength = int64(len(p))
		setCL = strconv.Itoa(len(p))
	}
	hasCL := w.contentLength != -1
	if headerGet(h, "Connection") == "close" || w.c.s.closing.Load() {
		w.closeAfter = true
	}
	if bodyAllowedForStatus(w.status) {
		_, haveType := h["Content-Type"]
		if headerGet(h, "Content-Encoding") == "" && !haveType && !hasTE && len(p) > 0 {
			setType = http.DetectContentType(p)
		}
	} else {
		for _, k := range suppressedHeaders(w.status) {
			del(k)
		}
	}
	var date []byte
	if !headerHas(h, "Date") {
		date = appendDate()
	}
	if hasCL && hasTE && te != "identity" {
		del("Content-Length")
		hasCL = false
	}
	switch {
	case w.isHEAD || !bodyAllowedForStatus(w.status) || w.status == http.StatusNoContent:
		del("Transfer-Encoding")
	case hasCL:
		del("Transfer-Encoding")
	case hasTE && te == "identity":
		w.chunking = false
		w.closeAfter = true
		del("Transfer-Encoding")
	default:
		w.chunking = true
		setTE = "chunked"
		if hasTE && te == "chunked" {
			del("Transfer-Encoding")
		}
	}
	if w.chunking {
		del("Content-Length")
	}
	if w.closeAfter && (w.c.s.closing.Load() || !httpguts.HeaderValuesContainsToken(h["Connection"], "close")) {
		del("Connection")
		setConn = "close"
	}

	w.writeStatusLine(w.status)
	if err := h.WriteSubset(w.c.bw, exclude); err != nil {
		w.noteErr(err)
	}
	bw := w.c.bw
	if date != nil {
		bw.WriteString("Date: ")
		bw.Write(date)
		bw.WriteString("\r\n")
	}
	if setCL != "" {
		w.writeField("Content-Length", setCL)
	}
	if setType != "" {
		w.writeField("Content-Type", setType)
	}
	if setConn != "" {
		w.writeField("Connection", setConn)
	}
	if setTE != "" {
		w.writeField("Transfer-Encoding", setTE)
	}
	bw.WriteString("\r\n")
}

func (w *response) declareTrailer(k string) {
	k = http.CanonicalHeaderKey(k)
	if !httpguts.ValidTrailerHeader(k) {
		return
	}
	w.trailers = append(w.trailers, k)
}

// finalTrailers are the trailers net/http would send: those set under
// http.TrailerPrefix and those declared in the Trailer header.
func (w *response) finalTrailers() http.Header {
	var t http.Header
	for k, vv := range w.header {
		if kk, ok := strings.CutPrefix(k, http.TrailerPrefix); ok {
			if t == nil {
				t = http.Header{}
			}
			t[kk] = vv
		}
	}
	for _, k := range w.trailers {
		for _, v := range w.header[k] {
			if t == nil {
				t = http.Header{}
			}
			t.Add(k, v)
		}
	}
	return t
}

func (w *response) writeStatusLine(code int) {
	bw := w.c.bw
	bw.WriteString("HTTP/1.1 ")
	var n [8]byte
	bw.Write(strconv.AppendInt(n[:0], int64(code), 10))
	if text := http.StatusText(code); text != "" {
		bw.WriteByte(' ')
		bw.WriteString(text)
		bw.WriteString("\r\n")
	} else {
		bw.WriteString(" status code ")
		bw.Write(strconv.AppendInt(n[:0], int64(code), 10))
		bw.WriteString("\r\n")
	}
}

// writeField writes one header line, with net/http's cleaning of the
// value (line breaks become spaces).
func (w *response) writeField(k, v string) {
	bw := w.c.bw
	bw.WriteString(k)
	bw.WriteString(": ")
	if strings.ContainsAny(v, "\r\n") {
		v = strings.NewReplacer("\r\n", " ", "\r", " ", "\n", " ").Replace(v)
	}
	bw.WriteString(strings.TrimSpace(v))
	bw.WriteString("\r\n")
}

func headerGet(h http.Header, k string) string {
	if v := h[k]; len(v) > 0 {
		return v[0]
	}
	return ""
}

func headerHas(h http.Header, k string) bool {
	_, ok := h[k]
	return ok
}

func bodyAllowedForStatus(status int) bool {
	switch {
	case status >= 100 && status <= 199, status == http.StatusNoContent, status == http.StatusNotModified:
		return false
	}
	return true
}

func suppressedHeaders(status int) []string {
	switch {
	case status == http.StatusNotModified:
		return []string{"Content-Type", "Content-Length", "Transfer-Encoding"}
	case !bodyAllowedForStatus(status):
		return []string{"Content-Length", "Transfer-Encoding"}
	}
	return nil
}

// Date is the Date header's value for now, as net/http writes it.
func Date() []byte { return appendDate() }

// appendDate returns the Date header's value for now, formatted once a
// second (every answer of a second carries the same value).
func appendDate() []byte {
	now := time.Now().Unix()
	if d := dateCache.Load(); d != nil && d.sec == now {
		return d.text
	}
	d := &cachedDate{sec: now, text: time.Unix(now, 0).UTC().AppendFormat(nil, http.TimeFormat)}
	dateCache.Store(d)
	return d.text
}

type cachedDate struct {
	sec  int64
	text []byte
}

var dateCache atomic.Pointer[cachedDate]
