package apps

import (
	"bufio"
	"bytes"
	"errors"
	"net/http"
	"net/textproto"
	"strconv"

	"github.com/podiumhq/podium/internal/fastpath"
	"golang.org/x/net/http/httpguts"
)

// RawHeader is a header the raw lane's answer carries besides the app's
// (web's request id, HSTS, node header).
type RawHeader struct{ Key, Value string }

// ServeRaw is ServeFast for fastpath's raw lane: a GET from the fast
// connection loop, already granted, proxied in bytes. The request head is
// written to the process from the loop's parse; the answer is passed on
// as bytes when it is an ordinary one (HTTP/1.1, a status net/http has a
// text for, a Content-Length, a Content-Type, no cookies, no streaming,
// no trailers, no interim answers): the common answer of an API. What
// the client receives is what the direct path would have sent through
// net/http, header for header (the order of different headers aside):
// the app's headers less the hop-by-hop ones, the extra headers, Date
// when the app sent none, "Connection: close" when the connection ends.
//
// Any other answer, and a process that does not answer, is finished
// through the loop's fallback ResponseWriter by the direct path's own
// code (answerDirect, directError), from the bytes still unread. Before
// anything is sent, ServeRaw declines (status 0) what it leaves to
// ServeApp: the standard proxy path, content headers to set, an app that
// is gone or cannot be asked. A request that finds every process full
// waits its turn, as in ServeApp, and gets ServeApp's 503 when none
// comes within InitTimeout.
//
// accepted runs once the request is the lane's, before it is proxied. The
// status is the answer's (0: declined, nothing written); keep reports
// whether the client connection may serve another request.
func (s *Supervisor) ServeRaw(r *fastpath.RawRequest, guid string, extra []RawHeader, accepted func()) (status int, keep bool) {
	if r.Method != http.MethodGet || s.opts.Proxy == ProxyStandard || s.opts.ContentHeaders != nil {
		return 0, false
	}
	path, query, _ := bytes.Cut(r.Target, []byte{'?'})
	hasQuery := len(path) < len(r.Target)
	prefix := "/content/" + guid
	if !bytes.HasPrefix(path, []byte(prefix+"/")) {
		return 0, false
	}
	ctx := r.Context()
	pl := s.pool(guid)
	s.refresh(ctx, pl, false)
	// Queued like ServeApp's requests when every process is full: a lane
	// that declined queued requests would send them, at the load where
	// it matters most, down the costlier path to queue there.
	p, err := s.acquire(ctx, pl, true)
	if err != nil {
		var ue *errUnavailable
		if !errors.As(err, &ue) {
			return 0, false // gone, or another failure: the chain's answer
		}
		// No room within InitTimeout, or no process: ServeApp's 503.
		accepted()
		w, _ := r.Fallback()
		setRaw(w.Header(), extra)
		_ = s.unavailable(w, pl, err)
		return http.StatusServiceUnavailable, false
	}
	defer s.release(pl, p)
	accepted()

	uc, reused, err := p.up.get(ctx, s.opts.Now())
	if err != nil {
		return s.rawError(r, pl, p, extra, err)
	}
	var head []byte
	uc, err = p.up.retryStale(ctx, uc, reused, true, func(c *upConn) error {
		// A client that leaves ends the wait for the process, as on the
		// direct path: the connection is closed, the app sees its
		// client leave.
		if r.OnGone(c.conn) {
			return errClientGone
		}
		var err error
		head, err = s.rawRoundTrip(c, r, path, query, hasQuery, prefix, p.keepPrefix, p.up.host)
		return err
	})
	keepUp := false
	defer func() {
		if r.OnGone(nil) {
			keepUp = false // closed, or to be: the client left
		}
		switch {
		case uc == nil:
		case keepUp:
			p.up.put(uc, s.opts.Now())
		default:
			uc.conn.Close()
		}
	}()
	if err != nil {
		if r.OnGone(nil) {
			return statusClientClosed, false // nobody to answer, nothing the app did wrong
		}
		return s.rawError(r, pl, p, extra, err)
	}
	var a rawAnswer
	if head == nil || !a.parse(head) {
		// Not an answer to pass on as bytes: net/http's semantics, from
		// the head still unread.
		w, req := r.Fallback()
		setRaw(w.Header(), extra)
		uc.headEnd = uc.read + maxHead
		res, err := readFinal(w, uc.br, req)
		uc.headEnd = 0
		if err != nil {
			s.directError(&trackingWriter{ResponseWriter: w, s: s, pl: pl, p: p}, req, p, err)
			return http.StatusBadGateway, false
		}
		keepUp = s.answerDirect(&trackingWriter{ResponseWriter: w, s: s, pl: pl, p: p}, uc, res)
		return res.StatusCode, false
	}
	bw := r.Writer()
	bw.WriteString(a.statusLine)
	for _, h := range extra {
		bw.WriteString(h.Key)
		bw.WriteString(": ")
		bw.WriteString(h.Value)
		bw.WriteString("\r\n")
	}
	writeFields(bw, head)
	if !a.date {
		bw.WriteString("Date: ")
		bw.Write(fastpath.Date())
		bw.WriteString("\r\n")
	}
	if r.Close {
		bw.WriteString("Connection: close\r\n")
	}
	bw.WriteString("\r\n")
	_, _ = uc.br.Discard(len(head))
	for rem := a.length; rem > 0; {
		if uc.br.Buffered() == 0 {
			if _, err := uc.br.Peek(1); err != nil {
				return a.status, false // the answer broke off: cut the client's connection too
			}
		}
		n := int(min(rem, int64(uc.br.Buffered())))
		b, _ := uc.br.Peek(n)
		if _, err := bw.Write(b); err != nil {
			return a.status, false
		}
		_, _ = uc.br.Discard(n)
		rem -= int64(n)
	}
	keepUp = !a.closeUp && uc.br.Buffered() == 0
	return a.status, !r.Close
}

