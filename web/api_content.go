package web

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"mime/multipart"
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
func ContentRoutes(svc publish.ContentService) []route.Route {
	h := &contentAPI{svc: svc}
	const v1 = "/__api__/v1"
	return []route.Route{
		{Method: http.MethodGet, Path: v1 + "/content", Handler: h.list},
		{Method: http.MethodPost, Path: v1 + "/content", Handler: h.create, Audit: podium.AuditContentCreate},
		{Method: http.MethodGet, Path: v1 + "/content/:guid", Handler: h.get},
		{Method: http.MethodPatch, Path: v1 + "/content/:guid", Handler: h.update, Audit: podium.AuditContentUpdate, AuditTarget: "content:{guid}"},
		{Method: http.MethodDelete, Path: v1 + "/content/:guid", Handler: h.delete, Audit: podium.AuditContentDelete, AuditTarget: "content:{guid}"},
		{Method: http.MethodGet, Path: v1 + "/content/:guid/permissions", Handler: h.permissionsGet},
		{Method: http.MethodPut, Path: v1 + "/content/:guid/permissions", Handler: h.permissionsSet, Audit: podium.AuditPermissionsSet, AuditTarget: "content:{guid}"},
		{Method: http.MethodGet, Path: v1 + "/content/:guid/bundles", Handler: h.bundles},
		{Method: http.MethodPost, Path: v1 + "/content/:guid/bundles", Handler: h.upload, Audit: podium.AuditBundleUpload, AuditTarget: "content:{guid}", RawBody: true},
		{Method: http.MethodGet, Path: v1 + "/content/:guid/bundles/:id/download", Handler: h.download},
		// deploy activates a bundle (or builds it as a draft, "activate": false).
		{Method: http.MethodPost, Path: v1 + "/content/:guid/deploy", Handler: h.deploy, Audit: podium.AuditDeploy, AuditTarget: "content:{guid}"},
		{Method: http.MethodPost, Path: v1 + "/content/:guid/build", Handler: h.deploy, Audit: podium.AuditDeploy, AuditTarget: "content:{guid}"},
		{Method: http.MethodPost, Path: v1 + "/content/:guid/render", Handler: h.render, Audit: podium.AuditRender, AuditTarget: "content:{guid}"},
		{Method: http.MethodGet, Path: v1 + "/content/:guid/lockfile", Handler: h.lockfile},
		{Method: http.MethodGet, Path: v1 + "/content/:guid/environment", Handler: h.envGet},
		{Method: http.MethodPatch, Path: v1 + "/content/:guid/environment", Handler: h.envPatch, Audit: podium.AuditEnvSet, AuditTarget: "content:{guid}"},
		{Method: http.MethodGet, Path: v1 + "/tasks/:id", Handler: h.task},
		// The v0 lookup of content by numeric id that Connect clients make when
		// they redeploy from a record that holds the id, not the GUID.
		{Method: http.MethodGet, Path: "/__api__/applications/:id", Handler: h.applicationV0},
	}
}

type contentAPI struct{ svc publish.ContentService }

// ContentBody is the JSON of one content: Podium's fields and the fields
// of a Posit Connect content item that clients read (see
// docs/publishing.md, "Publishing with rsconnect and other Connect
// clients").
type ContentBody struct {
	*podium.Content
	ContentURL   string `json:"content_url"`
	DashboardURL string `json:"dashboard_url"`
	OwnerGUID    string `json:"owner_guid"`
	// Environment management, Connect's names: whether Podium builds the
	// environment of the active bundle (true for the runtime it uses, nil
	// for a runtime it does not), and the server's defaults (Podium always
	// builds Python environments and restores R libraries: there is no
	// setting to turn that off).
	PyEnvironmentManagement        *bool `json:"py_environment_management"`
	DefaultPyEnvironmentManagement bool  `json:"default_py_environment_management"`
	REnvironmentManagement         *bool `json:"r_environment_management"`
	DefaultREnvironmentManagement  bool  `json:"default_r_environment_management"`
	// Connect fields Podium has no counterpart for yet: constant values.
	ContentCategory  string `json:"content_category"`
	Parameterized    bool   `json:"parameterized"`
	Locked           bool   `json:"locked"`
	RunAsCurrentUser bool   `json:"run_as_current_user"`
	// The sandbox settings an administrator set (publish.SandboxSettings),
	// null for the node's default; GET and PATCH of one content item
	// fill them, the list leaves them null.
	RunAs         *string `json:"run_as"`
	MemoryLimit   *int64  `json:"memory_limit"`
	CPUShares     *int    `json:"cpu_shares"`
	ProcessLimit  *int    `json:"process_limit"`
	OpenFileLimit *int    `json:"open_file_limit"`
}

