// Package dashboard is Podium's web dashboard: server-rendered pages under
// /__dashboard__/ for content (bundles, deployments and their logs,
// renders, schedule, processes, access), scheduled jobs, the cluster's
// nodes and each node's metrics charts.
//
// Pages are html/template documents with a little vanilla JavaScript (the
// metrics chart draws an SVG line); templates, stylesheet and script are
// embedded in the binary. Every page needs a logged-in user (anonymous
// visitors are sent to the login page); the cluster and node pages are for
// administrators only.
//
// Behind a load balancer at a sub-path, the dashboard prefixes its links
// with the X-Forwarded-Prefix header, believed only from the configured
// trusted proxies ([HTTP] TrustedProxies); see docs/dashboard.md.
//
// The pages read what other parts own through the small interfaces in
// sources.go (their tests give fakes of them); Sources (services.go)
// implements them over the services' own interfaces, declared by their
// domains (publish, scheduler, apps, metrics, hacheck). The audit log,
// the node registry, a content item's tasks and renders and the usage
// counts are read through the narrow interfaces their domains declare
// (audit.Reader, hacheck.Nodes, publish.History, usage.Counts), never
// the whole database. The package
// imports those domains, the database interfaces, echo, logrus and
// package web (for the current user and error statuses), and must not
// import server.
package dashboard

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/audit"
	"github.com/podiumhq/podium/hacheck"
	"github.com/podiumhq/podium/publish"
	"github.com/podiumhq/podium/usage"
	"github.com/podiumhq/podium/web"
	"github.com/podiumhq/podium/web/route"
	"github.com/sirupsen/logrus"
)

// Path is where the dashboard is mounted.
const Path = "/__dashboard__"

//go:embed templates/*.html.tmpl
var templateFS embed.FS

//go:embed assets
var assetFS embed.FS

// Options configure New. Sources left nil show as "not available on this
// node" on the pages that would use them.
type Options struct {
	Log *logrus.Entry
	// NodeID is this node's id (process lists are per node).
	NodeID string
	// Audit reads the audit log (the audit page), Nodes the node registry
	// (the cluster and node pages), History a content item's tasks and
	// renders, Usage the usage counts (charts and the most used list):
	// each as its domain declares it, none the whole database.
	Audit   audit.Reader
	Nodes   hacheck.Nodes
	History publish.History
	Usage   usage.Counts
	// NodeTimeout is [HA] NodeTimeout: a node whose heartbeat is older is
	// shown as not live.
	NodeTimeout time.Duration
	// TrustedProxies are the addresses whose X-Forwarded-Prefix is
	// believed ([HTTP] TrustedProxies).
	TrustedProxies []*net.IPNet

	Content ContentSource
	// Tags, when set, adds a tag filter to the content list.
	Tags      TagSource
	Jobs      JobSource
	Processes ProcessSource
	Metrics   MetricsSource
	HAChecks  HACheckSource
	Keys      KeySource
	// Users manages users (administrators) and the caller's account.
	Users UserSource
	// AuthProvider is [Authentication] Provider ("" or "password": Podium
	// keeps the passwords).
	AuthProvider string
	// Manage changes content (the settings forms); nil: the content page
	// only shows.
	Manage ContentManager
	// AdminWarnings are shown at the top of every page to administrators
	// (a node without a content origin says what that risks).
	AdminWarnings []string
	// ContentOrigin, when set, returns the origin content guid is served on
	// ([Server] ContentURL; "" for the main origin): the pages link there
	// directly, sparing the reader the main origin's redirect.
	ContentOrigin func(guid string) string
}

// Dashboard serves the dashboard pages.
type Dashboard struct {
	opts  Options
	log   *logrus.Entry
	pages map[string]*template.Template
}