// statusClientClosed is the status the raw lane reports (to metrics) for a
// request whose client left before its answer came: nginx's 499.
const statusClientClosed = 499

var errClientGone = errors.New("the client left")

// rawError answers, through the fallback, a request whose process did not
// answer, as directError does on the direct path.
func (s *Supervisor) rawError(r *fastpath.RawRequest, pl *pool, p *process, extra []RawHeader, err error) (int, bool) {
	w, req := r.Fallback()
	setRaw(w.Header(), extra)
	s.directError(&trackingWriter{ResponseWriter: w, s: s, pl: pl, p: p}, req, p, err)
	return http.StatusBadGateway, false
}

func setRaw(h http.Header, extra []RawHeader) {
	for _, x := range extra {
		h.Set(x.Key, x.Value)
	}
}

// rawRoundTrip writes the request head to uc as writeDirectHead writes
// it, and returns the answer's head as it sits in uc's reader, unread:
// nil when it does not fit the reader's buffer.
func (s *Supervisor) rawRoundTrip(uc *upConn, r *fastpath.RawRequest, path, query []byte, hasQuery bool, prefix string, keepPrefix bool, target string) ([]byte, error) {
	bw := uc.bw
	bw.WriteString("GET ")
	if keepPrefix {
		bw.Write(path)
	} else {
		bw.Write(path[len(prefix):])
	}
	if hasQuery {
		bw.WriteByte('?')
		bw.Write(query)
	}
	bw.WriteString(" HTTP/1.1\r\nHost: ")
	if r.Host != "" {
		bw.WriteString(r.Host)
	} else {
		bw.WriteString(target)
	}
	bw.WriteString("\r\n")
	pragma, cacheControl := false, false
	var priorXFF [][]byte
	var xfProto, xfHost []byte
	for i, f := range r.Fields {
		switch f.Key {
		case "X-Forwarded-For":
			priorXFF = append(priorXFF, f.Value)
		case "X-Forwarded-Proto":
			if xfProto == nil {
				xfProto = f.Value
			}
		case "X-Forwarded-Host":
			if xfHost == nil {
				xfHost = f.Value
			}
		case "Pragma":
			pragma = pragma || (string(f.Value) == "no-cache" && firstOf(r.Fields, i))
		case "Cache-Control":
			cacheControl = true
		}
		if skipRequestHeader(f.Key) {
			continue
		}
		bw.WriteString(f.Key)
		bw.WriteString(": ")
		bw.Write(f.Value)
		bw.WriteString("\r\n")
	}
	if pragma && !cacheControl {
		// As net/http does for the request it reads (RFC 7234 5.4).
		bw.WriteString("Cache-Control: no-cache\r\n")
	}
	// As forwarded, from the fields.
	peer, trusted := s.peer(r.Remote)
	bw.WriteString("X-Forwarded-For: ")
	if trusted && len(priorXFF) > 0 {
		for _, v := range priorXFF {
			bw.Write(v)
			bw.WriteString(", ")
		}
	}
	bw.WriteString(peer)
	bw.WriteString("\r\nX-Forwarded-Proto: ")
	if v := string(xfProto); trusted && (v == "http" || v == "https") {
		bw.WriteString(v)
	} else {
		bw.WriteString("http")
	}
	bw.WriteString("\r\nX-Forwarded-Host: ")
	if trusted && len(xfHost) > 0 {
		bw.Write(xfHost)
	} else {
		bw.WriteString(r.Host)
	}
	bw.WriteString("\r\nX-Forwarded-Prefix: ")
	bw.WriteString(prefix)
	bw.WriteString("\r\n\r\n")
	if err := bw.Flush(); err != nil {
		return nil, err
	}
	return peekHead(uc.br)
}

// firstOf reports whether fields[i] is the first of its name.
func firstOf(fields []fastpath.Field, i int) bool {
	for _, f := range fields[:i] {
		if f.Key == fields[i].Key {
			return false
		}
	}
	return true
}

