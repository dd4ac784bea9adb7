// Package route is the one shape of an HTTP route in Podium: every area
// (accounts, content, schedules, jobs, apps, the dashboard) lists its
// endpoints as a []Route in one place, and the node mounts the tables in
// the order server.Open states.
//
// It imports only echo, so that packages which must not import web (apps)
// can declare their routes too.
package route

import (
	"strings"

	"github.com/labstack/echo/v4"
)

// Route is one endpoint: method ("" for every method), path, handler and
// the middleware that guards it, in order.
type Route struct {
	Method     string
	Path       string
	Handler    echo.HandlerFunc
	Middleware []echo.MiddlewareFunc
	// Audit, when set, is the audit log action (podium.Audit*) that every
	// request to the route records, whatever its outcome: web's
	// Server.Mount writes it (Mount here ignores it).
	Audit string
	// AuditTarget names what a request to the route acts on, for its
	// audit log row: a pattern whose {name} are the route's parameters
	// ("content:{guid}", "key:{id}"). A handler that learns the target
	// only as it runs (a created key, a user found by GUID) names it with
	// web.SetAuditTarget, which wins.
	AuditTarget string
	// AuditDetail are route parameters recorded, under their own name, in
	// the detail of the audit log row (a git credential's host).
	AuditDetail []string
	// AuditFailed, when set, is the action recorded instead of Audit when
	// the handler does not answer with a redirect: a sign-in succeeds by
	// redirecting with the session, so anything else is a failed one.
	AuditFailed string
	// RawBody marks a route whose body is bytes the handler reads as they
	// are (a bundle archive), whatever its Content-Type: web's edge
	// checks neither a form nor JSON text in it (Mount here ignores it).
	RawBody bool
}

// Expand returns pattern with each {name} replaced by param(name)
// (echo.Context.Param): "content:{guid}" is "content:" and the route's
// guid.
func Expand(pattern string, param func(name string) string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(pattern, '{')
		if i < 0 {
			break
		}
		j := strings.IndexByte(pattern[i:], '}')
		if j < 0 {
			break
		}
		b.WriteString(pattern[:i])
		b.WriteString(param(pattern[i+1 : i+j]))
		pattern = pattern[i+j+1:]
	}
	b.WriteString(pattern)
	return b.String()
}

// Mount adds routes to e in order.
func Mount(e *echo.Echo, routes []Route) {
	for _, r := range routes {
		if r.Method == "" {
			e.Any(r.Path, r.Handler, r.Middleware...)
			continue
		}
		e.Add(r.Method, r.Path, r.Handler, r.Middleware...)
	}
}
