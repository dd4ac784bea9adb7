package dashboard

import (
	"fmt"
	"net/url"
	"strconv"

	"github.com/labstack/echo/v4"
	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/web"
)

// auditView is the data of the audit log page.
type auditView struct {
	Available bool
	// Filter holds the form's values, as given.
	Filter  map[string]string
	Entries []*podium.AuditEntry
	// Names are content names by GUID, for targets "content:GUID".
	Names map[string]string
	// Older is the query of the next, older page ("" when none).
	Older string
}

// auditPage answers GET /__dashboard__/audit (administrators): the audit
// log, newest first, filtered by the query parameters of
// GET /__api__/v1/audit_log (actor, action, target, from, to, limit,
// before).
func (d *Dashboard) auditPage(c echo.Context) (*view, error) {
	v := &auditView{Available: d.opts.Audit != nil, Filter: map[string]string{}}
	for _, k := range []string{"actor", "action", "target", "from", "to"} {
		v.Filter[k] = c.QueryParam(k)
	}
	if !v.Available {
		return &view{Name: "audit", Title: "Audit log", Data: v}, nil
	}
	p, err := web.AuditQuery(c.Request().Context(), d.opts.Audit, c.QueryParam)
	if err != nil {
		return nil, err
	}
	v.Names = d.contentNames(c.Request().Context(), web.CurrentUser(c))
	if p != nil {
		if v.Entries, err = d.opts.Audit.AuditList(c.Request().Context(), p); err != nil {
			return nil, fmt.Errorf("audit page: %w", err)
		}
		if len(v.Entries) == p.Limit {
			q := url.Values{}
			for k, val := range v.Filter {
				if val != "" {
					q.Set(k, val)
				}
			}
			q.Set("limit", strconv.Itoa(p.Limit))
			q.Set("before", strconv.FormatInt(v.Entries[len(v.Entries)-1].ID, 10))
			v.Older = q.Encode()
		}
	}
	return &view{Name: "audit", Title: "Audit log", Data: v}, nil
}
