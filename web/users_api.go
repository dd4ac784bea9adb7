package web

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/web/route"
)

// This file is the user and group management API, with Posit Connect's
// names (docs/accounts.md, "Managing users without a shell").

// Groups have no GUID of their own either: like users' (UserGUID), theirs
// is derived from the id in a fixed UUID form.
const groupGUIDPrefix = "00000000-0000-4000-9000-"

var groupGUIDPattern = regexp.MustCompile(`^00000000-0000-4000-9000-([0-9a-f]{12})$`)

// GroupGUID returns the GUID Connect clients see for a group.
func GroupGUID(id int64) string { return fmt.Sprintf("%s%012x", groupGUIDPrefix, id) }

// ParseGroupGUID returns the group id of a GroupGUID, or of a numeric id.
func ParseGroupGUID(s string) (int64, bool) {
	if m := groupGUIDPattern.FindStringSubmatch(strings.ToLower(s)); m != nil {
		id, err := strconv.ParseInt(m[1], 16, 64)
		return id, err == nil && id > 0
	}
	id, err := strconv.ParseInt(s, 10, 64)
	return id, err == nil && id > 0
}

// parseUserParam returns the user id of a {guid} path parameter: a
// UserGUID or the numeric id.
func parseUserParam(s string) (int64, bool) {
	if id, ok := ParseUserGUID(s); ok {
		return id, true
	}
	id, err := strconv.ParseInt(s, 10, 64)
	return id, err == nil && id > 0
}

