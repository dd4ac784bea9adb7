package web

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider"
	"github.com/podiumhq/podium/publish"
	"github.com/podiumhq/podium/web/jsonbody"
	"github.com/podiumhq/podium/web/route"
)

// MaxJSONBody bounds the JSON body of an API request.
const MaxJSONBody = 1 << 20

// ContentRoutes are the content, bundle, deployment, render and task
// endpoints under /__api__/v1/ (see docs/publishing.md).
func ContentRoutes(svc *publish.Service) []route.Route {
	h := &contentAPI{svc: svc}
	const v1 = "/__api__/v1"
	return []route.Route{
		{Method: http.MethodGet, Path: v1 + "/content", Handler: h.list},
		{Method: http.MethodPost, Path: v1 + "/content", Handler: h.create, Audit: podium.AuditContentCreate},
		{Method: http.MethodGet, Path: v1 + "/content/:guid", Handler: h.get},
		{Method: http.MethodPatch, Path: v1 + "/content/:guid", Handler: h.update, Audit: podium.AuditContentUpdate},
		{Method: http.MethodDelete, Path: v1 + "/content/:guid", Handler: h.delete, Audit: podium.AuditContentDelete},
		{Method: http.MethodGet, Path: v1 + "/content/:guid/permissions", Handler: h.permissionsGet},
		{Method: http.MethodPut, Path: v1 + "/content/:guid/permissions", Handler: h.permissionsSet, Audit: podium.AuditPermissionsSet},
		{Method: http.MethodGet, Path: v1 + "/content/:guid/bundles", Handler: h.bundles},
		{Method: http.MethodPost, Path: v1 + "/content/:guid/bundles", Handler: h.upload, Audit: podium.AuditBundleUpload},
		{Method: http.MethodPost, Path: v1 + "/content/:guid/deploy", Handler: h.deploy, Audit: podium.AuditDeploy},
		{Method: http.MethodPost, Path: v1 + "/content/:guid/render", Handler: h.render, Audit: podium.AuditRender},
		{Method: http.MethodGet, Path: v1 + "/tasks/:id", Handler: h.task},
	}
}

type contentAPI struct{ svc *publish.Service }

// ContentBody is the JSON of one content.
type ContentBody struct {
	*podium.Content
	ContentURL string `json:"content_url"`
}

func contentBody(c echo.Context, ct *podium.Content) *ContentBody {
	return &ContentBody{Content: ct, ContentURL: c.Scheme() + "://" + c.Request().Host + publish.ContentPath(ct.GUID)}
}

// BundleBody is the JSON of one bundle.
type BundleBody struct {
	ID          int64     `json:"id"`
	ContentGUID string    `json:"content_guid"`
	Size        int64     `json:"size"`
	SHA256      string    `json:"sha256"`
	Active      bool      `json:"active"`
	CreatedTime time.Time `json:"created_time"`
}

func bundleBody(guid string, active *int64, b *podium.Bundle) *BundleBody {
	return &BundleBody{ID: b.ID, ContentGUID: guid, Size: b.Size, SHA256: hex.EncodeToString(b.SHA256),
		Active: active != nil && *active == b.ID, CreatedTime: b.CreatedAt}
}

// TaskBody is the JSON of a task poll.
type TaskBody struct {
	ID       string          `json:"id"`
	Kind     string          `json:"kind"`
	Output   []string        `json:"output"`
	Finished bool            `json:"finished"`
	Code     int             `json:"code"`
	Error    string          `json:"error"`
	Last     int             `json:"last"`
	Result   json.RawMessage `json:"result"`
}

// decodeContentJSON reads a JSON object body into v: at most MaxJSONBody bytes,
// no unknown fields, nothing after the object. Every failure is EINVALID
// (ETOOLARGE for an oversized body) with a message for the client.
func decodeContentJSON(c echo.Context, v any) error { return decodeJSONBody(c, v, MaxJSONBody) }

// decodeJSONBody decodes one JSON object of at most limit bytes into v:
// see [jsonbody.Decode], the one decoder of every JSON API body.
func decodeJSONBody(c echo.Context, v any, limit int) error { return jsonbody.Decode(c, v, limit) }