// baseURL is the scheme and host the client used.
func baseURL(c echo.Context) string { return c.Scheme() + "://" + c.Request().Host }

func contentBody(c echo.Context, ct *podium.Content) *ContentBody {
	b := &ContentBody{Content: ct, ContentURL: baseURL(c) + publish.ContentPath(ct.GUID),
		DashboardURL: baseURL(c) + DashboardContentPath(ct.GUID), OwnerGUID: UserGUID(ct.OwnerID),
		DefaultPyEnvironmentManagement: true, DefaultREnvironmentManagement: true}
	managed := true
	if ct.PyVersion != nil {
		b.PyEnvironmentManagement = &managed
	}
	if ct.RVersion != nil {
		b.REnvironmentManagement = &managed
	}
	return b
}

// BundleBody is the JSON of one bundle (Connect's bundle fields too).
type BundleBody struct {
	ID          int64     `json:"id"`
	ContentGUID string    `json:"content_guid"`
	Size        int64     `json:"size"`
	SHA256      string    `json:"sha256"`
	Active      bool      `json:"active"`
	CreatedTime time.Time `json:"created_time"`
	// Metadata is the "metadata" part of a multipart upload (Connect's
	// bundle metadata: source, source_repo, source_commit, ...), {} when
	// none was sent.
	Metadata      json.RawMessage `json:"metadata"`
	ClusterName   *string         `json:"cluster_name"`
	ImageName     *string         `json:"image_name"`
	RVersion      *string         `json:"r_version"`
	PyVersion     *string         `json:"py_version"`
	QuartoVersion *string         `json:"quarto_version"`
}

func bundleBody(guid string, active *int64, b *podium.Bundle) *BundleBody {
	return &BundleBody{ID: b.ID, ContentGUID: guid, Size: b.Size, SHA256: hex.EncodeToString(b.SHA256),
		Active: active != nil && *active == b.ID, CreatedTime: b.CreatedAt, Metadata: json.RawMessage(b.Metadata),
		PyVersion: orNil(b.Environment.PyVersion), RVersion: orNil(b.Environment.RVersion), QuartoVersion: orNil(b.Environment.QuartoVersion)}
}

