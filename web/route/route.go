// Package route is the one shape of an HTTP route in Podium: every area
// (accounts, content, schedules, jobs, apps, the dashboard) lists its
// endpoints as a []Route in one place, and the node mounts the tables in
// the order server.Open states.
//
// It imports only echo, so that packages which must not import web (apps)
// can declare their routes too.
package route

import "github.com/labstack/echo/v4"

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
	// RawBody marks a route whose body is bytes the handler reads as they
	// are (a bundle archive), whatever its Content-Type: web's edge
	// checks neither a form nor JSON text in it (Mount here ignores it).
	RawBody bool
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
