package web

import (
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/auth"
	"github.com/podiumhq/podium/dbprovider"
	"github.com/podiumhq/podium/web/route"
)

// maxAccountBody bounds the JSON body of the account API.
const maxAccountBody = 64 << 10

// UserBody is the JSON of GET /__api__/v1/user: the caller, how it
// authenticated, and for a session the CSRF token that its state-changing
// requests must send in X-CSRF-Token.
type UserBody struct {
	*podium.User
	// The Connect fields clients read: GUID (UserGUID), UserRole, and
	// Confirmed (always true: Podium has no unconfirmed accounts).
	GUID       string `json:"guid"`
	UserRole   string `json:"user_role"`
	Confirmed  bool   `json:"confirmed"`
	AuthMethod string `json:"auth_method"`
	CSRFToken  string `json:"csrf_token,omitempty"`
}

// KeyBody is an API key in the API: never the secret, except in Key of
// the response that creates it.
type KeyBody struct {
	ID         int64      `json:"id"`
	UserID     int64      `json:"user_id"`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	Key        string     `json:"key,omitempty"`
}

func keyBody(k *dbprovider.APIKey) KeyBody {
	return KeyBody{ID: k.ID, UserID: k.UserID, Name: k.Name, Prefix: k.Prefix, CreatedAt: k.CreatedAt, LastUsedAt: k.LastUsedAt}
}

// CreateKeyRequest is the body of POST /__api__/v1/keys.
type CreateKeyRequest struct {
	Name string `json:"name"`
}

// CreateUserRequest is the body of POST /__api__/v1/users.
type CreateUserRequest struct {
	Username string `json:"username"`
	Role     string `json:"role"`
	// Password is optional: without it the user has API keys only.
	Password string `json:"password"`
}

func (h *accountHandlers) apiRoutes() []route.Route {
	return []route.Route{
		{Method: http.MethodGet, Path: "/__api__/v1/user", Handler: h.whoami},
		{Method: http.MethodGet, Path: "/__api__/me", Handler: h.whoami},            // what older Connect clients ask
		{Method: http.MethodGet, Path: "/__api__/users/current", Handler: h.whoami}, // what the R rsconnect package asks
		{Method: http.MethodGet, Path: "/__api__/v1/keys", Handler: h.listKeys},
		{Method: http.MethodPost, Path: "/__api__/v1/keys", Handler: h.createKey, Audit: podium.AuditKeyCreate},
		{Method: http.MethodDelete, Path: "/__api__/v1/keys/:id", Handler: h.revokeKey, Audit: podium.AuditKeyRevoke, AuditTarget: "key:{id}"},
		{Method: http.MethodGet, Path: "/__api__/v1/users", Handler: h.listUsers},
		{Method: http.MethodPost, Path: "/__api__/v1/users", Handler: h.createUser, Audit: podium.AuditUserCreate},
		{Method: http.MethodDelete, Path: "/__api__/v1/users/:guid/sessions", Handler: h.endSessions, Audit: podium.AuditUserEndSessions, AuditTarget: "user:{guid}"},
	}
}

// EndSessionsBody is the JSON of DELETE /__api__/v1/users/{guid}/sessions.
type EndSessionsBody struct {
	// Ended is how many sessions there were.
	Ended int64 `json:"ended"`
}

// endSessions answers DELETE /__api__/v1/users/{guid}/sessions
// (administrators; {guid} is the user's GUID, or the numeric id that GET
// /__api__/v1/users lists): ends every login session of the user, on every node;
// 200 with EndSessionsBody; 404 for an unknown user. The user's API keys
// stay valid (DELETE /__api__/v1/keys/{id} revokes one).
func (h *accountHandlers) endSessions(c echo.Context) error {
	if _, err := requireAdmin(c); err != nil {
		return err
	}
	id, ok := ParseUserGUID(c.Param("guid"))
	if !ok {
		// The numeric id of GET /__api__/v1/users works too.
		n, err := strconv.ParseInt(c.Param("guid"), 10, 64)
		id, ok = n, err == nil && n > 0
	}
	if !ok {
		return podium.Errorf(podium.ENOTFOUND, "user %q not found", c.Param("guid"))
	}
	u, err := h.auth.GetUser(c.Request().Context(), id)
	if podium.IsCode(err, podium.ENOTFOUND) {
		return podium.Errorf(podium.ENOTFOUND, "user %q not found", c.Param("guid"))
	} else if err != nil {
		return err
	}
	SetAuditTarget(c, "user:"+u.Username)
	n, err := h.auth.EndSessions(c.Request().Context(), u.ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, EndSessionsBody{Ended: n})
}

