package web

import (
	"encoding/json"
	"math"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"
	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/publish"
	"github.com/podiumhq/podium/web/route"
)

// The older Connect API that the R rsconnect package (0.8.x, Debian's
// r-cran-rsconnect) speaks: applications, their uploads and deployments,
// and task polls with first_status, all under /__api__/ without v1. They
// act on the same content, bundles and tasks as /__api__/v1 (through the
// publish service), so an item deployed by one client can be redeployed by
// the other. See docs/publishing.md, "Publishing from R".
//
// What rsconnect 0.8.29 requests, from its R source (connectClient):
//
//	GET  /__api__/users/current                       (connectApiUser)
//	GET  /__api__/applications?filter=account_id:I&filter=name:N&count=100&offset=0
//	GET  /__api__/applications/{id}                   (a recorded deployment)
//	POST /__api__/applications {"name","title"}       (a new one)
//	POST /__api__/applications/{id}/upload            (application/x-gzip)
//	POST /__api__/applications/{id}/deploy {"bundle": B}
//	GET  /__api__/tasks/{id}?first_status=N           (every second)
//	GET  /__api__/applications/{id}/config            (the URL it opens)
//
// It does not call /__api__/server_settings. An application's id is the
// content's numeric id; the guid is there too, for the v1 API.

// ApplicationsRoutes are the older API's writes and task polls.
func ApplicationsRoutes(svc publish.ApplicationService) []route.Route {
	h := &applicationsAPI{svc: svc}
	return []route.Route{
		{Method: http.MethodPost, Path: "/__api__/applications", Handler: h.create, Audit: podium.AuditContentCreate},
		{Method: http.MethodPost, Path: "/__api__/applications/:id/upload", Handler: h.upload, Audit: podium.AuditBundleUpload, AuditTarget: "application:{id}", RawBody: true},
		{Method: http.MethodPost, Path: "/__api__/applications/:id/deploy", Handler: h.deploy, Audit: podium.AuditDeploy, AuditTarget: "application:{id}"},
		{Method: http.MethodGet, Path: "/__api__/applications/:id/config", Handler: h.config},
		{Method: http.MethodGet, Path: "/__api__/tasks/:id", Handler: h.task},
	}
}

type applicationsAPI struct{ svc publish.ApplicationService }

// ApplicationBody is an application as the older API returns it: the
// content, plus url (where it is served).
type ApplicationBody struct {
	*podium.Content
	URL string `json:"url"`
}

func applicationBody(c echo.Context, ct *podium.Content) ApplicationBody {
	return ApplicationBody{Content: ct, URL: contentBody(c, ct).ContentURL}
}

