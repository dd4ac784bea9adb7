// Package web is Podium's HTTP face: the echo server, the health endpoint a
// load balancer polls, the API under /__api__/v1/ and the pages.
//
// Handlers return errors; the error handler here is the only place where an
// error becomes an HTTP status (from its podium error code), and internal
// detail goes to the log with the request ID, never to the client.
package web

import (
	"context"
	"errors"
	"net"
	"net/http"
	"regexp"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/audit"
	"github.com/podiumhq/podium/web/route"
	"github.com/sirupsen/logrus"
)

// PingBody is the JSON body of GET /__ping__.
type PingBody struct {
	Status  string `json:"status"` // "ok", "starting", "draining", "unavailable"
	Node    string `json:"node"`
	Version string `json:"version"`
	Schema  int64  `json:"schema"`
	// Phase says what a starting node is doing, while it says (the step
	// of a long schema upgrade).
	Phase string `json:"phase,omitempty"`
	// Warnings lists conditions an administrator should see (no node takes
	// scheduled work, clock offset over the failure threshold, ...).
	Warnings []string `json:"warnings,omitempty"`
}

// Health answers /__ping__: ok reports whether the node serves.
type Health func(ctx context.Context) (body PingBody, ok bool)

// Options configure New.
type Options struct {
	Log    *logrus.Entry
	Health Health
	// TrustedProxies are the CIDRs whose X-Forwarded-For,
	// X-Forwarded-Proto and X-Forwarded-Prefix headers are believed.
	TrustedProxies []*net.IPNet
	// HTTPSAddress says that clients reach the node over https ([Server]
	// Address is an https URL), whatever the connection the request came
	// on: every request's scheme is https, so cookies are always Secure
	// and URLs are built with https, even behind a TLS proxy that is not
	// in TrustedProxies.
	HTTPSAddress bool
	// HTTPSPort is the port of the node's own TLS listener ([HTTPS]
	// Listen), "" without one. With it, a request that came over plain
	// HTTP (and not from a trusted proxy that says https) is redirected
	// there, except /__ping__; responses over TLS carry HSTS.
	HTTPSPort string
	// Limits bound the cost of one request ([HTTP] timeouts and rates).
	Limits Limits
	// NoSpace, when set, gives the message of the 507 answer to a write
	// that found the data directory full: its free space, never a path.
	NoSpace func() string
	// Audit, when set, receives the audit log rows of the routes that have
	// an Audit action; NodeID names this node in them.
	Audit  audit.Writer
	NodeID string
	// Address is [Server] Address, the main origin's public URL; ContentURL
	// is [Server] ContentURL, the content origin ("" serves content on the
	// main origin); ContentKey signs the content origin's tickets and
	// cookies (the same on every node of a cluster). Validated by config.
	Address    string
	ContentURL string
	ContentKey []byte
	// FrameOptionsDashboard and FrameOptionsContent are the frame policies
	// (FrameDeny, FrameSameOrigin, FrameNone; "" is FrameDeny for the
	// dashboard, FrameNone for content).
	FrameOptionsDashboard string
	FrameOptionsContent   string
	// AuthProvider is [Authentication] Provider: "" or "password" for
	// Podium's own passwords, else the provider that signs users in.
	AuthProvider string
}

// Server is the echo server of one node.
type Server struct {
	Echo *echo.Echo
	log  *logrus.Entry

	// notFound serves what a route found nothing for (vanity URLs; set
	// by ContentServeRoutes).
	notFound echo.HandlerFunc

	mu       sync.Mutex
	hijacked map[net.Conn]struct{}

	targets *targetCache // app content targets; see content_serve_cache.go

	audit  audit.Writer // see audit.go
	nodeID string

	trustedProxies []*net.IPNet // whose X-Forwarded-Prefix is believed; see prefix.go

	limits   Limits          // see edge.go
	rawBody  map[string]bool // "METHOD path" of the routes marked RawBody; see edge.go
	noSpace  func() string   // see Options.NoSpace
	firstRun firstRun        // the first-run setup; see firstrun.go

	content        *contentOrigin // nil: content is served on the main origin; see origin.go
	frameDashboard string         // see headers.go
	frameContent   string

	authProvider string // [Authentication] Provider; see Options.AuthProvider

	httpsAddress bool          // see Options.HTTPSAddress
	httpsPort    string        // see Options.HTTPSPort
	lane         *contentServe // set by ContentServeRoutes; see content_lane.go
}

