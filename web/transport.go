package web

import (
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"
)

// HSTS is the Strict-Transport-Security header of responses served over
// https: browsers then use https only for the host, for a year.
const HSTS = "max-age=31536000"

// transportSecurity returns the middleware that sends HSTS on responses
// that reached the client over TLS (the node's own listener, or any
// request when [Server] Address is https: httpsAddress), and, when the
// node serves TLS itself (httpsPort set), redirects plain HTTP requests
// there with 308 (method and body kept), except /__ping__ (load-balancer
// checks) and requests that a trusted proxy says came over https.
func transportSecurity(httpsAddress bool, httpsPort string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			if req.TLS != nil || httpsAddress {
				c.Response().Header().Set("Strict-Transport-Security", HSTS)
			}
			if httpsPort != "" && req.TLS == nil && c.Scheme() != "https" && req.URL.Path != "/__ping__" {
				host := req.Host
				if h, _, err := net.SplitHostPort(host); err == nil {
					host = h
				}
				host = strings.Trim(host, "[]")
				if host == "" || strings.ContainsAny(host, "/@\\?# ") {
					return c.String(http.StatusBadRequest, "this node serves https only: use https://\n")
				}
				if strings.Contains(host, ":") {
					host = "[" + host + "]"
				}
				if httpsPort != "443" {
					host += ":" + httpsPort
				}
				u := url.URL{Scheme: "https", Host: host, Path: req.URL.Path, RawPath: req.URL.RawPath, RawQuery: req.URL.RawQuery}
				c.Response().Header().Set("Cache-Control", "no-store")
				return c.Redirect(http.StatusPermanentRedirect, u.String())
			}
			return next(c)
		}
	}
}
