package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/auth"
)

// ContentAuthPath is where a reader's browser is sent to reach restricted
// content on the content origin ([Server] ContentURL): on the main origin,
// GET ContentAuthPath?to=/content/{guid}/...&state=H checks the dashboard
// session and answers with a redirect to the same path on the content
// origin, carrying a ticket; there, the ticket is redeemed once, by the
// browser holding the state cookie whose hash is H, for the content
// origin's own cookie, and the browser is sent on to the content.
const ContentAuthPath = "/__content-auth__"

// ticketTTL is how long a ticket may wait to be redeemed: the browser
// follows the redirect at once.
const ticketTTL = 60 * time.Second

// contentOrigin is the node's content origin and what it needs to let
// readers in: the main origin's address, the key that signs tickets and
// cookies (shared by every node of a cluster), and the tickets already
// redeemed here.
type contentOrigin struct {
	*podium.ContentOrigin
	main     podium.Origin
	mainPath string // sub-path of [Server] Address, "" at the root
	key      []byte
	used     *usedTickets
	now      func() time.Time
}

// grant is what a ticket or a content cookie says, signed.
type grant struct {
	Kind    string `json:"k"`            // "ticket" or "cookie"
	UserID  int64  `json:"u"`            // the reader
	Session []byte `json:"s"`            // the dashboard session's id (auth.Session.ID)
	Scope   string `json:"o"`            // the content origin it is good for
	To      string `json:"t,omitempty"`  // ticket: the path to go on to
	Nonce   string `json:"n,omitempty"`  // ticket: redeemed once
	State   string `json:"st,omitempty"` // ticket: hash of the asking browser's state cookie
	Expires int64  `json:"e"`            // Unix seconds
}

const (
	grantTicket = "ticket"
	grantCookie = "cookie"
)

// sign returns g encoded and signed with HMAC-SHA256: "payload.mac", both
// base64url.
func (o *contentOrigin) sign(g *grant) string {
	b, _ := json.Marshal(g)
	p := base64.RawURLEncoding.EncodeToString(b)
	return p + "." + base64.RawURLEncoding.EncodeToString(o.mac(p))
}

func (o *contentOrigin) mac(payload string) []byte {
	m := hmac.New(sha256.New, o.key)
	m.Write([]byte("podium content origin v1\x00"))
	m.Write([]byte(payload))
	return m.Sum(nil)
}

// open checks the signature, kind, scope and expiry of s; nil when any is
// wrong.
func (o *contentOrigin) open(s, kind, scope string) *grant {
	if len(s) > 4096 {
		return nil
	}
	p, sig, ok := strings.Cut(s, ".")
	if !ok {
		return nil
	}
	mac, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(mac, o.mac(p)) {
		return nil
	}
	b, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil {
		return nil
	}
	var g grant
	if json.Unmarshal(b, &g) != nil || g.Kind != kind || g.Scope != scope || !o.now().Before(time.Unix(g.Expires, 0)) {
		return nil
	}
	return &g
}

// usedTickets remembers the nonces of the tickets redeemed on this node
// until they expire, so that each is redeemed once.
type usedTickets struct {
	mu sync.Mutex
	m  map[string]time.Time
}

// use records nonce; false when it was already used.
func (u *usedTickets) use(nonce string, expires, now time.Time) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	if _, seen := u.m[nonce]; seen {
		return false
	}
	if len(u.m) >= 4096 {
		for n, e := range u.m {
			if !now.Before(e) {
				delete(u.m, n)
			}
		}
	}
	u.m[nonce] = expires
	return true
}

// contentHostKey is the echo context key set on requests to the content
// origin: the origin (scheme://host) they came to.
const contentHostKey = "podium.content_origin"

// OnContentOrigin reports whether c came to the content origin.
func OnContentOrigin(c echo.Context) bool { _, ok := c.Get(contentHostKey).(string); return ok }

// guidPath matches /content/{guid}[/...]: the content a path is for.
var guidPath = regexp.MustCompile(`^/content/([0-9A-Za-z-]{1,64})(/|$)`)

