package web

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
)

// Frame policies ([Server] FrameOptionsDashboard, FrameOptionsContent), as
// config validates them.
const (
	FrameDeny       = "DENY"
	FrameSameOrigin = "SAMEORIGIN"
	FrameNone       = "NONE"
)

// apiCSP is the policy of Podium's JSON answers: nothing in them may load
// or run anything, nor be framed, should a browser ever render one.
const apiCSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

// dashboardCSP returns the policy of the dashboard pages: their own
// scripts and styles only, no plugin, no <base>, frames only of content
// (the previews), forms only to the main origin, and frame-ancestors from
// [Server] FrameOptionsDashboard. content is the content origin as a
// source ("" without one).
func dashboardCSP(frame, content string) string {
	return "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-src 'self'" + spaced(content) +
		"; connect-src 'self'; form-action 'self'; frame-ancestors " + frameAncestors(frame) + "; base-uri 'none'"
}

// loginCSP returns the policy of the login pages: nothing but their one
// inline style sheet; the form posts to the main origin, whose answer may
// redirect on to the content origin (a sign-in on the way to restricted
// content, which browsers check against form-action too).
func loginCSP(frame, content string) string {
	return "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'" + spaced(content) +
		"; frame-ancestors " + frameAncestors(frame) + "; base-uri 'none'"
}

func spaced(s string) string {
	if s == "" {
		return ""
	}
	return " " + s
}

func frameAncestors(frame string) string {
	switch frame {
	case FrameSameOrigin:
		return "'self'"
	case FrameNone:
		return "*"
	default:
		return "'none'"
	}
}

// setFrameOptions sets X-Frame-Options for policy frame (none for
// FrameNone).
func setFrameOptions(h http.Header, frame string) {
	switch frame {
	case FrameDeny, FrameSameOrigin:
		h.Set("X-Frame-Options", frame)
	default:
		h.Del("X-Frame-Options")
	}
}

// ContentHeaders returns what a hosted app's response gets on its way out
// ([Server] FrameOptionsContent): DENY and SAMEORIGIN replace any
// X-Frame-Options of the app's; NONE leaves the app's headers alone.
func ContentHeaders(frame string) func(http.Header) {
	if frame != FrameDeny && frame != FrameSameOrigin {
		return nil
	}
	return func(h http.Header) { h.Set("X-Frame-Options", frame) }
}

// securityHeaders sets, before any handler runs, the headers of the
// answers Podium writes itself: nosniff on every one (JSON, HTML, errors;
// the app proxy removes it, so an app's answer carries only what the app
// sends), a strict CSP and the dashboard's frame policy on the pages, and
// a CSP that allows nothing on the API. Content's own headers are set
// where it is served (serveDir, the app proxy).
//
// The policies are built here, once: echo v4 applies its middleware to
// the handler anew on every request, so what the middleware function
// computes before returning its handler runs per request too.
func (s *Server) securityHeaders() echo.MiddlewareFunc {
	dashCSP := dashboardCSP(s.frameDashboard, s.contentCSPSource())
	loginPolicy := loginCSP(s.frameDashboard, s.contentCSPSource())
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			h := c.Response().Header()
			h.Set("X-Content-Type-Options", "nosniff")
			p := c.Request().URL.Path
			switch {
			case strings.HasPrefix(p, "/content/"):
			case strings.HasPrefix(p, apiPrefix) || p == "/__ping__":
				h.Set("Content-Security-Policy", apiCSP)
			case strings.HasPrefix(p, "/__dashboard__"):
				h.Set("Content-Security-Policy", dashCSP)
				setFrameOptions(h, s.frameDashboard)
			case strings.HasPrefix(p, LoginPath) || p == LogoutPath:
				h.Set("Content-Security-Policy", loginPolicy)
				setFrameOptions(h, s.frameDashboard)
			default:
				setFrameOptions(h, s.frameDashboard)
			}
			return next(c)
		}
	}
}

// contentCSPSource is the content origin as a CSP source expression
// ("https://content.example", "https://*.content.example"), "" without one.
func (s *Server) contentCSPSource() string {
	if s.content == nil {
		return ""
	}
	return s.content.String()
}
