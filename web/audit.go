package web

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/audit"
	"github.com/podiumhq/podium/dbprovider"
	"github.com/podiumhq/podium/web/route"
	"github.com/sirupsen/logrus"
)

// auditTargetKey holds, in the echo context, the target a handler names
// for the audit log when the route's parameters do not (a created user).
const auditTargetKey = "podium.audit.target"

// SetAuditTarget names what the request acted on, for the audit log
// ("user:alice", "key:7"), when the route's AuditTarget cannot (the
// handler learns it as it runs): it replaces the route's.
func SetAuditTarget(c echo.Context, target string) { c.Set(auditTargetKey, target) }

// auditActorKey and auditDetailKey hold, in the echo context, the user a
// handler names as the actor when the request was not authenticated (the
// first administrator the first-run setup creates), and extra detail keys.
const (
	auditActorKey  = "podium.audit.actor"
	auditDetailKey = "podium.audit.detail"
)

// SetAuditActor names the user who acted when the request carried no
// authentication (the first-run setup's new administrator).
func SetAuditActor(c echo.Context, userID int64) { c.Set(auditActorKey, userID) }

// SetAuditDetail adds key to the audit log row's detail. Never give it a
// secret: the detail is shown to administrators (environment variables
// are logged by name, never by value).
func SetAuditDetail(c echo.Context, key string, value any) {
	d, _ := c.Get(auditDetailKey).(map[string]any)
	if d == nil {
		d = map[string]any{}
		c.Set(auditDetailKey, d)
	}
	d[key] = value
}

// audited wraps the handler of every route whose Audit is set (see Mount):
// after the handler, it writes one audit_log row with the caller, the
// action, the target and detail the route declares (or the handler names),
// the outcome (HTTP status) and the request id. A failed write is logged,
// never turned into a failed request.
func (s *Server) audited(r route.Route) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			err := next(c)
			if s.audit == nil {
				return err
			}
			status := c.Response().Status
			if err != nil {
				status = StatusOf(podium.ErrorCode(err))
				var he *echo.HTTPError
				if errors.As(err, &he) {
					status = he.Code
				}
			}
			s.writeAudit(c, r, status)
			return err
		}
	}
}

func (s *Server) writeAudit(c echo.Context, r route.Route, status int) {
	p := &dbprovider.AuditInsertParams{NodeID: s.nodeID, Action: r.Audit, Target: route.Expand(r.AuditTarget, c.Param)}
	if r.AuditFailed != "" && (status < 300 || status > 399) {
		p.Action = r.AuditFailed
	}
	if u := CurrentUser(c); u != nil {
		p.UserID = u.ID
	} else if id, ok := c.Get(auditActorKey).(int64); ok {
		p.UserID = id
	}
	if t, ok := c.Get(auditTargetKey).(string); ok {
		p.Target = t
	}
	detail := map[string]any{}
	for _, name := range r.AuditDetail {
		detail[name] = c.Param(name)
	}
	if extra, ok := c.Get(auditDetailKey).(map[string]any); ok {
		for k, v := range extra {
			detail[k] = v
		}
	}
	detail["status"], detail["request_id"], detail["remote"] = status, c.Response().Header().Get(echo.HeaderXRequestID), c.RealIP()
	b, _ := json.Marshal(detail)
	p.Detail = string(b)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.Request().Context()), 5*time.Second)
	defer cancel()
	if err := s.audit.AuditInsert(ctx, p); err != nil {
		s.log.WithError(err).WithFields(logrus.Fields{"action": p.Action, "target": p.Target}).Warn("cannot write the audit log")
	}
}

// AuditLogBody is the answer of GET /__api__/v1/audit_log.
type AuditLogBody struct {
	Entries []*podium.AuditEntry `json:"entries"`
	// NextBefore, when not 0, pages on: pass it as ?before= for the next,
	// older entries.
	NextBefore int64 `json:"next_before,omitempty"`
}

// AuditRoutes are the administrators' audit log API:
//
//	GET /__api__/v1/audit_log?actor=NAME&action=ACTION&target=TARGET&from=RFC3339&to=RFC3339&limit=N&before=ID
func AuditRoutes(db audit.Reader) []route.Route {
	h := &auditAPI{db: db}
	return []route.Route{{Method: http.MethodGet, Path: "/__api__/v1/audit_log", Handler: h.list}}
}

// auditAPI is the handler of the audit log endpoint.
type auditAPI struct{ db audit.Reader }

func (h *auditAPI) list(c echo.Context) error {
	u, err := RequireUser(c)
	if err != nil {
		return err
	}
	if !u.IsAdmin() {
		return podium.Errorf(podium.EFORBIDDEN, "only administrators may read the audit log")
	}
	p, err := AuditQuery(c.Request().Context(), h.db, c.QueryParam)
	if err != nil {
		return err
	}
	if p == nil { // an actor who does not exist: nothing they did
		return c.JSON(http.StatusOK, AuditLogBody{Entries: []*podium.AuditEntry{}})
	}
	list, err := h.db.AuditList(c.Request().Context(), p)
	if err != nil {
		return err
	}
	body := AuditLogBody{Entries: list}
	if len(list) == p.Limit {
		body.NextBefore = list[len(list)-1].ID
	}
	return c.JSON(http.StatusOK, body)
}

// AuditQuery reads the audit log filters from query parameters (the API
// and the dashboard page share it). It returns nil params, and no error,
// for an actor that does not exist. Returns EINVALID naming the parameter.
func AuditQuery(ctx context.Context, db audit.Reader, get func(string) string) (*dbprovider.AuditListParams, error) {
	p := &dbprovider.AuditListParams{Action: get("action"), Target: get("target"), Limit: 100}
	if name := get("actor"); name != "" {
		u, err := db.UserGetByName(ctx, name)
		if podium.IsCode(err, podium.ENOTFOUND) {
			return nil, nil
		} else if err != nil {
			return nil, err
		}
		p.UserID = u.ID
	}
	for _, tp := range []struct {
		name string
		dst  *time.Time
	}{{"from", &p.From}, {"to", &p.To}} {
		if v := get(tp.name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return nil, podium.Errorf(podium.EINVALID, "%s: %q is not an RFC 3339 time such as 2026-01-02T15:04:05Z", tp.name, v)
			}
			*tp.dst = t
		}
	}
	for _, ip := range []struct {
		name string
		dst  *int
		max  int
	}{{"limit", &p.Limit, 1000}} {
		if v := get(ip.name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > ip.max {
				return nil, podium.Errorf(podium.EINVALID, "%s must be an integer from 1 to %d", ip.name, ip.max)
			}
			*ip.dst = n
		}
	}
	if v := get("before"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			return nil, podium.Errorf(podium.EINVALID, "before must be a positive entry id")
		}
		p.BeforeID = n
	}
	return p, nil
}