// Origins returns the middleware, installed before Authenticate, that
// keeps content and the dashboard on their own origins when [Server]
// ContentURL is set:
//
//   - on the content origin only content (/content/...), ContentAuthPath
//     and /__ping__ answer (everything else is 404); the dashboard's
//     session cookie is removed from the request before anyone reads it,
//     and the content origin's own cookie, if valid and its session still
//     alive, names the reader. In the wildcard form the sub-domain must
//     be the content's GUID.
//   - on the main origin, a request authenticated by the session cookie
//     that comes from another site or origin (Sec-Fetch-Site cross-site or
//     same-site, an Origin of "null" or of the content origin) is refused
//     when it would change something (403), and loses its session cookie
//     when it reads the API: content cannot act as its reader even where
//     the browser would attach the cookie. A login form posted from
//     another origin with the login form's cookie is refused too (login
//     CSRF).
//
// Without a content origin only the second part applies.
func (s *Server) Origins(sessions auth.SessionChecker) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			if o := s.content; o != nil {
				if label, ok := o.Match(req.Host); ok {
					return s.onContentOrigin(c, next, sessions, label)
				}
			}
			if req.Method == http.MethodPost && req.URL.Path == LoginPath && hasCookie(req, loginCSRFCookie) && !s.sameOrigin(req) {
				// Login CSRF: a page of the same site (a content origin
				// on a sibling sub-domain) can set the login form's
				// cookie for the parent domain and post the form with
				// its own credentials, logging the reader in as the
				// attacker.
				return podium.Errorf(podium.EFORBIDDEN,
					"refused: a login form posted from another origin (%s); log in on this server's own login page", describeSource(req))
			}
			if !hasCookie(req, SessionCookie) || keyAuthorization(req) {
				return next(c)
			}
			if !s.sameOrigin(req) {
				if !safeMethod(req.Method) {
					return podium.Errorf(podium.EFORBIDDEN,
						"refused: a request from another origin (%s) may not use the dashboard session to change anything; use an API key", describeSource(req))
				}
				if strings.HasPrefix(req.URL.Path, apiPrefix) && req.Header.Get("Sec-Fetch-Mode") != "navigate" {
					dropRequestCookie(req, SessionCookie)
				}
			}
			return next(c)
		}
	}
}

func (s *Server) onContentOrigin(c echo.Context, next echo.HandlerFunc, sessions auth.SessionChecker, label string) error {
	req := c.Request()
	p := req.URL.Path
	m := guidPath.FindStringSubmatch(p)
	switch {
	case m != nil && (label == "" || strings.EqualFold(label, m[1])):
	case p == ContentAuthPath || p == "/__ping__":
	default:
		return podium.Errorf(podium.ENOTFOUND, "%s is not served on the content origin", p)
	}
	origin := s.content.Origin(label).String()
	c.Set(contentHostKey, origin)
	dropRequestCookie(req, SessionCookie)
	if !keyAuthorization(req) {
		// Every cookie of that name is tried, not only the first: content
		// on a sibling sub-domain (the wildcard form) can set one for the
		// parent domain with a longer path, which the browser sends first,
		// and would otherwise shut the reader out of this content.
		for _, v := range cookieValues(req, podium.ContentCookieName(s.content.Scheme)) {
			g := s.content.open(v, grantCookie, origin)
			if g == nil {
				continue
			}
			sess, err := sessions.AuthenticateSessionID(req.Context(), g.Session)
			if err == nil && sess.User.ID == g.UserID {
				SetUser(c, sess.User)
				break
			}
			if err != nil && !podium.IsCode(err, podium.EUNAUTHORIZED) {
				return err
			}
		}
	}
	return next(c)
}

// cookieValues returns the values of every cookie called name that the
// request carries, in the order sent.
func cookieValues(req *http.Request, name string) []string {
	var vs []string
	for _, ck := range req.CookiesNamed(name) {
		if ck.Value != "" {
			vs = append(vs, ck.Value)
		}
	}
	return vs
}

// sameOrigin reports whether a request carrying the session cookie comes
// from the main origin itself (or from no page at all: a typed URL, a
// client that is not a browser).
func (s *Server) sameOrigin(req *http.Request) bool {
	switch req.Header.Get("Sec-Fetch-Site") {
	case "cross-site", "same-site":
		return false
	}
	o := req.Header.Get("Origin")
	if o == "" {
		return true
	}
	if o == "null" {
		return false // a sandboxed page, or a redirect across origins
	}
	u, err := url.Parse(o)
	if err != nil || u.Host == "" {
		return false
	}
	if s.content != nil {
		if _, ok := s.content.Match(u.Host); ok {
			return false
		}
	}
	if s.content != nil && s.content.main.Host != "" {
		return strings.EqualFold(o, s.content.main.String()) || strings.EqualFold(u.Host, req.Host)
	}
	return true
}

