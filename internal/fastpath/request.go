package fastpath

import (
	"bytes"
	"context"
	"net/http"
	"net/textproto"
	"net/url"

	"golang.org/x/net/http/httpguts"
)

// maxHeaders bounds the header lines of a request the fast loop takes;
// more go to net/http.
const maxHeaders = 64

// reqState is one connection's parse of its current request head; the
// fast loop reuses it from request to request.
type reqState struct {
	method     string
	target     []byte // in the connection's read buffer
	host       string
	fields     []Field // in the connection's read buffer; reused
	wantsClose bool
}

// Field is one header line of a request the fast loop read: its canonical
// name and its value, trimmed, as it sits in the connection's read buffer
// (valid until the request is answered).
type Field struct {
	Key   string
	Value []byte
}

// parse reads head (the request line through the blank line) and reports
// whether the fast loop may serve it: anything it is not sure to read as
// net/http does is false, and net/http gets the request.
func (r *reqState) parse(head []byte, simple func(string, []byte) bool) bool {
	line, rest, ok := CutLine(head)
	if !ok {
		return false
	}
	var method string
	switch {
	case bytes.HasPrefix(line, []byte("GET ")):
		method, line = http.MethodGet, line[4:]
	case bytes.HasPrefix(line, []byte("HEAD ")):
		method, line = http.MethodHead, line[5:]
	default:
		return false
	}
	target, ok := bytes.CutSuffix(line, []byte(" HTTP/1.1"))
	if !ok || len(target) == 0 || target[0] != '/' || bytes.IndexByte(target, ' ') >= 0 || !printable(target) {
		return false
	}
	if simple != nil && !simple(method, target) {
		return false
	}
	fields := r.fields[:0]
	host := ""
	hosts, lines := 0, 0
	wantsClose := false
	for len(rest) > 0 {
		line, rest, ok = CutLine(rest)
		if !ok {
			return false
		}
		if len(line) == 0 {
			break // the blank line
		}
		if lines++; lines > maxHeaders {
			return false
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			return false
		}
		name, value := line[:colon], textproto.TrimBytes(line[colon+1:])
		if !httpguts.ValidHeaderFieldName(string(name)) || !httpguts.ValidHeaderFieldValue(string(value)) {
			return false
		}
		key := canonicalKey(name)
		switch key {
		case "Host":
			hosts++
			if hosts == 1 {
				host = string(value)
			}
			continue // net/http moves it to Request.Host
		case "Content-Length", "Transfer-Encoding", "Expect", "Upgrade", "Trailer", "Te",
			"Http2-Settings", "Proxy-Connection", "Keep-Alive":
			return false // a body, an interim answer, an upgrade: net/http's
		case "Accept":
			if bytes.Contains(value, []byte("text/event-stream")) {
				// An EventSource: a stream that may stay silent for long,
				// whose client's leaving only net/http's background read
				// notices (the fast loop does not watch the connection
				// while a request is served).
				return false
			}
		case "Connection":
			switch {
			case bytes.EqualFold(value, []byte("close")):
				wantsClose = true
			case bytes.EqualFold(value, []byte("keep-alive")):
			default:
				return false // a list, or a token asking for more
			}
		}
		fields = append(fields, Field{Key: key, Value: value})
	}
	r.fields = fields
	if hosts != 1 || !httpguts.ValidHostHeader(host) {
		return false // net/http answers 400
	}
	r.method, r.target, r.host, r.wantsClose = method, target, host, wantsClose
	return true
}

// header builds the request's http.Header from its fields, as net/http's
// would be.
func (r *reqState) header() http.Header {
	h := make(http.Header, len(r.fields)+1)
	for _, f := range r.fields {
		h[f.Key] = append(h[f.Key], string(f.Value))
	}
	// As net/http (RFC 7234, section 5.4): "Pragma: no-cache" stands for
	// "Cache-Control: no-cache" when there is none.
	if hp, ok := h["Pragma"]; ok && len(hp) > 0 && hp[0] == "no-cache" {
		if _, ok := h["Cache-Control"]; !ok {
			h["Cache-Control"] = []string{"no-cache"}
		}
	}
	return h
}

// request builds the http.Request net/http would have built for the head
// parse read.
func (r *reqState) request(ctx context.Context, remote string) *http.Request {
	target := string(r.target)
	u, err := url.ParseRequestURI(target)
	if err != nil {
		u = &url.URL{Path: target} // printable and starting with "/": parse never fails on it
	}
	return (&http.Request{
		Method:     r.method,
		URL:        u,
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     r.header(),
		Body:       http.NoBody,
		Host:       r.host,
		RemoteAddr: remote,
		RequestURI: target,
		Close:      r.wantsClose,
	}).WithContext(ctx)
}

// CutLine cuts b at its first CRLF. A bare LF or CR is refused (net/http
// accepts a bare LF; the fast loop leaves such requests to it, and the
// raw lane such answers to net/http's reading).
func CutLine(b []byte) (line, rest []byte, ok bool) {
	i := bytes.IndexByte(b, '\n')
	if i < 1 || b[i-1] != '\r' {
		return nil, nil, false
	}
	line = b[:i-1]
	if bytes.IndexByte(line, '\r') >= 0 {
		return nil, nil, false
	}
	return line, b[i+1:], true
}

// printable reports whether b is visible ASCII only (a request target).
func printable(b []byte) bool {
	for _, c := range b {
		if c <= ' ' || c >= 0x7f {
			return false
		}
	}
	return true
}

// commonKeys are the canonical forms of the header names most requests
// carry, so that canonicalKey allocates nothing for them.
var commonKeys = func() map[string]string {
	m := map[string]string{}
	for _, k := range []string{"Accept", "Accept-Encoding", "Accept-Language", "Authorization", "Cache-Control",
		"Connection", "Content-Length", "Content-Type", "Cookie", "Host", "If-Modified-Since", "If-None-Match",
		"Origin", "Pragma", "Referer", "Sec-Fetch-Dest", "Sec-Fetch-Mode", "Sec-Fetch-Site", "Sec-Fetch-User",
		"Upgrade-Insecure-Requests", "User-Agent", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto",
		"X-Real-Ip", "X-Request-Id", "Range", "If-Range", "Priority", "Sec-Ch-Ua", "Sec-Ch-Ua-Mobile", "Sec-Ch-Ua-Platform", "Dnt"} {
		m[k] = k
	}
	return m
}()

// canonicalKey is textproto.CanonicalMIMEHeaderKey of name, without an
// allocation when name is already a common canonical key.
func canonicalKey(name []byte) string {
	if k, ok := commonKeys[string(name)]; ok {
		return k
	}
	return textproto.CanonicalMIMEHeaderKey(string(name))
}