func (h *contentAPI) list(c echo.Context) error {
	u, err := RequireUser(c)
	if err != nil {
		return err
	}
	r := publish.ContentListRequest{Name: c.QueryParam("name")}
	if v := c.QueryParam("owner_id"); v != "" {
		if r.OwnerID, err = strconv.ParseInt(v, 10, 64); err != nil {
			return podium.Errorf(podium.EINVALID, "owner_id must be an integer")
		}
	}
	list, err := h.svc.ContentList(c.Request().Context(), u, r)
	if err != nil {
		return err
	}
	out := make([]*ContentBody, len(list))
	for i, ct := range list {
		out[i] = contentBody(c, ct)
	}
	return c.JSON(http.StatusOK, out)
}

// ContentCreateBody is the body of POST /__api__/v1/content.
type ContentCreateBody struct {
	Name        string `json:"name"`
	Title       string `json:"title"`
	Description string `json:"description"`
	AccessType  string `json:"access_type"`
}

func (h *contentAPI) create(c echo.Context) error {
	u, err := RequireUser(c)
	if err != nil {
		return err
	}
	var b ContentCreateBody
	if err := decodeContentJSON(c, &b); err != nil {
		return err
	}
	ct, err := h.svc.ContentCreate(c.Request().Context(), u, publish.ContentCreateRequest(b))
	if err != nil {
		return err
	}
	SetAuditTarget(c, "content:"+ct.GUID)
	return c.JSON(http.StatusCreated, contentBody(c, ct))
}

func (h *contentAPI) get(c echo.Context) error {
	u, err := RequireUser(c)
	if err != nil {
		return err
	}
	ct, _, err := h.svc.ContentGet(c.Request().Context(), u, c.Param("guid"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, contentBody(c, ct))
}

// ContentUpdateBody is the body of PATCH /__api__/v1/content/{guid}.
type ContentUpdateBody struct {
	Name        *string `json:"name"`
	Title       *string `json:"title"`
	Description *string `json:"description"`
	AccessType  *string `json:"access_type"`
}

func (h *contentAPI) update(c echo.Context) error {
	u, err := RequireUser(c)
	if err != nil {
		return err
	}
	var b ContentUpdateBody
	if err := decodeContentJSON(c, &b); err != nil {
		return err
	}
	ct, err := h.svc.ContentUpdate(c.Request().Context(), u, c.Param("guid"), publish.ContentUpdateRequest(b))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, contentBody(c, ct))
}