// describeSource names where a refused request came from, for its error.
func describeSource(req *http.Request) string {
	if o := req.Header.Get("Origin"); o != "" {
		return "Origin " + o
	}
	return "Sec-Fetch-Site " + req.Header.Get("Sec-Fetch-Site")
}

func hasCookie(req *http.Request, name string) bool {
	ck, err := req.Cookie(name)
	return err == nil && ck.Value != ""
}

func keyAuthorization(req *http.Request) bool {
	scheme, _, _ := strings.Cut(strings.TrimSpace(req.Header.Get(echo.HeaderAuthorization)), " ")
	return strings.EqualFold(scheme, "Key")
}

// dropRequestCookie removes cookie name from the request's Cookie header.
func dropRequestCookie(req *http.Request, name string) {
	lines := req.Header.Values("Cookie")
	if len(lines) == 0 {
		return
	}
	req.Header.Del("Cookie")
	for _, line := range lines {
		var kept []string
		for _, part := range strings.Split(line, ";") {
			part = strings.TrimSpace(part)
			if n, _, _ := strings.Cut(part, "="); n != name && part != "" {
				kept = append(kept, part)
			}
		}
		if len(kept) > 0 {
			req.Header.Add("Cookie", strings.Join(kept, "; "))
		}
	}
}

// contentRedirect answers a request for content on the main origin when
// there is a content origin: the same path there (which signs the reader
// in, for restricted content, as signIn says). Requests with an API key
// (clients, not browsers) are served where they are. Reports false when
// the request is to be served here.
func (h *contentServe) contentRedirect(c echo.Context, guid string) (bool, error) {
	o := h.origin
	if o == nil || OnContentOrigin(c) || keyAuthorization(c.Request()) {
		return false, nil
	}
	req := c.Request()
	to := req.URL.EscapedPath()
	if req.URL.RawQuery != "" {
		to += "?" + req.URL.RawQuery
	}
	code := http.StatusFound
	if !safeMethod(req.Method) {
		code = http.StatusTemporaryRedirect
	}
	target := o.Origin(guid).String() + to
	c.Response().Header().Set("Cache-Control", "no-store")
	c.Response().Header().Set("Referrer-Policy", "no-referrer")
	return true, c.Redirect(code, target)
}

// ticketURL is the content origin's ContentAuthPath with a new ticket for
// sess to reach to (a path under /content/guid/), good only for the
// browser holding the state cookie whose hash is state.
func (o *contentOrigin) ticketURL(sess *auth.Session, guid, to, state string) string {
	origin := o.Origin(guid).String()
	t := o.sign(&grant{Kind: grantTicket, UserID: sess.User.ID, Session: sess.ID(), Scope: origin, To: to,
		Nonce: randomB64(16), State: state, Expires: o.now().Add(ticketTTL).Unix()})
	return origin + ContentAuthPath + "?ticket=" + url.QueryEscape(t)
}

// contentStateCookie starts the name of the cookie that binds a sign-in
// on the content origin to the browser that began it (as OAuth's state):
// the ticket names its hash, so a ticket that leaks (a log, a copied URL)
// is worth nothing in another browser. The name ends with the first
// characters of the hash, so that sign-ins in several tabs do not undo
// each other.
const contentStateCookie = podium.CookiePrefix + "content_state_"

// stateTTL is how long a sign-in may take, the login included.
const stateTTL = 10 * time.Minute

// statePattern is the hash of a state, as the main origin accepts it.
var statePattern = regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)

func stateHash(state string) string {
	h := sha256.Sum256([]byte(state))
	return base64.RawURLEncoding.EncodeToString(h[:])
}

