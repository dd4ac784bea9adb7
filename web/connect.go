package web

// This file holds the parts of the Posit Connect server API that Connect
// clients (rsconnect-python, the R rsconnect package, Posit Publisher) call
// besides the content API of api_content.go: server settings, the v0
// lookups they still make, content environment variables, and the
// dashboard URLs they print. See docs/publishing.md, "Publishing with
// rsconnect and other Connect clients".

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/publish"
	"github.com/podiumhq/podium/web/jsonbody"
	"github.com/podiumhq/podium/web/route"
)

// ConnectVersion is the Posit Connect version Podium reports in
// GET /__api__/server_settings. Clients switch features on it:
// rsconnect-python deploys as a draft, checks the draft, then activates it
// from 2025.06.0 on (Podium has "activate": false and draft previews), and
// uploads multipart bundles with git metadata after 2025.11.0 (Podium
// reads them). Reporting the version whose features Podium has makes
// clients use those flows, which the tests in integration/connect_*_test.go
// replay; a feature a newer version gates that Podium lacks must not be
// switched on by raising this.
const ConnectVersion = "2025.12.0"

// dashboardContentPath is where the dashboard shows content.
const dashboardContentPrefix = "/__dashboard__/content/"

// DashboardContentPath returns the dashboard page of content: Connect's
// dashboard_url. Clients append "/draft/{bundle}" and "/logs".
func DashboardContentPath(guid string) string { return dashboardContentPrefix + guid }

// Users have no GUID of their own: Connect's owner_guid and user guid are
// derived from the user id, in a fixed UUID form that maps back to it.
const userGUIDPrefix = "00000000-0000-4000-8000-"

var userGUIDPattern = regexp.MustCompile(`^00000000-0000-4000-8000-([0-9a-f]{12})$`)

// UserGUID returns the GUID Connect clients see for a user.
func UserGUID(id int64) string { return fmt.Sprintf("%s%012x", userGUIDPrefix, id) }

// ParseUserGUID returns the user id of a UserGUID.
func ParseUserGUID(s string) (int64, bool) {
	m := userGUIDPattern.FindStringSubmatch(strings.ToLower(s))
	if m == nil {
		return 0, false
	}
	id, err := strconv.ParseInt(m[1], 16, 64)
	return id, err == nil && id > 0
}

// ConnectOptions configure ConnectRoutes.
type ConnectOptions struct {
	// Version is Podium's own version, reported as "build".
	Version string
	// Python lists the versions of the interpreters this node offers
	// ([Python] Executable, probed at start by package runtimes), in
	// configured order; none means the node runs no Python content.
	Python []string
	// R lists the versions of the R installations this node offers ([R]
	// Executable, probed at start by package runtimes/rlang), in
	// configured order.
	R []string
}

// ServerSettingsBody is the JSON of GET /__api__/server_settings: the
// fields Connect clients read (version above all; see ConnectVersion).
type ServerSettingsBody struct {
	Version        string   `json:"version"`
	Build          string   `json:"build"`
	Hostname       string   `json:"hostname"`
	Product        string   `json:"product"`
	Runtimes       []string `json:"runtimes"`
	Authentication struct {
		Name            string `json:"name"`
		UniqueUsernames bool   `json:"unique_usernames"`
	} `json:"authentication"`
	DraftsEnabled bool `json:"drafts_enabled"`
	GitEnabled    bool `json:"git_enabled"`
	APIKeyAuth    bool `json:"api_key_auth"`
}

// InstallationsBody is the JSON of GET /__api__/v1/server_settings/{python,r,quarto}.
type InstallationsBody struct {
	Installations []Installation `json:"installations"`
	APIEnabled    bool           `json:"api_enabled"`
	CondaEnabled  bool           `json:"conda_enabled"`
}

// Installation is one runtime version a node offers.
type Installation struct {
	Version     string `json:"version"`
	ClusterName string `json:"cluster_name"`
	ImageName   string `json:"image_name"`
}