func (h *contentAPI) delete(c echo.Context) error {
	u, err := RequireUser(c)
	if err != nil {
		return err
	}
	if err := h.svc.ContentDelete(c.Request().Context(), u, c.Param("guid")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (h *contentAPI) permissionsGet(c echo.Context) error {
	u, err := RequireUser(c)
	if err != nil {
		return err
	}
	p, err := h.svc.PermissionsGet(c.Request().Context(), u, c.Param("guid"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, p)
}

// PermissionsBody is the body of PUT /__api__/v1/content/{guid}/permissions.
type PermissionsBody struct {
	AccessType  *string `json:"access_type"`
	Permissions []struct {
		Username string `json:"username"`
		Role     string `json:"role"`
	} `json:"permissions"`
}

func (h *contentAPI) permissionsSet(c echo.Context) error {
	u, err := RequireUser(c)
	if err != nil {
		return err
	}
	var b PermissionsBody
	if err := decodeContentJSON(c, &b); err != nil {
		return err
	}
	r := publish.PermissionsSetRequest{AccessType: b.AccessType, Entries: []dbprovider.ContentACLEntryParams{}}
	for _, e := range b.Permissions {
		r.Entries = append(r.Entries, dbprovider.ContentACLEntryParams{Username: e.Username, Role: e.Role})
	}
	p, err := h.svc.PermissionsSet(c.Request().Context(), u, c.Param("guid"), r)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, p)
}

func (h *contentAPI) bundles(c echo.Context) error {
	u, err := RequireUser(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	ct, _, err := h.svc.ContentGet(ctx, u, c.Param("guid"))
	if err != nil {
		return err
	}
	list, err := h.svc.BundleList(ctx, u, ct.GUID)
	if err != nil {
		return err
	}
	out := make([]*BundleBody, len(list))
	for i, b := range list {
		out[i] = bundleBody(ct.GUID, ct.ActiveBundleID, b)
	}
	return c.JSON(http.StatusOK, out)
}

// bundleTypes are the Content-Types a bundle upload may declare.
var bundleTypes = []string{"application/gzip", "application/x-gzip", "application/x-tar+gzip", "application/octet-stream"}

func (h *contentAPI) upload(c echo.Context) error {
	u, err := RequireUser(c)
	if err != nil {
		return err
	}
	req := c.Request()
	if ct := req.Header.Get(echo.HeaderContentType); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		ok := err == nil
		if ok {
			ok = false
			for _, t := range bundleTypes {
				ok = ok || mt == t
			}
		}
		if !ok {
			return podium.Errorf(podium.EUNSUPPORTED, "upload the bundle as application/gzip (a gzip-compressed tar archive), not %q", ct)
		}
	}
	max := h.svc.MaxUpload()
	if req.ContentLength > max {
		return podium.Errorf(podium.ETOOLARGE, "bundle is larger than %d bytes", max)
	}
	body := http.MaxBytesReader(c.Response(), req.Body, max)
	b, err := h.svc.BundleUpload(req.Context(), u, c.Param("guid"), body)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, bundleBody(c.Param("guid"), nil, b))
}

// flexID is an id sent as a JSON number or a string of digits.
type flexID int64

func (f *flexID) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v <= 0 {
		return podium.Errorf(podium.EINVALID, "bundle_id must be a positive integer, not %s", b)
	}
	*f = flexID(v)
	return nil
}

// DeployBody is the body of POST /__api__/v1/content/{guid}/deploy.
type DeployBody struct {
	BundleID flexID `json:"bundle_id"`
}

// TaskStartedBody answers a request that started a task.
type TaskStartedBody struct {
	TaskID string `json:"task_id"`
}

func (h *contentAPI) deploy(c echo.Context) error {
	u, err := RequireUser(c)
	if err != nil {
		return err
	}
	var b DeployBody
	if err := decodeContentJSON(c, &b); err != nil {
		var pe *podium.Error
		if errors.As(err, &pe) {
			return err
		}
		return podium.Errorf(podium.EINVALID, "%v", err)
	}
	if b.BundleID == 0 {
		return podium.Errorf(podium.EINVALID, "bundle_id is required")
	}
	t, err := h.svc.Deploy(c.Request().Context(), u, c.Param("guid"), int64(b.BundleID))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, TaskStartedBody{TaskID: t.ID})
}

func (h *contentAPI) render(c echo.Context) error {
	u, err := RequireUser(c)
	if err != nil {
		return err
	}
	t, err := h.svc.RenderTask(c.Request().Context(), u, c.Param("guid"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, TaskStartedBody{TaskID: t.ID})
}

func (h *contentAPI) task(c echo.Context) error {
	u, err := RequireUser(c)
	if err != nil {
		return err
	}
	first := 0
	if v := c.QueryParam("first"); v != "" {
		if first, err = strconv.Atoi(v); err != nil || first < 0 || first > math.MaxInt32 {
			return podium.Errorf(podium.EINVALID, "first must be an integer from 0 to %d", math.MaxInt32)
		}
	}
	t, err := h.svc.TaskGet(c.Request().Context(), u, c.Param("id"), first)
	if err != nil {
		return err
	}
	body := TaskBody{ID: t.ID, Kind: t.Kind, Output: t.Output, Finished: t.Finished, Code: t.Code,
		Error: t.Error, Last: t.Last, Result: json.RawMessage("null")}
	if t.Result != "" {
		body.Result = json.RawMessage(t.Result)
	}
	return c.JSON(http.StatusOK, body)
}