// requestIDPattern bounds incoming X-Request-ID values: any other value is
// replaced, so a client cannot inject text into our logs.
var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// New builds the server and its routes.
func New(opts Options) *Server {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	s := &Server{Echo: e, log: opts.Log, hijacked: map[net.Conn]struct{}{}, trustedProxies: opts.TrustedProxies, targets: newTargetCache(),
		limits: opts.Limits, noSpace: opts.NoSpace, audit: opts.Audit, nodeID: opts.NodeID, rawBody: map[string]bool{},
		frameDashboard: opts.FrameOptionsDashboard, frameContent: opts.FrameOptionsContent, authProvider: opts.AuthProvider,
		httpsAddress: opts.HTTPSAddress, httpsPort: opts.HTTPSPort}
	if s.frameDashboard == "" {
		s.frameDashboard = FrameDeny
	}
	if s.frameContent == "" {
		s.frameContent = FrameNone
	}
	if opts.ContentURL != "" {
		co, err := podium.ParseContentURL(opts.ContentURL)
		main, mainPath, aerr := podium.ParseAddress(opts.Address)
		if err == nil && aerr == nil {
			s.content = &contentOrigin{ContentOrigin: co, main: main, mainPath: mainPath, key: opts.ContentKey,
				used: &usedTickets{m: map[string]time.Time{}}, now: time.Now}
		} else {
			// config validates both: this is a caller's mistake, said loudly.
			opts.Log.WithError(errors.Join(err, aerr)).Error("[Server] ContentURL or Address invalid: content is served on the main origin")
		}
	}
	e.StdLogger.SetOutput(opts.Log.WriterLevel(logrus.WarnLevel))
	e.Logger.SetOutput(opts.Log.WriterLevel(logrus.DebugLevel))

	// Believe forwarding headers only from configured proxies: by default
	// echo v4 trusts X-Forwarded-For from anyone.
	trust := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, n := range opts.TrustedProxies {
		trust = append(trust, echo.TrustIPRange(n))
	}
	if len(opts.TrustedProxies) > 0 {
		e.IPExtractor = echo.ExtractIPFromXFFHeader(trust...)
		e.SchemeExtractor = echo.ExtractSchemeFromHeaders(trust...)
	} else {
		e.IPExtractor = echo.ExtractIPDirect()
		// Without it echo believes X-Forwarded-Proto from any private
		// address; the Secure flag of the session cookie follows Scheme.
		e.SchemeExtractor = echo.ExtractSchemeDirect()
	}
	if opts.HTTPSAddress {
		e.SchemeExtractor = func(*http.Request) string { return "https" }
	}

	e.Use(middleware.RequestIDWithConfig(middleware.RequestIDConfig{
		Generator: randomID,
		Skipper: func(c echo.Context) bool {
			id := c.Request().Header.Get(echo.HeaderXRequestID)
			if id != "" && !requestIDPattern.MatchString(id) {
				c.Request().Header.Del(echo.HeaderXRequestID)
			}
			return false
		},
	}))
	e.Use(s.accessLog)
	// First of what answers: the redirect to https and the edge's
	// refusals carry Podium's headers (nosniff) too.
	e.Use(s.securityHeaders())
	e.Use(transportSecurity(opts.HTTPSAddress, opts.HTTPSPort))
	e.Use(s.edge)
	e.Use(middleware.Recover())
	e.Use(s.invalidateOnChange)
	e.HTTPErrorHandler = s.errorHandler

	e.GET("/__ping__", func(c echo.Context) error {
		body, ok := opts.Health(c.Request().Context())
		c.Response().Header().Set("Cache-Control", "no-store")
		if !ok {
			return c.JSON(http.StatusServiceUnavailable, body)
		}
		return c.JSON(http.StatusOK, body)
	})
	e.HEAD("/__ping__", func(c echo.Context) error {
		if _, ok := opts.Health(c.Request().Context()); !ok {
			return c.NoContent(http.StatusServiceUnavailable)
		}
		return c.NoContent(http.StatusOK)
	})
	return s
}

// Mount adds an area's routes (ContentRoutes, AccountRoutes, ...); a route
// with an Audit action records every request in the audit log.
func (s *Server) Mount(routes []route.Route) {
	for i, r := range routes {
		if r.RawBody {
			s.rawBody[r.Method+" "+r.Path] = true
		}
		if r.Audit != "" {
			routes[i].Middleware = append([]echo.MiddlewareFunc{s.audited(r)}, r.Middleware...)
		}
	}
	route.Mount(s.Echo, routes)
}

// Use installs middleware on every request, after those already installed.
func (s *Server) Use(mw ...echo.MiddlewareFunc) { s.Echo.Use(mw...) }

// accessLog logs each request's path (not its query, which may carry
// tokens), status and duration.
func (s *Server) accessLog(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		req := c.Request()
		if req.URL.Path == "/__ping__" || !s.log.Logger.IsLevelEnabled(logrus.DebugLevel) {
			return nil // building the entry costs allocations on every request
		}
		s.log.WithFields(logrus.Fields{
			"request_id": c.Response().Header().Get(echo.HeaderXRequestID),
			"method":     req.Method,
			"path":       req.URL.Path,
			"status":     c.Response().Status,
			"duration":   time.Since(start).Round(time.Microsecond).String(),
			"remote":     c.RealIP(),
		}).Debug("request")
		return nil
	}
}

// ErrorBody is the JSON body of every error response.
type ErrorBody struct {
	Code    string `json:"code"`
	Error   string `json:"error"`
	Request string `json:"request_id,omitempty"`
}

