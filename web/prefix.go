package web

import (
	"net"
	"net/http"
	"regexp"
	"strings"
)

// PrefixHeader is the header a trusted proxy sets to the sub-path it
// serves Podium under (for example "/podium"), after removing that
// sub-path from the request's path.
const PrefixHeader = "X-Forwarded-Prefix"

// prefixPattern is what a sub-path may look like: slash-separated plain
// segments, no "//", "." or "..", nothing that needs escaping in HTML or in
// a cookie's Path.
var prefixPattern = regexp.MustCompile(`^(/[A-Za-z0-9_~-][A-Za-z0-9._~-]*)+$`)

// ExternalPrefix returns the sub-path r came through, for building links,
// redirects and cookie paths that the browser will send back: the
// X-Forwarded-Prefix header without its trailing slash when the direct peer
// is in trusted ([HTTP] TrustedProxies) and the value is a plain path, else
// "". Anyone else's header is ignored, so a client cannot point Podium's
// redirects elsewhere.
func ExternalPrefix(r *http.Request, trusted []*net.IPNet) string {
	h := strings.TrimRight(r.Header.Get(PrefixHeader), "/")
	if h == "" || !prefixPattern.MatchString(h) || strings.Contains(h, "/../") || strings.HasSuffix(h, "/..") {
		return ""
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return ""
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return ""
	}
	for _, n := range trusted {
		if n.Contains(ip) {
			return h
		}
	}
	return ""
}