// peekHead waits for an answer's head in br and returns it (through the
// blank line), unread; nil when it does not fit br's buffer.
func peekHead(br *bufio.Reader) ([]byte, error) {
	n := 1
	for {
		if _, err := br.Peek(n); err != nil {
			if errors.Is(err, bufio.ErrBufferFull) {
				return nil, nil
			}
			return nil, err
		}
		buf, _ := br.Peek(br.Buffered())
		if i := bytes.Index(buf, []byte("\r\n\r\n")); i >= 0 {
			return buf[:i+4], nil
		}
		if len(buf) >= br.Size() {
			return nil, nil
		}
		n = len(buf) + 1
	}
}

// rawAnswer is an app's answer head as the raw lane passes it on.
type rawAnswer struct {
	status     int
	statusLine string
	length     int64
	date       bool // the app sent a Date
	closeUp    bool // the app closes its connection after this answer
}

// rawStatusLines are the status lines net/http writes, by status from
// 200, for the statuses the raw lane passes on ("" for the others).
var rawStatusLines = func() (lines [400]string) {
	for code := 200; code <= 599; code++ {
		if t := http.StatusText(code); t != "" && code != http.StatusNoContent && code != http.StatusNotModified {
			lines[code-200] = "HTTP/1.1 " + strconv.Itoa(code) + " " + t + "\r\n"
		}
	}
	return lines
}()

// parse reads head and reports whether the raw lane may pass the answer
// on as bytes; false leaves it to net/http's reading (readFinal), which
// also answers what is malformed.
func (a *rawAnswer) parse(head []byte) bool {
	line, rest, ok := fastpath.CutLine(head)
	if !ok || len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.1 ")) || (len(line) > 12 && line[12] != ' ') {
		return false
	}
	code := 0
	for _, c := range line[9:12] {
		if c < '0' || c > '9' {
			return false
		}
		code = code*10 + int(c-'0')
	}
	if code < 200 || rawStatusLines[code-200] == "" {
		return false
	}
	a.status, a.statusLine, a.length = code, rawStatusLines[code-200], -1
	contentType := false
	for {
		line, rest, ok = fastpath.CutLine(rest)
		if !ok {
			return false
		}
		if len(line) == 0 {
			break
		}
		name, value, ok := splitField(line)
		if !ok {
			return false
		}
		switch string(name) {
		case "Content-Length":
			if a.length != -1 || len(value) == 0 || len(value) > 18 {
				return false
			}
			var n int64
			for _, c := range value {
				if c < '0' || c > '9' {
					return false
				}
				n = n*10 + int64(c-'0')
			}
			a.length = n
		case "Transfer-Encoding", "Trailer", "Set-Cookie":
			return false
		case "Connection":
			switch {
			case bytes.EqualFold(value, []byte("close")):
				a.closeUp = true
			case bytes.EqualFold(value, []byte("keep-alive")):
			default:
				return false // headers named hop-by-hop
			}
		case "Content-Type":
			if bytes.HasPrefix(value, []byte("text/event-stream")) {
				return false // streamed: flushed as it comes, by the direct path
			}
			contentType = true
		case "Date":
			a.date = true
		}
	}
	// A body to the connection's end, or one net/http would sniff a type
	// for: the direct path's.
	return a.length != -1 && (contentType || a.length == 0)
}

// writeFields writes the header lines of head (which parse accepted) that
// the client gets: all but the hop-by-hop ones, trimmed.
func writeFields(bw *bufio.Writer, head []byte) {
	_, rest, _ := fastpath.CutLine(head)
	for {
		line, r, _ := fastpath.CutLine(rest)
		rest = r
		if len(line) == 0 {
			return
		}
		name, value, _ := splitField(line)
		switch string(name) {
		case "Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate", "Proxy-Authorization", "Te", "Upgrade":
			continue // hop-by-hop: dropped, as the direct path drops them
		}
		bw.Write(name)
		bw.WriteString(": ")
		bw.Write(value)
		bw.WriteString("\r\n")
	}
}

// splitField splits a header line into its name and trimmed value, when
// net/http would read it as it is: a valid, canonical name, a valid value,
// no obsolete folding.
func splitField(line []byte) (name, value []byte, ok bool) {
	colon := bytes.IndexByte(line, ':')
	if colon <= 0 {
		return nil, nil, false
	}
	name, value = line[:colon], textproto.TrimBytes(line[colon+1:])
	upper := true
	for _, c := range name {
		if !httpguts.IsTokenRune(rune(c)) || (upper && 'a' <= c && c <= 'z') || (!upper && 'A' <= c && c <= 'Z') {
			return nil, nil, false // not a token, or not canonical (net/http's reading would change it)
		}
		upper = c == '-'
	}
	for _, c := range value {
		if (c < ' ' && c != '\t') || c == 0x7f {
			return nil, nil, false
		}
	}
	return name, value, true
}