// ConnectRoutes are the Connect server endpoints that are not content:
// server settings, the older application list, and the dashboard URLs
// clients print.
func ConnectRoutes(svc publish.ApplicationService, opts ConnectOptions) []route.Route {
	h := &connectAPI{svc: svc, opts: opts}
	return []route.Route{
		{Method: http.MethodGet, Path: "/__api__/server_settings", Handler: h.serverSettings},
		{Method: http.MethodGet, Path: "/__api__/v1/server_settings/python", Handler: h.python},
		{Method: http.MethodGet, Path: "/__api__/v1/server_settings/r", Handler: h.r},
		{Method: http.MethodGet, Path: "/__api__/v1/server_settings/quarto", Handler: h.none},
		{Method: http.MethodGet, Path: "/__api__/applications", Handler: h.applicationsV0},
		{Method: http.MethodGet, Path: dashboardContentPrefix + ":guid/draft/:bundle", Handler: h.draftRedirect},
		{Method: http.MethodGet, Path: dashboardContentPrefix + ":guid/logs", Handler: h.logsRedirect},
	}
}

type connectAPI struct {
	svc  publish.ApplicationService
	opts ConnectOptions
}

// serverSettings answers GET /__api__/server_settings. It needs no
// authentication: clients call it to check that the URL is a server of
// this kind before they have a key.
func (h *connectAPI) serverSettings(c echo.Context) error {
	var b ServerSettingsBody
	b.Version, b.Build, b.Hostname, b.Product = ConnectVersion, "podium "+h.opts.Version, c.Request().Host, "Podium"
	b.Runtimes = []string{}
	if len(h.opts.Python) > 0 {
		b.Runtimes = append(b.Runtimes, "Python")
	}
	b.Authentication.Name = "password"
	b.Authentication.UniqueUsernames = true
	b.DraftsEnabled, b.APIKeyAuth = true, true
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, b)
}

// python answers GET /__api__/v1/server_settings/python: the Python
// interpreters this node offers ([Python] Executable), which the Python
// app modes run in (docs/runtimes.md).
func (h *connectAPI) python(c echo.Context) error {
	if _, err := RequireUser(c); err != nil {
		return err
	}
	b := InstallationsBody{Installations: []Installation{}, APIEnabled: len(h.opts.Python) > 0}
	for _, v := range h.opts.Python {
		b.Installations = append(b.Installations, Installation{Version: v, ClusterName: "Local", ImageName: "Local"})
	}
	return c.JSON(http.StatusOK, b)
}

// rInstallations is the body of GET /__api__/v1/server_settings/r: only
// the installations, as Connect lists them.
type rInstallations struct {
	Installations []Installation `json:"installations"`
}

// r answers GET /__api__/v1/server_settings/r: the R installations this
// node offers ([R] Executable), which R content runs with
// (docs/runtimes-r.md).
func (h *connectAPI) r(c echo.Context) error {
	if _, err := RequireUser(c); err != nil {
		return err
	}
	b := rInstallations{Installations: []Installation{}}
	for _, v := range h.opts.R {
		b.Installations = append(b.Installations, Installation{Version: v, ClusterName: "Local", ImageName: "Local"})
	}
	return c.JSON(http.StatusOK, b)
}

// none answers the settings of runtimes this node does not offer
// (Quarto): no installations.
func (h *connectAPI) none(c echo.Context) error {
	if _, err := RequireUser(c); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, InstallationsBody{Installations: []Installation{}})
}

// draftRedirect sends the draft URL clients print ({dashboard_url}/draft/{bundle})
// to the draft preview.
func (h *connectAPI) draftRedirect(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("bundle"), 10, 64)
	if err != nil || id <= 0 {
		return podium.Errorf(podium.ENOTFOUND, "draft %q not found", c.Param("bundle"))
	}
	return c.Redirect(http.StatusFound, publish.DraftPath(c.Param("guid"), id))
}

// logsRedirect sends the logs URL clients print ({dashboard_url}/logs) to
// the content page, which shows the deployments and their output.
func (h *connectAPI) logsRedirect(c echo.Context) error {
	return c.Redirect(http.StatusFound, DashboardContentPath(c.Param("guid")))
}

// EnvVarBody is one entry of PATCH /__api__/v1/content/{guid}/environment:
// a value sets the variable, null deletes it (Connect's body shape: a JSON
// array of {"name", "value"}).
type EnvVarBody struct {
	Name  string  `json:"name"`
	Value *string `json:"value"`
}

// envGet answers GET /__api__/v1/content/{guid}/environment: the names of
// the variables, never the values.
func (h *contentAPI) envGet(c echo.Context) error {
	u, err := RequireUser(c)
	if err != nil {
		return err
	}
	names, err := h.svc.EnvNames(c.Request().Context(), u, c.Param("guid"))
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, names)
}

