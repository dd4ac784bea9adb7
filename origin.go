package podium

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// ContentCookie is the name of the cookie that lets a reader reach
// restricted content on the content origin ([Server] ContentURL). It is
// never the dashboard session: it is signed for that origin alone and
// opens nothing else (see docs/security.md).
const ContentCookie = "podium_content"

// CookiePrefix starts the name of every cookie Podium sets (after
// HostCookiePrefix, for some): hosted apps may never set, change or delete
// a cookie whose name starts with it.
const CookiePrefix = "podium_"

// HostCookiePrefix starts the name of a cookie that browsers accept only
// from a secure origin, without Domain (host-only) and with Path=/: no
// other host can set it, not even a sibling sub-domain ("cookie
// tossing").
const HostCookiePrefix = "__Host-"

// ContentCookieName returns the name of the content origin's cookie on an
// origin of scheme: ContentCookie, behind HostCookiePrefix on https, so
// that in the wildcard form one content item's script cannot set it for
// another item's host (it could, with Domain= the parent domain, without
// the prefix: a reader would then see that item as the attacker's
// account). Browsers allow the prefix on https only.
func ContentCookieName(scheme string) string {
	if scheme == "https" {
		return HostCookiePrefix + ContentCookie
	}
	return ContentCookie
}

// Origin is a scheme and a host (with its port when it is not the
// scheme's default), lower-case: what browsers compare to tell origins
// apart.
type Origin struct {
	Scheme string // "http" or "https"
	Host   string // host or host:port, the port only when not the default
}

// String returns "scheme://host[:port]".
func (o Origin) String() string { return o.Scheme + "://" + o.Host }

// Hostname returns the host without its port.
func (o Origin) Hostname() string {
	if h, _, err := net.SplitHostPort(o.Host); err == nil {
		return h
	}
	return strings.Trim(o.Host, "[]")
}

// NormalHost returns host (a request's Host header, "host[:port]")
// lower-cased and without the default port of scheme, for comparing with
// an Origin's Host.
func NormalHost(scheme, host string) string {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if h, p, err := net.SplitHostPort(host); err == nil &&
		((scheme == "http" && p == "80") || (scheme == "https" && p == "443")) {
		if strings.Contains(h, ":") {
			return "[" + h + "]"
		}
		return h
	}
	return host
}

// ParseAddress parses [Server] Address, the public URL of the dashboard
// and the API: an http or https URL with a host and no query, user or
// fragment; a path (a sub-path behind a proxy) is kept without its
// trailing slash.
func ParseAddress(s string) (o Origin, path string, err error) {
	u, err := parseHTTPURL(s)
	if err != nil {
		return o, "", err
	}
	if strings.Contains(u.Host, "*") {
		return o, "", fmt.Errorf("must not contain a wildcard")
	}
	return Origin{Scheme: u.Scheme, Host: NormalHost(u.Scheme, u.Host)}, strings.TrimRight(u.Path, "/"), nil
}

// ContentOrigin is where user content is served ([Server] ContentURL):
// one origin for every content item, or with Wildcard one sub-domain per
// content item ({guid}.Host), so that items cannot reach each other
// either.
type ContentOrigin struct {
	Scheme   string
	Host     string // without the "*." of the wildcard form
	Wildcard bool
}

// ParseContentURL parses [Server] ContentURL: "http(s)://host[:port]" or
// "http(s)://*.host[:port]", with no path, query, user or fragment.
func ParseContentURL(s string) (*ContentOrigin, error) {
	u, err := parseHTTPURL(s)
	if err != nil {
		return nil, err
	}
	if u.Path != "" && u.Path != "/" {
		return nil, fmt.Errorf("must be an origin without a path (content is served at /content/{guid}/ under it)")
	}
	host := NormalHost(u.Scheme, u.Host)
	o := &ContentOrigin{Scheme: u.Scheme, Host: host}
	if rest, ok := strings.CutPrefix(host, "*."); ok {
		o.Host, o.Wildcard = rest, true
	}
	if strings.Contains(o.Host, "*") {
		return nil, fmt.Errorf("a wildcard may only be the first label (http://*.content.example)")
	}
	if o.Wildcard && net.ParseIP(o.Origin("").Hostname()) != nil {
		return nil, fmt.Errorf("a wildcard needs a host name, not an IP address")
	}
	return o, nil
}

// Origin returns the origin of content guid (the same for every guid
// unless Wildcard).
func (o *ContentOrigin) Origin(guid string) Origin {
	if o.Wildcard && guid != "" {
		return Origin{Scheme: o.Scheme, Host: strings.ToLower(guid) + "." + o.Host}
	}
	return Origin{Scheme: o.Scheme, Host: o.Host}
}

// String returns the setting as written: "scheme://[*.]host[:port]".
func (o *ContentOrigin) String() string {
	if o.Wildcard {
		return o.Scheme + "://*." + o.Host
	}
	return o.Scheme + "://" + o.Host
}

// Match reports whether a request for host (its Host header) is for the
// content origin. In the wildcard form label is the sub-domain (a content
// GUID, not checked here); otherwise "".
//
// A Host without a port matches a ContentURL with one when the host names
// are equal: some proxies (nginx's $host) drop the port. That never makes
// the dashboard's origin a content origin: config refuses a ContentURL on
// the host of [Server] Address.
func (o *ContentOrigin) Match(host string) (label string, ok bool) {
	h := NormalHost(o.Scheme, host)
	if _, _, err := net.SplitHostPort(h); err != nil {
		if oh, _, err := net.SplitHostPort(o.Host); err == nil {
			if strings.HasPrefix(oh, "[") || strings.Contains(oh, ":") {
				oh = "[" + strings.Trim(oh, "[]") + "]"
			}
			ours := *o
			ours.Host = oh
			return ours.Match(h)
		}
	}
	if !o.Wildcard {
		return "", h == o.Host
	}
	label, rest, found := strings.Cut(h, ".")
	if !found || rest != o.Host || label == "" {
		return "", false
	}
	return label, true
}

func parseHTTPURL(s string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil {
		return nil, fmt.Errorf("is not a URL: write it as https://host[:port]")
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("must start with http:// or https://")
	case u.Host == "":
		return nil, fmt.Errorf("needs a host, e.g. https://podium.example")
	case u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "":
		return nil, fmt.Errorf("must not carry a user, query or fragment")
	}
	return u, nil
}