// orNil is nil for "", else a pointer to s: a JSON null for "none".
func orNil(s string) *string {
	if s == "" {
		return nil
	}
	return &s
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
	if v := c.QueryParam("owner_guid"); v != "" {
		id, ok := ParseUserGUID(v)
		if !ok {
			// No user has that GUID: no content either (Connect answers
			// an empty list, not an error).
			return c.JSON(http.StatusOK, []*ContentBody{})
		}
		if r.OwnerID != 0 && r.OwnerID != id {
			return c.JSON(http.StatusOK, []*ContentBody{})
		}
		r.OwnerID = id
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
	return h.contentWithSandbox(c, ct)
}

// ContentUpdateBody is the body of PATCH /__api__/v1/content/{guid}.
type ContentUpdateBody struct {
	Name        *string `json:"name"`
	Title       *string `json:"title"`
	Description *string `json:"description"`
	AccessType  *string `json:"access_type"`
	// The content's sandbox settings (administrators only; null for the
	// node's default): see publish.SandboxSettings.
	RunAs            publish.Field[string] `json:"run_as"`
	RunAsCurrentUser *bool                 `json:"run_as_current_user"`
	MemoryLimit      publish.Field[int64]  `json:"memory_limit"`
	CPUShares        publish.Field[int]    `json:"cpu_shares"`
	ProcessLimit     publish.Field[int]    `json:"process_limit"`
	OpenFileLimit    publish.Field[int]    `json:"open_file_limit"`
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
	ctx := c.Request().Context()
	ct, err := h.svc.ContentUpdate(ctx, u, c.Param("guid"), publish.ContentUpdateRequest{
		Name: b.Name, Title: b.Title, Description: b.Description, AccessType: b.AccessType,
		Sandbox: publish.SandboxPatch{RunAs: b.RunAs, RunAsCurrentUser: b.RunAsCurrentUser, MemoryLimit: b.MemoryLimit,
			CPUShares: b.CPUShares, ProcessLimit: b.ProcessLimit, OpenFileLimit: b.OpenFileLimit},
	})
	if err != nil {
		return err
	}
	return h.contentWithSandbox(c, ct)
}

// contentWithSandbox answers ct with its sandbox settings (one more read
// of the database: the list leaves them out, null).
func (h *contentAPI) contentWithSandbox(c echo.Context, ct *podium.Content) error {
	st, err := h.svc.ContentSandbox(c.Request().Context(), ct.ID)
	if err != nil {
		return err
	}
	b := contentBody(c, ct)
	b.RunAs, b.MemoryLimit, b.CPUShares = orNil(st.RunAs), nonZero(st.MemoryLimit), nonZero(st.CPUShares)
	b.ProcessLimit, b.OpenFileLimit = nonZero(st.ProcessLimit), nonZero(st.OpenFileLimit)
	return c.JSON(http.StatusOK, b)
}

// nonZero is nil for 0 (JSON null: the default), else a pointer to v.
func nonZero[T int | int64](v T) *T {
	if v == 0 {
		return nil
	}
	return &v
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
	return c.JSON(http.StatusOK, permissionsBody(c.Param("guid"), p))
}

// PermissionEntry is one entry of an access list, with Connect's
// principal_type ("user" or "group") and principal_guid. A user's entry
// also has user_id and username, a group's group_id, name and provider.
type PermissionEntry struct {
	PrincipalType string `json:"principal_type"`
	PrincipalGUID string `json:"principal_guid"`
	ContentGUID   string `json:"content_guid"`
	Role          string `json:"role"`
	UserID        int64  `json:"user_id,omitempty"`
	Username      string `json:"username,omitempty"`
	GroupID       int64  `json:"group_id,omitempty"`
	Name          string `json:"name,omitempty"`
	Provider      string `json:"provider,omitempty"`
}

// PermissionsResponse is the answer of GET and PUT
// /__api__/v1/content/{guid}/permissions.
type PermissionsResponse struct {
	AccessType  string            `json:"access_type"`
	Permissions []PermissionEntry `json:"permissions"`
}

func permissionsBody(guid string, p *publish.Permissions) PermissionsResponse {
	out := PermissionsResponse{AccessType: p.AccessType, Permissions: []PermissionEntry{}}
	for _, e := range p.Entries {
		out.Permissions = append(out.Permissions, PermissionEntry{PrincipalType: "user", PrincipalGUID: UserGUID(e.UserID), ContentGUID: guid,
			Role: e.Role, UserID: e.UserID, Username: e.Username})
	}
	for _, g := range p.Groups {
		out.Permissions = append(out.Permissions, PermissionEntry{PrincipalType: "group", PrincipalGUID: GroupGUID(g.GroupID), ContentGUID: guid,
			Role: g.Role, GroupID: g.GroupID, Name: g.Name, Provider: g.Provider})
	}
	return out
}

// PermissionsBody is the body of PUT /__api__/v1/content/{guid}/permissions:
// the whole access list. An entry is a user (principal_type "user" or
// absent: username, or principal_guid) or a group (principal_type "group":
// principal_guid, or name). A body whose entries never say principal_type
// keeps the groups' grants, so that clients that know only users do not
// drop them; one that says it (or lists no entry) replaces both.
type PermissionsBody struct {
	AccessType  *string `json:"access_type"`
	Permissions []struct {
		PrincipalType string `json:"principal_type"`
		PrincipalGUID string `json:"principal_guid"`
		Username      string `json:"username"`
		Name          string `json:"name"`
		Role          string `json:"role"`
	} `json:"permissions"`
}

// aclRole accepts Connect's "owner" for a collaborator.
func aclRole(r string) string {
	if r == "owner" {
		return podium.ACLCollaborator
	}
	return r
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
	ctx := c.Request().Context()
	r := publish.PermissionsSetRequest{AccessType: b.AccessType, Entries: []dbprovider.ContentACLEntryParams{},
		Groups: []publish.GroupGrant{}, ReplaceGroups: len(b.Permissions) == 0}
	for i, e := range b.Permissions {
		switch e.PrincipalType {
		case "group":
			r.ReplaceGroups = true
			g := publish.GroupGrant{Name: e.Name, Role: aclRole(e.Role)}
			if e.PrincipalGUID != "" {
				id, ok := ParseGroupGUID(e.PrincipalGUID)
				if !ok {
					return podium.Errorf(podium.EINVALID, "permissions[%d].principal_guid %q is not a group's GUID", i, e.PrincipalGUID)
				}
				g.GroupID = id
			}
			r.Groups = append(r.Groups, g)
		case "user", "":
			if e.PrincipalType != "" {
				r.ReplaceGroups = true
			}
			name := e.Username
			if name == "" && e.PrincipalGUID != "" {
				id, ok := parseUserParam(e.PrincipalGUID)
				if !ok {
					return podium.Errorf(podium.EINVALID, "permissions[%d].principal_guid %q is not a user's GUID", i, e.PrincipalGUID)
				}
				pu, err := h.svc.UserByID(ctx, id)
				if podium.IsCode(err, podium.ENOTFOUND) {
					return podium.Errorf(podium.EINVALID, "permissions[%d]: no user %q", i, e.PrincipalGUID)
				} else if err != nil {
					return err
				}
				name = pu.Username
			}
			r.Entries = append(r.Entries, dbprovider.ContentACLEntryParams{Username: name, Role: aclRole(e.Role)})
		default:
			return podium.Errorf(podium.EINVALID, "permissions[%d].principal_type %q: must be user or group", i, e.PrincipalType)
		}
	}
	p, err := h.svc.PermissionsSet(ctx, u, c.Param("guid"), r)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, permissionsBody(c.Param("guid"), p))
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

// MaxBundleMetadata bounds the "metadata" part of a multipart upload.
const MaxBundleMetadata = 64 << 10

// upload answers POST /__api__/v1/content/{guid}/bundles. The body is the
// gzip tar archive itself, whatever Content-Type it declares (clients send
// application/gzip, application/x-tar, application/octet-stream or none;
// the archive is checked whole anyway), or multipart/form-data with the
// archive in the part "archive" and an optional JSON object in the part
// "metadata", as newer Connect clients send it.
func (h *contentAPI) upload(c echo.Context) error {
	u, err := RequireUser(c)
	if err != nil {
		return err
	}
	req := c.Request()
	max := h.svc.MaxUpload()
	if req.ContentLength > max+MaxBundleMetadata+64<<10 {
		return podium.Errorf(podium.ETOOLARGE, "bundle is larger than %d bytes", max)
	}
	mt, params, _ := mime.ParseMediaType(req.Header.Get(echo.HeaderContentType))
	metadata := json.RawMessage("{}")
	var archive io.Reader
	if mt == "multipart/form-data" {
		archive, metadata, err = multipartBundle(req.Body, params["boundary"], max)
		if err != nil {
			return err
		}
	} else {
		archive = http.MaxBytesReader(c.Response(), req.Body, max)
	}
	b, err := h.svc.BundleUploadMetadata(req.Context(), u, c.Param("guid"), archive, string(metadata))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, bundleBody(c.Param("guid"), nil, b))
}

