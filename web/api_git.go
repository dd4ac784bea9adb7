package web

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/publish"
	"github.com/podiumhq/podium/web/route"
)

// GitRoutes are the endpoints of git-backed content (docs/publishing.md,
// "Git-backed content"): Connect's GET, PUT, PATCH and DELETE
// /__api__/v1/content/{guid}/repository, as rsconnect's "deploy git" and
// "content repository" call them, and Podium's administrator endpoints for
// the credentials of repository hosts, /__api__/v1/git/credentials.
func GitRoutes(svc publish.GitService) []route.Route {
	h := &gitAPI{svc: svc}
	const v1 = "/__api__/v1"
	return []route.Route{
		{Method: http.MethodGet, Path: v1 + "/content/:guid/repository", Handler: h.get},
		{Method: http.MethodPut, Path: v1 + "/content/:guid/repository", Handler: h.put, Audit: podium.AuditRepositorySet, AuditTarget: "content:{guid}"},
		{Method: http.MethodPatch, Path: v1 + "/content/:guid/repository", Handler: h.patch, Audit: podium.AuditRepositorySet, AuditTarget: "content:{guid}"},
		{Method: http.MethodDelete, Path: v1 + "/content/:guid/repository", Handler: h.delete, Audit: podium.AuditRepositoryDel, AuditTarget: "content:{guid}"},
		{Method: http.MethodGet, Path: v1 + "/git/credentials", Handler: h.credList},
		{Method: http.MethodPut, Path: v1 + "/git/credentials/:host", Handler: h.credSet, Audit: podium.AuditGitCredSet, AuditDetail: []string{"host"}},
		{Method: http.MethodDelete, Path: v1 + "/git/credentials/:host", Handler: h.credDelete, Audit: podium.AuditGitCredDelete, AuditDetail: []string{"host"}},
	}
}

type gitAPI struct{ svc publish.GitService }

// RepositoryBody is the JSON of the repository of content: Connect's
// GitLocationOutput fields.
type RepositoryBody struct {
	Repository      string     `json:"repository"`
	Branch          string     `json:"branch"`
	Directory       string     `json:"directory"`
	Polling         bool       `json:"polling"`
	LastError       string     `json:"last_error"`
	LastKnownCommit string     `json:"last_known_commit"`
	LastFetchedTime *time.Time `json:"last_fetched_time"`
}

func repositoryBody(r *podium.Repository) *RepositoryBody {
	return &RepositoryBody{Repository: r.Repository, Branch: r.Branch, Directory: r.Directory, Polling: r.Polling,
		LastError: r.LastError, LastKnownCommit: r.LastKnownCommit, LastFetchedTime: r.LastFetchedAt}
}

// RepositoryChangeBody is the body of PUT and PATCH …/repository.
type RepositoryChangeBody struct {
	Repository *string `json:"repository"`
	Branch     *string `json:"branch"`
	Directory  *string `json:"directory"`
	Polling    *bool   `json:"polling"`
}

func (h *gitAPI) get(c echo.Context) error {
	u, err := RequireUser(c)
	if err != nil {
		return err
	}
	r, err := h.svc.RepositoryGet(c.Request().Context(), u, c.Param("guid"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, repositoryBody(r))
}

func (h *gitAPI) put(c echo.Context) error   { return h.set(c, true) }
func (h *gitAPI) patch(c echo.Context) error { return h.set(c, false) }

func (h *gitAPI) set(c echo.Context, replace bool) error {
	u, err := RequireUser(c)
	if err != nil {
		return err
	}
	var b RepositoryChangeBody
	if err := decodeContentJSON(c, &b); err != nil {
		return err
	}
	if b.Repository != nil {
		SetAuditDetail(c, "repository", *b.Repository)
	}
	r, err := h.svc.RepositorySet(c.Request().Context(), u, c.Param("guid"), publish.RepositoryChange{
		Repository: b.Repository, Branch: b.Branch, Directory: b.Directory, Polling: b.Polling}, replace)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, repositoryBody(r))
}

func (h *gitAPI) delete(c echo.Context) error {
	u, err := RequireUser(c)
	if err != nil {
		return err
	}
	if err := h.svc.RepositoryDelete(c.Request().Context(), u, c.Param("guid")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// GitCredentialBody is a credential as the API shows it: never the
// secret.
type GitCredentialBody struct {
	Host         string    `json:"host"`
	Username     string    `json:"username"`
	CreatedTime  time.Time `json:"created_time"`
	ModifiedTime time.Time `json:"last_modified_time"`
}

// GitCredentialSetBody is the body of PUT /__api__/v1/git/credentials/{host}.
type GitCredentialSetBody struct {
	Username string `json:"username"`
	Secret   string `json:"secret"`
}

func (h *gitAPI) credList(c echo.Context) error {
	u, err := RequireUser(c)
	if err != nil {
		return err
	}
	list, err := h.svc.GitCredentialList(c.Request().Context(), u)
	if err != nil {
		return err
	}
	out := make([]GitCredentialBody, len(list))
	for i, cr := range list {
		out[i] = GitCredentialBody{Host: cr.Host, Username: cr.Username, CreatedTime: cr.CreatedAt, ModifiedTime: cr.UpdatedAt}
	}
	return c.JSON(http.StatusOK, out)
}

func (h *gitAPI) credSet(c echo.Context) error {
	u, err := RequireUser(c)
	if err != nil {
		return err
	}
	var b GitCredentialSetBody
	if err := decodeContentJSON(c, &b); err != nil {
		return err
	}
	cr, err := h.svc.GitCredentialSet(c.Request().Context(), u, c.Param("host"), b.Username, b.Secret)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, GitCredentialBody{Host: cr.Host, Username: cr.Username, CreatedTime: cr.CreatedAt, ModifiedTime: cr.UpdatedAt})
}

func (h *gitAPI) credDelete(c echo.Context) error {
	u, err := RequireUser(c)
	if err != nil {
		return err
	}
	if err := h.svc.GitCredentialDelete(c.Request().Context(), u, c.Param("host")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