// New parses the templates and returns the dashboard. It panics if an
// embedded template does not parse (a build mistake, caught by any test).
func New(opts Options) *Dashboard {
	d := &Dashboard{opts: opts, log: opts.Log, pages: map[string]*template.Template{}}
	if d.log == nil {
		d.log = logrus.NewEntry(logrus.New())
	}
	names, err := fs.Glob(templateFS, "templates/*.html.tmpl")
	if err != nil {
		panic(err)
	}
	for _, name := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(name, "templates/"), ".html.tmpl")
		if base == "layout" {
			continue
		}
		t := template.New("layout.html.tmpl").Funcs(funcs)
		d.pages[base] = template.Must(t.ParseFS(templateFS, "templates/layout.html.tmpl", name))
	}
	return d
}

// Routes are the dashboard's pages and assets. Every page needs a
// logged-in user (requireLogin, also on unknown paths below Path, so an
// anonymous visitor is sent to log in rather than told 404); the cluster
// and node pages need an administrator.
func (d *Dashboard) Routes() []route.Route {
	assets, _ := fs.Sub(assetFS, "assets")
	files := http.StripPrefix(Path+"/assets/", http.FileServer(http.FS(assets)))
	login := []echo.MiddlewareFunc{d.requireLogin}
	admin := []echo.MiddlewareFunc{d.requireLogin, d.requireAdmin}
	routes := []route.Route{
		{Method: http.MethodGet, Path: Path + "/assets/*", Handler: func(c echo.Context) error {
			c.Response().Header().Set("Cache-Control", "public, max-age=3600")
			files.ServeHTTP(c.Response(), c.Request())
			return nil
		}},
		{Method: http.MethodGet, Path: Path, Handler: func(c echo.Context) error {
			return c.Redirect(http.StatusFound, d.prefix(c)+Path+"/")
		}},
		{Method: http.MethodGet, Path: Path + "/", Handler: d.page(d.contentList), Middleware: login},
		{Method: http.MethodGet, Path: Path + "/content/:guid", Handler: d.page(d.contentPage), Middleware: login},
		{Method: http.MethodGet, Path: Path + "/jobs", Handler: d.page(d.jobsPage), Middleware: login},
		{Method: http.MethodGet, Path: Path + "/keys", Handler: d.page(d.keysPage), Middleware: login},
		{Method: http.MethodPost, Path: Path + "/keys", Handler: d.createKey, Middleware: login, Audit: podium.AuditKeyCreate},
		{Method: http.MethodPost, Path: Path + "/keys/:id/revoke", Handler: d.revokeKey, Middleware: login, Audit: podium.AuditKeyRevoke, AuditTarget: "key:{id}"},
		{Method: http.MethodGet, Path: Path + "/cluster", Handler: d.page(d.clusterPage), Middleware: admin},
		{Method: http.MethodGet, Path: Path + "/nodes/:id", Handler: d.page(d.nodePage), Middleware: admin},
		{Method: http.MethodGet, Path: Path + "/audit", Handler: d.page(d.auditPage), Middleware: admin},
	}
	routes = append(routes, d.manageRoutes(login)...)
	routes = append(routes, d.usersRoutes(login)...)
	return append(routes,
		route.Route{Method: echo.RouteNotFound, Path: Path + "/*", Handler: d.page(d.notFound), Middleware: login})
}

// notFound answers the paths under Path that are no page: the dashboard's
// own 404 page, with its navigation.
func (d *Dashboard) notFound(c echo.Context) (*view, error) {
	return nil, podium.Errorf(podium.ENOTFOUND, "there is no dashboard page at %s", c.Request().URL.Path)
}

// view is what a handler returns: a template name and its data.
type view struct {
	Name  string
	Title string
	Data  any
}

// frame is the data of the layout around every page.
type frame struct {
	Base    string // the sub-path prefix, "" when none
	Dash    string // Base + Path
	Title   string
	Nav     string
	User    *podium.User
	CSRF    string
	NodeID  string
	Now     time.Time
	Status  int
	Message string
	Data    any
	// Warnings are Options.AdminWarnings, for administrators only.
	Warnings []string
	// ContentLink returns the address of content guid's root.
	ContentLink func(guid string) string
}