// UserInfo is a user in the API: Podium's fields and Connect's.
type UserInfo struct {
	*podium.User
	GUID      string `json:"guid"`
	UserRole  string `json:"user_role"`
	Confirmed bool   `json:"confirmed"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
}

func userInfo(u *podium.User) UserInfo {
	first, last, _ := strings.Cut(u.Name, " ")
	return UserInfo{User: u, GUID: UserGUID(u.ID), UserRole: connectRole(u.Role), Confirmed: true, FirstName: first, LastName: last}
}

// GroupInfo is a group in the API, with Connect's names.
type GroupInfo struct {
	*podium.Group
	GUID      string `json:"guid"`
	OwnerGUID string `json:"owner_guid"`
}

func groupInfo(g *podium.Group) GroupInfo { return GroupInfo{Group: g, GUID: GroupGUID(g.ID)} }

// ListBody is Connect's paged list: every result on one page.
type ListBody[T any] struct {
	Results     []T `json:"results"`
	CurrentPage int `json:"current_page"`
	Total       int `json:"total"`
}

func listBody[T any](items []T) ListBody[T] {
	if items == nil {
		items = []T{}
	}
	return ListBody[T]{Results: items, CurrentPage: 1, Total: len(items)}
}

// UpdateUserRequest is the body of PUT or PATCH /__api__/v1/users/{guid}:
// absent fields stay. Role takes Podium's names or Connect's
// ("administrator").
type UpdateUserRequest struct {
	Role     *string `json:"role"`
	UserRole *string `json:"user_role"`
	Locked   *bool   `json:"locked"`
	Email    *string `json:"email"`
	Name     *string `json:"name"`
}

// LockRequest is the body of POST /__api__/v1/users/{guid}/lock.
type LockRequest struct {
	Locked bool `json:"locked"`
}

// PasswordRequest is the body of POST /__api__/v1/users/{guid}/password
// (an administrator's reset).
type PasswordRequest struct {
	Password string `json:"password"`
}

// ChangePasswordRequest is the body of PUT /__api__/v1/user/password.
type ChangePasswordRequest struct {
	CurrentPassword string `json:"current_password"`
	NewPassword     string `json:"new_password"`
}

// CreateGroupRequest is the body of POST /__api__/v1/groups.
type CreateGroupRequest struct {
	Name string `json:"name"`
}

// AddMemberRequest is the body of POST /__api__/v1/groups/{guid}/members.
type AddMemberRequest struct {
	UserGUID string `json:"user_guid"`
}

func (h *accountHandlers) manageRoutes() []route.Route {
	const v1 = "/__api__/v1"
	return []route.Route{
		{Method: http.MethodGet, Path: v1 + "/users/:guid", Handler: h.getUser},
		{Method: http.MethodPut, Path: v1 + "/users/:guid", Handler: h.updateUser, Audit: podium.AuditUserUpdate, AuditTarget: "user:{guid}"},
		{Method: http.MethodPatch, Path: v1 + "/users/:guid", Handler: h.updateUser, Audit: podium.AuditUserUpdate, AuditTarget: "user:{guid}"},
		{Method: http.MethodDelete, Path: v1 + "/users/:guid", Handler: h.deleteUser, Audit: podium.AuditUserDelete, AuditTarget: "user:{guid}"},
		{Method: http.MethodPost, Path: v1 + "/users/:guid/lock", Handler: h.lockUser, Audit: podium.AuditUserLock, AuditTarget: "user:{guid}"},
		{Method: http.MethodPost, Path: v1 + "/users/:guid/password", Handler: h.resetPassword, Audit: podium.AuditUserSetPassword, AuditTarget: "user:{guid}"},
		{Method: http.MethodGet, Path: v1 + "/users/:guid/groups", Handler: h.userGroups},
		{Method: http.MethodPut, Path: v1 + "/user/password", Handler: h.changePassword, Audit: podium.AuditUserSetPassword},
		{Method: http.MethodGet, Path: v1 + "/user/sessions", Handler: h.listOwnSessions},
		{Method: http.MethodDelete, Path: v1 + "/user/sessions/:session", Handler: h.endOwnSession, Audit: podium.AuditSessionEnd, AuditDetail: []string{"session"}},
		{Method: http.MethodGet, Path: v1 + "/groups", Handler: h.listGroups},
		{Method: http.MethodPost, Path: v1 + "/groups", Handler: h.createGroup, Audit: podium.AuditGroupCreate},
		{Method: http.MethodGet, Path: v1 + "/groups/:guid", Handler: h.getGroup},
		{Method: http.MethodDelete, Path: v1 + "/groups/:guid", Handler: h.deleteGroup, Audit: podium.AuditGroupDelete, AuditTarget: "group:{guid}"},
		{Method: http.MethodGet, Path: v1 + "/groups/:guid/members", Handler: h.groupMembers},
		{Method: http.MethodPost, Path: v1 + "/groups/:guid/members", Handler: h.addMember, Audit: podium.AuditGroupAddMember, AuditTarget: "group:{guid}"},
		{Method: http.MethodDelete, Path: v1 + "/groups/:guid/members/:user", Handler: h.removeMember, Audit: podium.AuditGroupDelMember, AuditTarget: "group:{guid}"},
	}
}

// userParam returns the user named by the {guid} parameter and names it
// as the audit target. Returns ENOTFOUND.
func (h *accountHandlers) userParam(c echo.Context) (*podium.User, error) {
	return lookupParam(c, "user", parseUserParam, h.auth.GetUser, func(u *podium.User) string { return u.Username })
}

// groupParam returns the group named by the {guid} parameter and names it
// as the audit target. Returns ENOTFOUND.
func (h *accountHandlers) groupParam(c echo.Context) (*podium.Group, error) {
	return lookupParam(c, "group", ParseGroupGUID, h.auth.GetGroup, func(g *podium.Group) string { return g.Name })
}

// lookupParam finds the kind ("user", "group") named by the {guid}
// parameter: the audit target is the GUID until it is found, its name
// after; an unparsable or unknown GUID is one ENOTFOUND.
func lookupParam[T any](c echo.Context, kind string, parse func(string) (int64, bool),
	get func(context.Context, int64) (*T, error), name func(*T) string) (*T, error) {
	guid := c.Param("guid")
	SetAuditTarget(c, kind+":"+guid)
	notFound := podium.Errorf(podium.ENOTFOUND, "%s %q not found", kind, guid)
	id, ok := parse(guid)
	if !ok {
		return nil, notFound
	}
	v, err := get(c.Request().Context(), id)
	if podium.IsCode(err, podium.ENOTFOUND) {
		return nil, notFound
	} else if err != nil {
		return nil, err
	}
	SetAuditTarget(c, kind+":"+name(v))
	return v, nil
}

// adminUserParam is the caller, an administrator (else 403), and the user
// of the {guid} parameter.
func (h *accountHandlers) adminUserParam(c echo.Context) (me, u *podium.User, err error) {
	if me, err = requireAdmin(c); err != nil {
		return nil, nil, err
	}
	if u, err = h.userParam(c); err != nil {
		return nil, nil, err
	}
	return me, u, nil
}

// ownOrAdminUserParam is the user of the {guid} parameter when the caller
// is that user or an administrator; anyone else gets the same 404 as for
// an unknown user.
func (h *accountHandlers) ownOrAdminUserParam(c echo.Context) (*podium.User, error) {
	me, err := RequireUser(c)
	if err != nil {
		return nil, err
	}
	u, err := h.userParam(c)
	if err != nil {
		return nil, err
	}
	if !me.IsAdmin() && me.ID != u.ID {
		return nil, podium.Errorf(podium.ENOTFOUND, "user %q not found", c.Param("guid"))
	}
	return u, nil
}

// getUser answers GET /__api__/v1/users/{guid}: administrators see
// everyone, other users themselves.
func (h *accountHandlers) getUser(c echo.Context) error {
	u, err := h.ownOrAdminUserParam(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, userInfo(u))
}

// parseRole accepts Podium's role names and Connect's.
func parseRole(r string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(r)) {
	case "administrator", podium.RoleAdmin:
		return podium.RoleAdmin, nil
	case podium.RolePublisher:
		return podium.RolePublisher, nil
	case podium.RoleViewer:
		return podium.RoleViewer, nil
	}
	return "", podium.Errorf(podium.EINVALID, "role %q: must be admin (or administrator), publisher or viewer", r)
}

// notSelf refuses an administrator's change that would lock them out of
// their own account.
func notSelf(me, u *podium.User, what string) error {
	if me.ID == u.ID {
		return podium.Errorf(podium.EPRECONDITION, "you cannot %s your own account: ask another administrator", what)
	}
	return nil
}

// updateUser answers PUT or PATCH /__api__/v1/users/{guid}
// (administrators) with UpdateUserRequest: 200 with the user. A role
// change or a lock ends the user's sessions (and a lock refuses their API
// keys). An administrator cannot demote or lock themselves (412).
func (h *accountHandlers) updateUser(c echo.Context) error {
	me, u, err := h.adminUserParam(c)
	if err != nil {
		return err
	}
	var req UpdateUserRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	ctx := c.Request().Context()
	if req.UserRole != nil && req.Role == nil {
		req.Role = req.UserRole
	}
	if req.Role != nil {
		role, err := parseRole(*req.Role)
		if err != nil {
			return err
		}
		if role != u.Role {
			if err := notSelf(me, u, "change the role of"); err != nil {
				return err
			}
			SetAuditDetail(c, "role", role)
			SetAuditDetail(c, "old_role", u.Role)
			if u, err = h.auth.SetRole(ctx, u.ID, role); err != nil {
				return err
			}
		}
	}
	if req.Locked != nil && *req.Locked != u.Locked {
		if err := h.setLocked(c, me, u, *req.Locked); err != nil {
			return err
		}
	}
	if req.Name != nil || req.Email != nil {
		if err := h.auth.SetProfile(ctx, u.ID, req.Name, req.Email); err != nil {
			return err
		}
	}
	if u, err = h.auth.GetUser(ctx, u.ID); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, userInfo(u))
}

func (h *accountHandlers) setLocked(c echo.Context, me, u *podium.User, locked bool) error {
	if locked {
		if err := notSelf(me, u, "lock"); err != nil {
			return err
		}
	}
	SetAuditDetail(c, "locked", locked)
	return h.auth.SetLocked(c.Request().Context(), u.ID, locked)
}

// lockUser answers POST /__api__/v1/users/{guid}/lock {locked}
// (administrators; Connect's call): 200 with the user. Locking ends the
// user's sessions and refuses their API keys at once, on every node;
// unlocking lets them sign in again (no old session comes back).
func (h *accountHandlers) lockUser(c echo.Context) error {
	me, u, err := h.adminUserParam(c)
	if err != nil {
		return err
	}
	var req LockRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if err := h.setLocked(c, me, u, req.Locked); err != nil {
		return err
	}
	if u, err = h.auth.GetUser(c.Request().Context(), u.ID); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, userInfo(u))
}

// passwordsHere refuses password changes when another provider signs
// users in: Podium's passwords would not be used.
func (h *accountHandlers) passwordsHere() error {
	if h.provider != "" && h.provider != "password" {
		return podium.Errorf(podium.EPRECONDITION,
			"users sign in through the %s provider ([Authentication] Provider): passwords are changed there, not in Podium", h.provider)
	}
	return nil
}

// resetPassword answers POST /__api__/v1/users/{guid}/password {password}
// (administrators): 204; the user's sessions end. 412 when another
// provider than password signs users in.
func (h *accountHandlers) resetPassword(c echo.Context) error {
	_, u, err := h.adminUserParam(c)
	if err != nil {
		return err
	}
	if err := h.passwordsHere(); err != nil {
		return err
	}
	var req PasswordRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if req.Password == "" {
		return podium.Errorf(podium.EINVALID, "password is required")
	}
	if err := h.auth.SetPassword(c.Request().Context(), u.ID, req.Password); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// deleteUser answers DELETE /__api__/v1/users/{guid} (administrators):
// 204; the user's keys and sessions go with them. 412 while the user owns
// content, or for the caller's own account.
func (h *accountHandlers) deleteUser(c echo.Context) error {
	me, u, err := h.adminUserParam(c)
	if err != nil {
		return err
	}
	if err := notSelf(me, u, "delete"); err != nil {
		return err
	}
	if err := h.auth.DeleteUser(c.Request().Context(), u.ID); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// userGroups answers GET /__api__/v1/users/{guid}/groups: the user's
// groups (administrators, or the user themselves).
func (h *accountHandlers) userGroups(c echo.Context) error {
	u, err := h.ownOrAdminUserParam(c)
	if err != nil {
		return err
	}
	gs, err := h.auth.UserGroups(c.Request().Context(), u.ID)
	if err != nil {
		return err
	}
	out := make([]GroupInfo, 0, len(gs))
	for _, g := range gs {
		out = append(out, groupInfo(g))
	}
	return c.JSON(http.StatusOK, listBody(out))
}

// changePassword answers PUT /__api__/v1/user/password
// {current_password, new_password}: 204, and every session of the caller
// ends (this one too: sign in again). 403 for a wrong current password,
// 400 for a refused new one, 412 under another provider.
func (h *accountHandlers) changePassword(c echo.Context) error {
	me, err := RequireUser(c)
	if err != nil {
		return err
	}
	SetAuditTarget(c, "user:"+me.Username)
	if err := h.passwordsHere(); err != nil {
		return err
	}
	var req ChangePasswordRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if err := h.auth.ChangePassword(c.Request().Context(), me.ID, req.CurrentPassword, req.NewPassword); err != nil {
		return err
	}
	if AuthMethod(c) == AuthSession {
		clearSessionCookie(c)
	}
	return c.NoContent(http.StatusNoContent)
}

// currentToken returns the caller's session token, "" for an API key.
func currentToken(c echo.Context) string {
	if ai, ok := c.Get(authKey).(*authInfo); ok && ai.session != nil {
		return ai.session.Token
	}
	return ""
}

// listOwnSessions answers GET /__api__/v1/user/sessions: the caller's
// login sessions (never anything that opens them), the current one
// marked.
func (h *accountHandlers) listOwnSessions(c echo.Context) error {
	me, err := RequireUser(c)
	if err != nil {
		return err
	}
	list, err := h.auth.ListSessions(c.Request().Context(), me.ID, currentToken(c))
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, list)
}

// endOwnSession answers DELETE /__api__/v1/user/sessions/{id}: 204; 404
// for a session that is not the caller's.
func (h *accountHandlers) endOwnSession(c echo.Context) error {
	me, err := RequireUser(c)
	if err != nil {
		return err
	}
	SetAuditTarget(c, "user:"+me.Username)
	if err := h.auth.EndSession(c.Request().Context(), me.ID, c.Param("session")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// listGroups answers GET /__api__/v1/groups (any signed-in user: owners
// share content with groups), Connect's paged list of every group.
func (h *accountHandlers) listGroups(c echo.Context) error {
	if _, err := RequireUser(c); err != nil {
		return err
	}
	gs, err := h.auth.ListGroups(c.Request().Context())
	if err != nil {
		return err
	}
	prefix := strings.ToLower(c.QueryParam("prefix"))
	out := make([]GroupInfo, 0, len(gs))
	for _, g := range gs {
		if prefix == "" || strings.HasPrefix(strings.ToLower(g.Name), prefix) {
			out = append(out, groupInfo(g))
		}
	}
	return c.JSON(http.StatusOK, listBody(out))
}

// createGroup answers POST /__api__/v1/groups {name} (administrators):
// 201 with the local group; 409 for a taken name.
func (h *accountHandlers) createGroup(c echo.Context) error {
	if _, err := requireAdmin(c); err != nil {
		return err
	}
	var req CreateGroupRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	SetAuditTarget(c, "group:"+req.Name)
	g, err := h.auth.CreateGroup(c.Request().Context(), req.Name)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, groupInfo(g))
}

// getGroup answers GET /__api__/v1/groups/{guid}.
func (h *accountHandlers) getGroup(c echo.Context) error {
	if _, err := RequireUser(c); err != nil {
		return err
	}
	g, err := h.groupParam(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, groupInfo(g))
}

// deleteGroup answers DELETE /__api__/v1/groups/{guid} (administrators):
// 204; its grants on content go with it.
func (h *accountHandlers) deleteGroup(c echo.Context) error {
	if _, err := requireAdmin(c); err != nil {
		return err
	}
	g, err := h.groupParam(c)
	if err != nil {
		return err
	}
	if err := h.auth.DeleteGroup(c.Request().Context(), g.ID); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// groupMembers answers GET /__api__/v1/groups/{guid}/members
// (administrators): Connect's paged list of users.
func (h *accountHandlers) groupMembers(c echo.Context) error {
	if _, err := requireAdmin(c); err != nil {
		return err
	}
	g, err := h.groupParam(c)
	if err != nil {
		return err
	}
	us, err := h.auth.ListGroupMembers(c.Request().Context(), g.ID)
	if err != nil {
		return err
	}
	out := make([]UserInfo, 0, len(us))
	for _, u := range us {
		out = append(out, userInfo(u))
	}
	return c.JSON(http.StatusOK, listBody(out))
}

// addMember answers POST /__api__/v1/groups/{guid}/members {user_guid}
// (administrators): 204. 412 for a provider's group, whose members come
// from the provider.
func (h *accountHandlers) addMember(c echo.Context) error {
	if _, err := requireAdmin(c); err != nil {
		return err
	}
	g, err := h.groupParam(c)
	if err != nil {
		return err
	}
	var req AddMemberRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	uid, ok := parseUserParam(req.UserGUID)
	if !ok {
		return podium.Errorf(podium.EINVALID, "user_guid %q is not a user's GUID", req.UserGUID)
	}
	SetAuditDetail(c, "user_guid", req.UserGUID)
	if err := h.auth.AddGroupMember(c.Request().Context(), g.ID, uid); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// removeMember answers DELETE /__api__/v1/groups/{guid}/members/{user}
// (administrators; {user} is the user's GUID): 204.
func (h *accountHandlers) removeMember(c echo.Context) error {
	if _, err := requireAdmin(c); err != nil {
		return err
	}
	g, err := h.groupParam(c)
	if err != nil {
		return err
	}
	uid, ok := parseUserParam(c.Param("user"))
	if !ok {
		return podium.Errorf(podium.ENOTFOUND, "user %q not found", c.Param("user"))
	}
	SetAuditDetail(c, "user_guid", c.Param("user"))
	if err := h.auth.RemoveGroupMember(c.Request().Context(), g.ID, uid); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