// multipartBundle reads a multipart upload: the "metadata" part (a JSON
// object, optional, before or after the archive) and the "archive" part,
// streamed. Other parts are refused by name.
func multipartBundle(body io.Reader, boundary string, max int64) (io.Reader, json.RawMessage, error) {
	if boundary == "" {
		return nil, nil, podium.Errorf(podium.EINVALID, "multipart/form-data upload without a boundary parameter")
	}
	mr := multipart.NewReader(body, boundary)
	metadata := json.RawMessage("{}")
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return nil, nil, podium.Errorf(podium.EINVALID, "multipart upload has no \"archive\" part: send the bundle (a gzip tar archive) in a part named archive")
		} else if err != nil {
			return nil, nil, podium.Errorf(podium.EINVALID, "malformed multipart upload: %v", err)
		}
		switch part.FormName() {
		case "metadata":
			data, err := io.ReadAll(io.LimitReader(part, MaxBundleMetadata+1))
			if err != nil {
				return nil, nil, podium.Errorf(podium.EINVALID, "cannot read the metadata part: %v", err)
			}
			if len(data) > MaxBundleMetadata {
				return nil, nil, podium.Errorf(podium.ETOOLARGE, "the metadata part is larger than %d bytes", MaxBundleMetadata)
			}
			var obj map[string]any
			if err := json.Unmarshal(data, &obj); err != nil || obj == nil {
				return nil, nil, podium.Errorf(podium.EINVALID, "the metadata part must be a JSON object")
			}
			// Stored compact and without NUL characters, which PostgreSQL's
			// jsonb refuses.
			compact, _ := json.Marshal(obj)
			if bytes.Contains(compact, []byte(`\u0000`)) {
				return nil, nil, podium.Errorf(podium.EINVALID, "the metadata part must not contain NUL characters")
			}
			metadata = json.RawMessage(compact)
		case "archive":
			// The rest of the body after the archive is not read: a
			// metadata part must come first to be kept.
			return &limitedPart{r: part, left: max, limit: max}, metadata, nil
		default:
			return nil, nil, podium.Errorf(podium.EINVALID, "unexpected multipart part %q: send \"archive\" and optionally \"metadata\"", part.FormName())
		}
	}
}

