package web

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/publish"
	"github.com/podiumhq/podium/web/route"
)

// TagRoutes are Connect's tag endpoints: the tag tree under
// /__api__/v1/tags (administrators change it; everyone authenticated reads
// it) and the tags of content under /__api__/v1/content/{guid}/tags
// (those who may change the content add and remove them). See
// docs/publishing.md, "Tags".
func TagRoutes(svc publish.TagService) []route.Route {
	h := &tagAPI{svc: svc}
	const v1 = "/__api__/v1"
	return []route.Route{
		{Method: http.MethodGet, Path: v1 + "/tags", Handler: h.list},
		{Method: http.MethodPost, Path: v1 + "/tags", Handler: h.create, Audit: podium.AuditTagCreate},
		{Method: http.MethodGet, Path: v1 + "/tags/:id", Handler: h.get},
		{Method: http.MethodPatch, Path: v1 + "/tags/:id", Handler: h.update, Audit: podium.AuditTagUpdate, AuditTarget: "tag:{id}"},
		{Method: http.MethodDelete, Path: v1 + "/tags/:id", Handler: h.delete, Audit: podium.AuditTagDelete, AuditTarget: "tag:{id}"},
		{Method: http.MethodGet, Path: v1 + "/tags/:id/content", Handler: h.content},
		{Method: http.MethodGet, Path: v1 + "/content/:guid/tags", Handler: h.contentTags},
		{Method: http.MethodPost, Path: v1 + "/content/:guid/tags", Handler: h.contentTagAdd, Audit: podium.AuditContentTagAdd, AuditTarget: "content:{guid}"},
		{Method: http.MethodDelete, Path: v1 + "/content/:guid/tags/:id", Handler: h.contentTagRemove, Audit: podium.AuditContentTagDel, AuditTarget: "content:{guid}"},
	}
}

type tagAPI struct{ svc publish.TagService }

// TagBody is the JSON of a tag, with Connect's fields: ids are strings,
// as Connect sends them; parent_id is null at the root.
type TagBody struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	ParentID    *string   `json:"parent_id"`
	CreatedTime time.Time `json:"created_time"`
	UpdatedTime time.Time `json:"updated_time"`
}

func tagBody(t *podium.Tag) *TagBody {
	b := &TagBody{ID: strconv.FormatInt(t.ID, 10), Name: t.Name, CreatedTime: t.CreatedAt, UpdatedTime: t.UpdatedAt}
	if t.ParentID != nil {
		p := strconv.FormatInt(*t.ParentID, 10)
		b.ParentID = &p
	}
	return b
}

func tagBodies(list []*podium.Tag) []*TagBody {
	out := make([]*TagBody, len(list))
	for i, t := range list {
		out[i] = tagBody(t)
	}
	return out
}

// tagID reads a tag id from a path or query parameter.
func tagID(v string) (int64, error) {
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		return 0, podium.Errorf(podium.ENOTFOUND, "tag %q not found", v)
	}
	return id, nil
}

// optID is an id sent as a JSON string or number, or null; Set tells
// whether the field was present.
type optID struct {
	Set   bool
	Value int64 // 0 for null
}

func (o *optID) UnmarshalJSON(b []byte) error {
	o.Set = true
	s := strings.Trim(string(b), `"`)
	if s == "null" || s == "" {
		return nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v <= 0 {
		return podium.Errorf(podium.EINVALID, "an id must be a positive integer (as a string or a number) or null, not %s", b)
	}
	o.Value = v
	return nil
}

func (h *tagAPI) list(c echo.Context) error {
	u, err := RequireUser(c)
	if err != nil {
		return err
	}
	r := publish.TagListRequest{Name: c.QueryParam("name")}
	if v := c.QueryParam("parent_id"); v != "" {
		if v != "0" {
			if r.ParentID, err = strconv.ParseInt(v, 10, 64); err != nil || r.ParentID <= 0 {
				return podium.Errorf(podium.EINVALID, "parent_id must be a tag id")
			}
		}
		r.HasParent = true
	}
	list, err := h.svc.TagList(c.Request().Context(), u, r)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, tagBodies(list))
}

// TagCreateBody is the body of POST /__api__/v1/tags.
type TagCreateBody struct {
	Name     string `json:"name"`
	ParentID optID  `json:"parent_id"`
}

