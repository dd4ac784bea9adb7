package web

import (
	"bytes"
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"
)

// wantsHTML reports whether an error answer to r should be a page rather
// than JSON: a browser's request (text/html in Accept) for anything but
// the API and the health check, which always answer JSON.
func wantsHTML(r *http.Request) bool {
	p := r.URL.Path
	if strings.HasPrefix(p, apiPrefix) || p == "/__ping__" {
		return false
	}
	return strings.Contains(r.Header.Get(echo.HeaderAccept), "text/html")
}

// errorPageTemplate is the page a browser gets for an error outside the
// dashboard (which renders its own): what happened, and where to go next.
var errorPageTemplate = template.Must(template.New("error").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{{.Title}} · Podium</title>
<style>
body { font-family: system-ui, sans-serif; background: #f5f5f7; margin: 0; color: #222; }
main { max-width: 32rem; margin: 12vh auto; background: #fff; padding: 2rem; border-radius: 8px; box-shadow: 0 1px 4px rgba(0,0,0,.1); overflow-wrap: anywhere; }
h1 { font-size: 1.4rem; margin-top: 0; }
.error { color: #8a0016; background: #fdecea; padding: .6rem; border-radius: 4px; }
ul { padding-left: 1.2rem; } li { margin: .4rem 0; }
.muted { color: #555; font-size: .9rem; }
</style>
</head>
<body>
<main>
<h1 id="error-title">{{.Title}}</h1>
<p class="error" role="alert">{{.Message}}</p>
<ul id="ways">
{{if .Login}}<li><a id="login" href="{{.Login}}">Log in</a> and come back here</li>{{end}}
<li><a href="{{.Dashboard}}">Open the dashboard</a> to find your content</li>
<li><a href="{{.Home}}">Go to the home page</a></li>
</ul>
{{if .Request}}<p class="muted">Request <code>{{.Request}}</code>: quote it to your administrator.</p>{{end}}
</main>
</body>
</html>
`))

// errorPage answers an error to a browser as a page with a way forward:
// the dashboard, the home page, and the login page (coming back here) for
// a request that was not logged in. Links point to the main origin, also
// from the content origin.
func (s *Server) errorPage(c echo.Context, status int, body ErrorBody, nothingHere bool) {
	req := c.Request()
	base := ExternalPrefix(req, s.trustedProxies)
	if s.content != nil && OnContentOrigin(c) {
		base = strings.TrimRight(s.content.main.String()+s.content.mainPath, "/")
	}
	page := struct {
		Title, Message, Request, Login, Dashboard, Home string
	}{Title: http.StatusText(status), Message: body.Error, Request: body.Request,
		Dashboard: base + "/__dashboard__/", Home: base + "/"}
	if page.Title == "" {
		page.Title = "Error"
	}
	if page.Message == "" {
		page.Message = page.Title
	}
	if status == http.StatusNotFound {
		page.Title = "Page not found"
		if nothingHere {
			page.Message = "There is nothing at " + req.URL.Path + "."
		}
	}
	if CurrentUser(c) == nil && (status == http.StatusNotFound || status == http.StatusUnauthorized || status == http.StatusForbidden) &&
		(req.Method == http.MethodGet || req.Method == http.MethodHead) && !OnContentOrigin(c) {
		next := base + req.URL.EscapedPath()
		if req.URL.RawQuery != "" {
			next += "?" + req.URL.RawQuery
		}
		page.Login = base + LoginPath + "?next=" + url.QueryEscape(next)
	}
	var buf bytes.Buffer
	if err := errorPageTemplate.Execute(&buf, page); err != nil {
		_ = c.JSON(status, body)
		return
	}
	h := c.Response().Header()
	h.Set("Cache-Control", "no-store")
	csp := "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"
	if !strings.HasPrefix(req.URL.Path, "/content/") {
		// Content's own frame policy stays (a preview may frame its error).
		csp += "; frame-ancestors " + frameAncestors(s.frameDashboard)
	}
	h.Set("Content-Security-Policy", csp)
	_ = c.HTMLBlob(status, buf.Bytes())
}