// limitedPart reads at most left bytes, then fails with the same
// http.MaxBytesError a plain upload gets.
type limitedPart struct {
	r     io.Reader
	left  int64
	limit int64
}

func (l *limitedPart) Read(p []byte) (int, error) {
	if l.left <= 0 {
		var one [1]byte
		if n, _ := l.r.Read(one[:]); n > 0 {
			return 0, &http.MaxBytesError{Limit: l.limit}
		}
		return 0, io.EOF
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	return n, err
}

// download answers GET /__api__/v1/content/{guid}/bundles/{id}/download
// with the archive as uploaded.
func (h *contentAPI) download(c echo.Context) error {
	u, err := RequireUser(c)
	if err != nil {
		return err
	}
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return podium.Errorf(podium.ENOTFOUND, "bundle %q not found", c.Param("id"))
	}
	f, b, err := h.svc.BundleOpen(c.Request().Context(), u, c.Param("guid"), id)
	if err != nil {
		return err
	}
	defer f.Close()
	hdr := c.Response().Header()
	hdr.Set(echo.HeaderContentType, "application/gzip")
	hdr.Set(echo.HeaderContentDisposition, fmt.Sprintf("attachment; filename=\"bundle-%d.tar.gz\"", b.ID))
	hdr.Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(c.Response(), c.Request(), "", b.CreatedAt, f)
	return nil
}

// flexID is an id sent as a JSON number or a string of digits.
type flexID int64

func (f *flexID) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*f = 0 // refused as missing by the handler
		return nil
	}
	s := strings.Trim(string(b), `"`)
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v <= 0 {
		return podium.Errorf(podium.EINVALID, "bundle_id must be a positive integer, not %s", b)
	}
	*f = flexID(v)
	return nil
}

// DeployBody is the body of POST /__api__/v1/content/{guid}/deploy (and
// /build). Activate false builds without activating (a draft).
type DeployBody struct {
	BundleID flexID `json:"bundle_id"`
	Activate *bool  `json:"activate"`
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
	ctx := c.Request().Context()
	activate := b.Activate == nil || *b.Activate
	if b.BundleID == 0 {
		// Git-backed content deploys the head of its branch (rsconnect's
		// "deploy git"); other content needs a bundle.
		t, err := h.svc.DeployLatest(ctx, u, c.Param("guid"), activate)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusAccepted, TaskStartedBody{TaskID: t.ID})
	}
	t, err := h.svc.DeployBundle(ctx, u, c.Param("guid"), int64(b.BundleID), activate)
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
	var wait time.Duration
	if v := c.QueryParam("wait"); v != "" {
		secs, err := strconv.ParseFloat(v, 64)
		if err != nil || secs < 0 || math.IsNaN(secs) || math.IsInf(secs, 0) {
			return podium.Errorf(podium.EINVALID, "wait must be a number of seconds from 0 to %d", int(publish.MaxTaskWait.Seconds()))
		}
		wait = time.Duration(min(secs, publish.MaxTaskWait.Seconds()) * float64(time.Second))
	}
	t, err := h.svc.TaskWait(c.Request().Context(), u, c.Param("id"), first, wait)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	body := TaskBody{ID: t.ID, Kind: t.Kind, Output: t.Output, Finished: t.Finished, Code: t.Code,
		Error: t.Error, Last: t.Last, Result: json.RawMessage("null")}
	if t.Result != "" {
		body.Result = json.RawMessage(t.Result)
	}
	return c.JSON(http.StatusOK, body)
}

// lockfile answers GET /__api__/v1/content/{guid}/lockfile: the
// requirements.txt.lock of the Python environment the active bundle was
// built in, as text/plain (what `rsconnect content get-lockfile` saves and
// `rsconnect content venv` installs). Those who may change the content
// (its owner, collaborators, administrators) may read it.
func (h *contentAPI) lockfile(c echo.Context) error {
	u, err := RequireUser(c)
	if err != nil {
		return err
	}
	lock, err := h.svc.Lockfile(c.Request().Context(), u, c.Param("guid"))
	if err != nil {
		return err
	}
	hdr := c.Response().Header()
	hdr.Set("Content-Disposition", `attachment; filename="requirements.txt.lock"`)
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Cache-Control", "no-store")
	return c.Blob(http.StatusOK, "text/plain; charset=utf-8", []byte(lock))
}