func randomB64(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// signIn sends an anonymous browser that asked for restricted content to
// sign in and back: on the main origin to the login page (next: the
// content), on the content origin, to a reader who has no valid cookie of
// it, to the main origin's ContentAuthPath, which comes back with a
// ticket; both when the request is a top-level page load (or a browser
// that does not say). A frame, a fetch or a script gets the refusal instead: a
// redirect would not help them (cookies of a site framed by another are
// not kept), and would loop.
func (h *contentServe) signIn(c echo.Context, err error) error {
	o, req := h.origin, c.Request()
	if CurrentUser(c) != nil || !podium.IsCode(err, podium.EUNAUTHORIZED) ||
		(req.Method != http.MethodGet && req.Method != http.MethodHead) {
		return err
	}
	if d := req.Header.Get("Sec-Fetch-Dest"); d != "" && d != "document" {
		return err
	}
	if o == nil {
		// Content on the main origin: a browser goes to the login page and
		// comes back; a program (no text/html in Accept) keeps the 401.
		if !wantsHTML(req) {
			return err
		}
		prefix := ExternalPrefix(req, h.trustedProxies)
		to := prefix + req.URL.EscapedPath()
		if req.URL.RawQuery != "" {
			to += "?" + req.URL.RawQuery
		}
		c.Response().Header().Set("Cache-Control", "no-store")
		return c.Redirect(http.StatusSeeOther, prefix+LoginPath+"?next="+url.QueryEscape(to))
	}
	if !OnContentOrigin(c) {
		return err
	}
	to := req.URL.EscapedPath()
	if req.URL.RawQuery != "" {
		to += "?" + req.URL.RawQuery
	}
	state := randomB64(32)
	hash := stateHash(state)
	c.SetCookie(&http.Cookie{
		Name: contentStateCookie + hash[:8], Value: state, Path: ContentAuthPath, MaxAge: int(stateTTL.Seconds()),
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: o.Scheme == "https",
	})
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.Redirect(http.StatusFound, o.main.String()+o.mainPath+ContentAuthPath+"?to="+url.QueryEscape(to)+"&state="+hash)
}

// contentAuth answers ContentAuthPath: on the main origin it issues a
// ticket (after a login, if needed), on the content origin it redeems one.
func (h *contentServe) contentAuth(c echo.Context) error {
	o := h.origin
	if o == nil {
		return podium.Errorf(podium.ENOTFOUND, "no content origin is configured ([Server] ContentURL)")
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	c.Response().Header().Set("Referrer-Policy", "no-referrer")
	if OnContentOrigin(c) {
		return h.redeem(c)
	}
	to, state := c.QueryParam("to"), c.QueryParam("state")
	m := guidPath.FindStringSubmatch(to)
	if m == nil || safeNext(to) != to {
		return podium.Errorf(podium.EINVALID, "to must be a path under /content/{guid}/")
	}
	if !statePattern.MatchString(state) {
		// Not begun by the content origin: begin there.
		return c.Redirect(http.StatusFound, o.Origin(m[1]).String()+to)
	}
	ai, ok := c.Get(authKey).(*authInfo)
	if !ok || ai.session == nil {
		next := ContentAuthPath + "?to=" + url.QueryEscape(to) + "&state=" + state
		prefix := ExternalPrefix(c.Request(), h.trustedProxies)
		return c.Redirect(http.StatusFound, prefix+LoginPath+"?next="+url.QueryEscape(next))
	}
	return c.Redirect(http.StatusFound, o.ticketURL(ai.session, m[1], to, state))
}

// redeem turns a ticket into the content origin's cookie, once, and sends
// the browser on to the content.
func (h *contentServe) redeem(c echo.Context) error {
	o, req := h.origin, c.Request()
	origin, _ := c.Get(contentHostKey).(string)
	g := o.open(c.QueryParam("ticket"), grantTicket, origin)
	bad := podium.Errorf(podium.EUNAUTHORIZED, "this sign-in link is invalid, expired or already used: open the content again")
	if g == nil || guidPath.FindStringSubmatch(g.To) == nil || !statePattern.MatchString(g.State) {
		return bad
	}
	name := contentStateCookie + g.State[:8]
	if !slices.ContainsFunc(cookieValues(req, name), func(v string) bool { return hmac.Equal([]byte(stateHash(v)), []byte(g.State)) }) {
		return podium.Errorf(podium.EUNAUTHORIZED, "this sign-in link was made for another browser, or its sign-in took too long: open the content again")
	}
	if !o.used.use(g.Nonce, time.Unix(g.Expires, 0), o.now()) {
		return bad
	}
	c.SetCookie(&http.Cookie{Name: name, Value: "", Path: ContentAuthPath, MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: o.Scheme == "https"})
	sess, err := h.sessions.AuthenticateSessionID(req.Context(), g.Session)
	if err != nil {
		if podium.IsCode(err, podium.EUNAUTHORIZED) {
			return bad
		}
		return err
	}
	if sess.User.ID != g.UserID {
		return bad
	}
	cookie := o.sign(&grant{Kind: grantCookie, UserID: g.UserID, Session: g.Session, Scope: origin, Expires: sess.ExpiresAt.Unix()})
	c.SetCookie(&http.Cookie{
		Name: podium.ContentCookieName(o.Scheme), Value: cookie, Path: "/", Expires: sess.ExpiresAt,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: o.Scheme == "https",
	})
	return c.Redirect(http.StatusFound, g.To)
}