func (h *tagAPI) create(c echo.Context) error {
	u, err := RequireUser(c)
	if err != nil {
		return err
	}
	var b TagCreateBody
	if err := decodeContentJSON(c, &b); err != nil {
		return err
	}
	t, err := h.svc.TagCreate(c.Request().Context(), u, b.Name, b.ParentID.Value)
	if err != nil {
		return err
	}
	SetAuditTarget(c, "tag:"+strconv.FormatInt(t.ID, 10))
	return c.JSON(http.StatusOK, tagBody(t))
}

func (h *tagAPI) get(c echo.Context) error {
	u, err := RequireUser(c)
	if err != nil {
		return err
	}
	id, err := tagID(c.Param("id"))
	if err != nil {
		return err
	}
	t, err := h.svc.TagGet(c.Request().Context(), u, id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, tagBody(t))
}

// TagUpdateBody is the body of PATCH /__api__/v1/tags/{id}: a name, a
// parent (null for the root), or both.
type TagUpdateBody struct {
	Name     *string `json:"name"`
	ParentID optID   `json:"parent_id"`
}

func (h *tagAPI) update(c echo.Context) error {
	u, err := RequireUser(c)
	if err != nil {
		return err
	}
	id, err := tagID(c.Param("id"))
	if err != nil {
		return err
	}
	var b TagUpdateBody
	if err := decodeContentJSON(c, &b); err != nil {
		return err
	}
	r := publish.TagUpdateRequest{Name: b.Name}
	if b.ParentID.Set {
		r.ParentID = &b.ParentID.Value
	}
	t, err := h.svc.TagUpdate(c.Request().Context(), u, id, r)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, tagBody(t))
}

func (h *tagAPI) delete(c echo.Context) error {
	u, err := RequireUser(c)
	if err != nil {
		return err
	}
	id, err := tagID(c.Param("id"))
	if err != nil {
		return err
	}
	if err := h.svc.TagDelete(c.Request().Context(), u, id); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// content answers GET /__api__/v1/tags/{id}/content: the content tagged
// with the tag that the caller may see.
func (h *tagAPI) content(c echo.Context) error {
	u, err := RequireUser(c)
	if err != nil {
		return err
	}
	id, err := tagID(c.Param("id"))
	if err != nil {
		return err
	}
	list, err := h.svc.TagContent(c.Request().Context(), u, id)
	if err != nil {
		return err
	}
	out := make([]*ContentBody, len(list))
	for i, ct := range list {
		out[i] = contentBody(c, ct)
	}
	return c.JSON(http.StatusOK, out)
}

func (h *tagAPI) contentTags(c echo.Context) error {
	u, err := RequireUser(c)
	if err != nil {
		return err
	}
	list, err := h.svc.ContentTags(c.Request().Context(), u, c.Param("guid"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, tagBodies(list))
}

// ContentTagBody is the body of POST /__api__/v1/content/{guid}/tags.
type ContentTagBody struct {
	TagID json.RawMessage `json:"tag_id"`
}

func (h *tagAPI) contentTagAdd(c echo.Context) error {
	u, err := RequireUser(c)
	if err != nil {
		return err
	}
	var b ContentTagBody
	if err := decodeContentJSON(c, &b); err != nil {
		return err
	}
	var id optID
	if len(b.TagID) > 0 {
		if err := id.UnmarshalJSON(b.TagID); err != nil {
			return err
		}
	}
	if id.Value == 0 {
		return podium.Errorf(podium.EINVALID, `send {"tag_id": "<id>"}: the id of an existing tag`)
	}
	SetAuditDetail(c, "tag", id.Value)
	t, err := h.svc.ContentTagAdd(c.Request().Context(), u, c.Param("guid"), id.Value)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, tagBody(t))
}

func (h *tagAPI) contentTagRemove(c echo.Context) error {
	u, err := RequireUser(c)
	if err != nil {
		return err
	}
	id, err := tagID(c.Param("id"))
	if err != nil {
		return err
	}
	SetAuditDetail(c, "tag", id)
	if err := h.svc.ContentTagRemove(c.Request().Context(), u, c.Param("guid"), id); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