// envPatch answers PATCH /__api__/v1/content/{guid}/environment: sets and
// deletes variables all at once, and answers the names after the change.
func (h *contentAPI) envPatch(c echo.Context) error {
	u, err := RequireUser(c)
	if err != nil {
		return err
	}
	var raw json.RawMessage
	if err := decodeContentJSON(c, &raw); err != nil {
		return err
	}
	if t := bytes.TrimSpace(raw); len(t) == 0 || t[0] != '[' {
		return podium.Errorf(podium.EINVALID, `send a JSON array such as [{"name": "API_TOKEN", "value": "…"}, {"name": "OLD", "value": null}]`)
	}
	var body []EnvVarBody
	if err := jsonbody.Unmarshal(raw, &body); err != nil {
		return podium.Errorf(podium.EINVALID, `each entry must be {"name": "NAME", "value": "…" or null}: %s`, podium.ErrorMessage(err))
	}
	changes := make([]publish.EnvVarSet, len(body))
	names := make([]string, len(body))
	for i, v := range body {
		changes[i] = publish.EnvVarSet{Name: v.Name, Value: v.Value}
		names[i] = v.Name
	}
	// The audit log names the variables set or deleted, never a value.
	SetAuditDetail(c, "variables", names)
	after, err := h.svc.EnvUpdate(c.Request().Context(), u, c.Param("guid"), changes)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, after)
}

// ApplicationV0Body is the v0 content JSON clients read when they look
// content up by numeric id: they take its guid and continue with v1.
type ApplicationV0Body struct {
	*ContentBody
	URL string `json:"url"`
}

// applicationV0 answers GET /__api__/applications/{id}.
func (h *contentAPI) applicationV0(c echo.Context) error {
	u, err := RequireUser(c)
	if err != nil {
		return err
	}
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return podium.Errorf(podium.ENOTFOUND, "content %q not found", c.Param("id"))
	}
	ct, err := h.svc.ContentByID(c.Request().Context(), u, id)
	if err != nil {
		return err
	}
	b := contentBody(c, ct)
	return c.JSON(http.StatusOK, ApplicationV0Body{ContentBody: b, URL: b.ContentURL})
}

// ApplicationsV0Body is the JSON of GET /__api__/applications.
type ApplicationsV0Body struct {
	Applications []ApplicationV0Body `json:"applications"`
	Count        int                 `json:"count"`
	Total        int                 `json:"total"`
	Continuation string              `json:"continuation"`
}

// applicationsV0 answers GET /__api__/applications, the v0 listing the R
// rsconnect package uses to find existing content by name:
// filter=name:N, filter=account_id:I (the owner's id, as
// /__api__/users/current gives it) and filter=tag:T (content tagged with
// tag T; other filters are ignored), paged with count and start.
func (h *connectAPI) applicationsV0(c echo.Context) error {
	u, err := RequireUser(c)
	if err != nil {
		return err
	}
	r := publish.ContentListRequest{}
	for _, f := range c.QueryParams()["filter"] {
		k, v, _ := strings.Cut(f, ":")
		switch k {
		case "name":
			r.Name = v
		case "tag":
			id, err := strconv.ParseInt(v, 10, 64)
			if err != nil || id <= 0 {
				return podium.Errorf(podium.EINVALID, "filter tag:%q must be a tag id", v)
			}
			r.TagID = id
		case "account_id":
			id, err := strconv.ParseInt(v, 10, 64)
			if err != nil || id <= 0 {
				return podium.Errorf(podium.EINVALID, "filter account_id:%q must be a user id", v)
			}
			r.OwnerID = id
		}
	}
	count, start := 100, 0
	if v := c.QueryParam("count"); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n > 0 && n <= 1000 {
			count = n
		}
	}
	if v := c.QueryParam("start"); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n >= 0 {
			start = n
		}
	}
	list, err := h.svc.ContentList(c.Request().Context(), u, r)
	if err != nil {
		return err
	}
	out := ApplicationsV0Body{Applications: []ApplicationV0Body{}, Total: len(list)}
	for i := start; i < len(list) && i < start+count; i++ {
		b := contentBody(c, list[i])
		out.Applications = append(out.Applications, ApplicationV0Body{ContentBody: b, URL: b.ContentURL})
	}
	out.Count = len(out.Applications)
	return c.JSON(http.StatusOK, out)
}