// CurrentUserBody is the JSON of GET /__api__/users/current: rsconnect
// keeps id as the account id; the name fields are empty.
type CurrentUserBody struct {
	*podium.User
	Email     string `json:"email"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
}

// ApplicationsBody is the JSON of GET /__api__/applications.
type ApplicationsBody struct {
	Applications []ApplicationBody `json:"applications"`
	Count        int               `json:"count"`
	Total        int               `json:"total"`
	Continuation string            `json:"continuation"`
}

// content resolves an application id (the content's numeric id, or its
// guid) to the content, as the signed-in user may see it.
func (h *applicationsAPI) content(c echo.Context) (*podium.User, *podium.Content, error) {
	u, err := RequireUser(c)
	if err != nil {
		return nil, nil, err
	}
	ref := c.Param("id")
	id, err := strconv.ParseInt(ref, 10, 64)
	if err != nil {
		ct, _, err := h.svc.ContentGet(c.Request().Context(), u, ref)
		return u, ct, err
	}
	ct, err := h.svc.ContentByID(c.Request().Context(), u, id)
	return u, ct, err
}

// ApplicationCreateBody is the body of POST /__api__/applications.
type ApplicationCreateBody struct {
	Name  string `json:"name"`
	Title string `json:"title"`
}

func (h *applicationsAPI) create(c echo.Context) error {
	u, err := RequireUser(c)
	if err != nil {
		return err
	}
	var b ApplicationCreateBody
	if err := decodeContentJSON(c, &b); err != nil {
		return err
	}
	ct, err := h.svc.ContentCreate(c.Request().Context(), u, publish.ContentCreateRequest{Name: b.Name, Title: b.Title})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, applicationBody(c, ct))
}

func (h *applicationsAPI) upload(c echo.Context) error {
	u, ct, err := h.content(c)
	if err != nil {
		return err
	}
	// The body is the gzip tar itself, whatever its Content-Type
	// (rsconnect sends application/x-gzip): the bundle reader refuses
	// anything else with its own message.
	req := c.Request()
	max := h.svc.MaxUpload()
	if req.ContentLength > max {
		return podium.Errorf(podium.ETOOLARGE, "bundle is larger than %d bytes", max)
	}
	b, err := h.svc.BundleUpload(req.Context(), u, ct.GUID, http.MaxBytesReader(c.Response(), req.Body, max))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, bundleBody(ct.GUID, nil, b))
}

// ApplicationDeployBody is the body of POST /__api__/applications/{id}/deploy.
type ApplicationDeployBody struct {
	// Bundle is the bundle to deploy; rsconnect sends it as a number.
	Bundle flexID `json:"bundle"`
}

// ApplicationTaskBody answers a deploy: rsconnect reads task_id (or id).
type ApplicationTaskBody struct {
	ID     string `json:"id"`
	TaskID string `json:"task_id"`
}

func (h *applicationsAPI) deploy(c echo.Context) error {
	u, ct, err := h.content(c)
	if err != nil {
		return err
	}
	var b ApplicationDeployBody
	if err := decodeContentJSON(c, &b); err != nil {
		return err
	}
	if b.Bundle == 0 {
		return podium.Errorf(podium.EINVALID, "bundle is required: the id of an uploaded bundle")
	}
	t, err := h.svc.Deploy(c.Request().Context(), u, ct.GUID, int64(b.Bundle))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, ApplicationTaskBody{ID: t.ID, TaskID: t.ID})
}

// ApplicationConfigBody is the JSON of GET /__api__/applications/{id}/config:
// the URL the client opens after a deployment.
type ApplicationConfigBody struct {
	ConfigURL string `json:"config_url"`
	LogsURL   string `json:"logs_url"`
}

func (h *applicationsAPI) config(c echo.Context) error {
	_, ct, err := h.content(c)
	if err != nil {
		return err
	}
	url := contentBody(c, ct).ContentURL
	return c.JSON(http.StatusOK, ApplicationConfigBody{ConfigURL: url, LogsURL: url})
}

// ApplicationTaskStatusBody is the JSON of GET /__api__/tasks/{id}: the
// output lines from first_status on, in status; last_status is where the
// next poll starts.
type ApplicationTaskStatusBody struct {
	ID         string          `json:"id"`
	Status     []string        `json:"status"`
	LastStatus int             `json:"last_status"`
	Finished   bool            `json:"finished"`
	Code       int             `json:"code"`
	Error      string          `json:"error"`
	Result     json.RawMessage `json:"result"`
}

func (h *applicationsAPI) task(c echo.Context) error {
	u, err := RequireUser(c)
	if err != nil {
		return err
	}
	first := 0
	if v := c.QueryParam("first_status"); v != "" {
		if first, err = strconv.Atoi(v); err != nil || first < 0 || first > math.MaxInt32 {
			return podium.Errorf(podium.EINVALID, "first_status must be an integer from 0 to %d", math.MaxInt32)
		}
	}
	t, err := h.svc.TaskGet(c.Request().Context(), u, c.Param("id"), first)
	if err != nil {
		return err
	}
	body := ApplicationTaskStatusBody{ID: t.ID, Status: t.Output, LastStatus: t.Last, Finished: t.Finished,
		Code: t.Code, Error: t.Error, Result: json.RawMessage("null")}
	if body.Status == nil {
		body.Status = []string{}
	}
	if t.Result != "" {
		body.Result = json.RawMessage(t.Result)
	}
	return c.JSON(http.StatusOK, body)
}