// page wraps a handler: it renders the returned view in the layout, and
// renders errors as an HTML page with the status of their code (the same
// mapping as the API's error handler, web.StatusOf).
func (d *Dashboard) page(fn func(c echo.Context) (*view, error)) echo.HandlerFunc {
	return func(c echo.Context) error {
		v, err := fn(c)
		if err != nil {
			return d.renderError(c, err)
		}
		return d.render(c, http.StatusOK, v)
	}
}

func (d *Dashboard) frame(c echo.Context, v *view) frame {
	base := d.prefix(c)
	return frame{Base: base, Dash: base + Path, Title: v.Title, Nav: v.Name, User: web.CurrentUser(c),
		CSRF: web.CSRFToken(c), NodeID: d.opts.NodeID, Now: time.Now(), Data: v.Data, Warnings: d.adminWarnings(c),
		ContentLink: func(guid string) string {
			if d.opts.ContentOrigin != nil {
				if o := d.opts.ContentOrigin(guid); o != "" {
					return o + "/content/" + guid + "/"
				}
			}
			return base + "/content/" + guid + "/"
		}}
}

func (d *Dashboard) adminWarnings(c echo.Context) []string {
	if !web.CurrentUser(c).IsAdmin() {
		return nil
	}
	return d.opts.AdminWarnings
}

func (d *Dashboard) render(c echo.Context, status int, v *view) error {
	t := d.pages[v.Name]
	if t == nil {
		return podium.Errorf(podium.EINTERNAL, "dashboard: no template %q", v.Name)
	}
	f := d.frame(c, v)
	f.Status = status
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html.tmpl", f); err != nil {
		return fmt.Errorf("dashboard: render %s: %w", v.Name, err)
	}
	hdr := c.Response().Header()
	hdr.Set("Cache-Control", "no-store")
	// X-Frame-Options, nosniff and the Content-Security-Policy come from
	// package web (headers.go), which knows the frame policy ([Server]
	// FrameOptionsDashboard) and the content origin the previews load.
	return c.HTMLBlob(status, buf.Bytes())
}

// renderError shows err as a page. Internal detail goes to the log with
// the request id, never to the visitor.
func (d *Dashboard) renderError(c echo.Context, err error) error {
	var he *echo.HTTPError
	if errors.As(err, &he) {
		return err
	}
	code := podium.ErrorCode(err)
	status := web.StatusOf(code)
	msg := podium.ErrorMessage(err)
	reqID := c.Response().Header().Get(echo.HeaderXRequestID)
	if status >= 500 {
		d.log.WithError(err).WithFields(logrus.Fields{"request_id": reqID, "path": c.Request().URL.Path}).Error("dashboard page failed")
		if code == podium.EINTERNAL {
			msg = "internal error (request " + reqID + ")"
		}
	}
	return d.render(c, status, &view{Name: "error", Title: http.StatusText(status), Data: msg})
}

// requireLogin sends anonymous visitors to the login page, with the page
// they asked for as next.
func (d *Dashboard) requireLogin(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if web.CurrentUser(c) != nil {
			return next(c)
		}
		base := d.prefix(c)
		target := base + c.Request().URL.Path
		if q := c.Request().URL.RawQuery; q != "" {
			target += "?" + q
		}
		return c.Redirect(http.StatusSeeOther, base+web.LoginPath+"?next="+url.QueryEscape(target))
	}
}

// requireAdmin refuses the cluster pages to everyone but administrators.
func (d *Dashboard) requireAdmin(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if !web.CurrentUser(c).IsAdmin() {
			return d.renderError(c, podium.Errorf(podium.EFORBIDDEN, "only administrators may see the cluster"))
		}
		return next(c)
	}
}

// prefix returns the sub-path the request came through (web.ExternalPrefix),
// "" when none.
func (d *Dashboard) prefix(c echo.Context) string {
	return web.ExternalPrefix(c.Request(), d.opts.TrustedProxies)
}