// whoami answers GET /__api__/v1/user: 200 with UserBody, 401 anonymous.
func (h *accountHandlers) whoami(c echo.Context) error {
	u, err := RequireUser(c)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, UserBody{User: u, GUID: UserGUID(u.ID), UserRole: connectRole(u.Role), Confirmed: true,
		AuthMethod: AuthMethod(c), CSRFToken: CSRFToken(c)})
}

// listKeys answers GET /__api__/v1/keys: the caller's unrevoked keys; an
// administrator gets every user's with ?all=true.
func (h *accountHandlers) listKeys(c echo.Context) error {
	u, err := RequireUser(c)
	if err != nil {
		return err
	}
	owner := u.ID
	if all, _ := strconv.ParseBool(c.QueryParam("all")); all {
		if !u.IsAdmin() {
			return podium.Errorf(podium.EFORBIDDEN, "only administrators may list every user's keys")
		}
		owner = 0
	}
	keys, err := h.auth.ListAPIKeys(c.Request().Context(), owner)
	if err != nil {
		return err
	}
	out := make([]KeyBody, 0, len(keys))
	for _, k := range keys {
		out = append(out, keyBody(k))
	}
	return c.JSON(http.StatusOK, out)
}

// createKey answers POST /__api__/v1/keys {name}: 201 with the key, the
// only time it is shown.
func (h *accountHandlers) createKey(c echo.Context) error {
	u, err := RequireUser(c)
	if err != nil {
		return err
	}
	var req CreateKeyRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	key, rec, err := h.auth.CreateAPIKey(c.Request().Context(), u.ID, req.Name)
	if err != nil {
		return err
	}
	SetAuditTarget(c, "key:"+strconv.FormatInt(rec.ID, 10))
	body := keyBody(rec)
	body.Key = key
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusCreated, body)
}

// revokeKey answers DELETE /__api__/v1/keys/:id: 204; 404 for an unknown
// key or another user's (administrators may revoke any).
func (h *accountHandlers) revokeKey(c echo.Context) error {
	u, err := RequireUser(c)
	if err != nil {
		return err
	}
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return podium.Errorf(podium.ENOTFOUND, "API key %q not found", c.Param("id"))
	}
	owner := u.ID
	if u.IsAdmin() {
		owner = 0
	}
	if err := h.auth.RevokeAPIKey(c.Request().Context(), owner, id); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// listUsers answers GET /__api__/v1/users (administrators): every user,
// with Connect's fields (UserInfo).
func (h *accountHandlers) listUsers(c echo.Context) error {
	if _, err := requireAdmin(c); err != nil {
		return err
	}
	users, err := h.auth.ListUsers(c.Request().Context())
	if err != nil {
		return err
	}
	out := make([]UserInfo, 0, len(users))
	for _, u := range users {
		out = append(out, userInfo(u))
	}
	return c.JSON(http.StatusOK, out)
}

// createUser answers POST /__api__/v1/users (administrators): 201 with
// the user; 400 for bad input, 409 for a taken username.
func (h *accountHandlers) createUser(c echo.Context) error {
	if _, err := requireAdmin(c); err != nil {
		return err
	}
	var req CreateUserRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	SetAuditTarget(c, "user:"+req.Username)
	u, err := h.auth.CreateUser(c.Request().Context(), auth.CreateUserParams{Username: req.Username, Role: req.Role, Password: req.Password})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, userInfo(u))
}

// requireAdmin returns the caller if an administrator: 401 anonymous, 403
// otherwise.
func requireAdmin(c echo.Context) (*podium.User, error) {
	u, err := RequireUser(c)
	if err != nil {
		return nil, err
	}
	if !u.IsAdmin() {
		return nil, podium.Errorf(podium.EFORBIDDEN, "only administrators may manage users")
	}
	return u, nil
}

// decodeJSON reads an account API body (small: 64 KiB) into v, refusing
// unknown fields. Returns EINVALID, ETOOLARGE or EUNSUPPORTED.
func decodeJSON(c echo.Context, v any) error { return decodeJSONBody(c, v, maxAccountBody) }

// connectRole names a Podium role as Connect does.
func connectRole(role string) string {
	switch role {
	case podium.RoleAdmin:
		return "administrator"
	case podium.RolePublisher:
		return "publisher"
	default:
		return "viewer"
	}
}