// StatusOf maps a podium error code to an HTTP status: see
// podium.HTTPStatus, the mapping the Go client reads back.
func StatusOf(code string) int { return podium.HTTPStatus(code) }

func (s *Server) errorHandler(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	reqID := c.Response().Header().Get(echo.HeaderXRequestID)
	var he *echo.HTTPError
	var slow *SlowBodyError
	body := ErrorBody{Request: reqID}
	status := http.StatusInternalServerError
	nothingHere := false // echo found nothing (no route): the page says there is nothing at the path
	switch {
	case errors.As(err, &slow):
		// The connection cannot be read any more: say why, then close it.
		status = http.StatusRequestTimeout
		body.Code = podium.ETIMEOUT
		body.Error = slow.Error()
		c.Response().Header().Set("Connection", "close")
	case isNoSpace(err) && podium.ErrorCode(err) != podium.ENOSPACE:
		// A full disk is the server's condition, not bad input, whatever
		// code the error was wrapped in; its text names server paths.
		status = http.StatusInsufficientStorage
		body.Code = podium.ENOSPACE
		body.Error = s.noSpaceMessage()
		s.log.WithError(err).WithFields(logrus.Fields{"request_id": reqID, "path": c.Request().URL.Path}).Error("request failed: no space left")
	case errors.As(err, &he):
		// echo's own errors (no route, wrong method) and those of its
		// middleware keep their status and answer a podium code too.
		status = he.Code
		body.Code = codeOfEchoStatus(he.Code)
		if m, ok := he.Message.(string); ok {
			body.Error = m
		} else {
			body.Error = http.StatusText(he.Code)
		}
		nothingHere = he.Code == http.StatusNotFound
	default:
		code := podium.ErrorCode(err)
		status = StatusOf(code)
		body.Code = code
		body.Error = podium.ErrorMessage(err)
		if status >= 500 {
			s.log.WithError(err).WithFields(logrus.Fields{"request_id": reqID, "path": c.Request().URL.Path}).Error("request failed")
			if code == podium.EINTERNAL {
				body.Error = "internal error (request " + reqID + ")"
			}
		}
	}
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(status)
		return
	}
	if status == http.StatusRequestEntityTooLarge {
		s.answerTooLarge(c, body)
		return
	}
	if wantsHTML(c.Request()) {
		s.errorPage(c, status, body, nothingHere)
		return
	}
	_ = c.JSON(status, body)
}

// codeOfEchoStatus is the podium code of an error status echo answers on
// its own: 405 (a route with another method) is EUNSUPPORTED, the request
// understood but not supported; any other status has the code a client
// reads it back as (podium.CodeOfHTTPStatus).
func codeOfEchoStatus(status int) string {
	if status == http.StatusMethodNotAllowed {
		return podium.EUNSUPPORTED
	}
	return podium.CodeOfHTTPStatus(status)
}

// answerTooLarge answers 413 to a client that may still be sending its
// body. Closing at once would reset the connection while the client
// writes, and the client would see "connection reset" instead of the
// answer: so the answer is sent first (full duplex, "Connection: close"),
// then the rest of the body is read and discarded within bounds
// (Limits.DrainMax, DrainTime), then the connection is closed.
func (s *Server) answerTooLarge(c echo.Context, body ErrorBody) {
	rc := http.NewResponseController(c.Response())
	duplex := rc.EnableFullDuplex() == nil
	c.Response().Header().Set("Connection", "close")
	_ = c.JSON(http.StatusRequestEntityTooLarge, body)
	b, ok := c.Get(edgeKey).(*edgeBody)
	if !ok || !duplex {
		return
	}
	_ = rc.Flush()
	b.drain(c.Request(), s.limits.drainMax(), s.limits.drainTime())
}

// noSpaceMessage is the client's message for a write that found the data
// directory full.
func (s *Server) noSpaceMessage() string {
	if s.noSpace != nil {
		return s.noSpace()
	}
	return "the server's storage is full: nothing was stored; ask the administrator to free space, then try again"
}

// TrackHijacked records a hijacked connection (a proxied WebSocket) so that
// Shutdown can close it: echo's Shutdown does not.
func (s *Server) TrackHijacked(conn net.Conn) (untrack func()) {
	s.mu.Lock()
	s.hijacked[conn] = struct{}{}
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		delete(s.hijacked, conn)
		s.mu.Unlock()
	}
}

// CloseHijacked closes every tracked hijacked connection.
func (s *Server) CloseHijacked() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(s.hijacked)
	for c := range s.hijacked {
		_ = c.Close()
	}
	clear(s.hijacked)
	return n
}

// ContentOrigin returns [Server] ContentURL as this server serves it, ""
// when content is served on the main origin.
func (s *Server) ContentOrigin() string {
	if s.content == nil {
		return ""
	}
	return s.content.String()
}

// ContentOriginOf returns the origin content guid is served on
// ("https://content.example", "https://{guid}.content.example"), "" when
// content is served on the main origin.
func (s *Server) ContentOriginOf(guid string) string {
	if s.content == nil {
		return ""
	}
	return s.content.Origin(guid).String()
}
