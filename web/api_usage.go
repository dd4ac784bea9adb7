package web

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider"
	"github.com/podiumhq/podium/usage"
	"github.com/podiumhq/podium/web/route"
)

// Connect's instrumentation paths.
const (
	visitsPath = "/__api__/v1/instrumentation/content/visits"
	shinyPath  = "/__api__/v1/instrumentation/shiny/usage"
)

// usageDataVersion is the data_version of every record: Connect's first
// version of each format, whose fields Podium fills.
const usageDataVersion = 1

// VisitBody is one result of GET /__api__/v1/instrumentation/content/visits,
// in Connect's fields.
type VisitBody struct {
	ContentGUID string  `json:"content_guid"`
	UserGUID    *string `json:"user_guid"`
	VariantKey  *string `json:"variant_key"`
	RenderingID *string `json:"rendering_id"`
	BundleID    *string `json:"bundle_id"`
	Time        string  `json:"time"`
	DataVersion int     `json:"data_version"`
	Path        string  `json:"path"`
}

// ShinySessionBody is one result of GET /__api__/v1/instrumentation/shiny/usage.
type ShinySessionBody struct {
	ContentGUID string  `json:"content_guid"`
	UserGUID    *string `json:"user_guid"`
	Started     string  `json:"started"`
	Ended       string  `json:"ended"`
	DataVersion int     `json:"data_version"`
}

// UsagePage is the body of both instrumentation endpoints: Connect's
// keyset paging.
type UsagePage[T any] struct {
	Paging  UsagePaging `json:"paging"`
	Results []T         `json:"results"`
}

// UsagePaging holds the cursors of the neighbouring pages and the URLs
// that fetch them (null where there is none).
type UsagePaging struct {
	Cursors struct {
		Previous *string `json:"previous"`
		Next     *string `json:"next"`
	} `json:"cursors"`
	First    *string `json:"first"`
	Previous *string `json:"previous"`
	Next     *string `json:"next"`
	Last     *string `json:"last"`
}

// UsageRoutes are Connect's instrumentation endpoints, for administrators:
//
//	GET /__api__/v1/instrumentation/content/visits?content_guid=&from=&to=&limit=&next=&previous=&asc_order=&min_data_version=
//	GET /__api__/v1/instrumentation/shiny/usage   (the same parameters)
//
// Results come in id order (asc_order=true, the default, oldest first);
// next and previous take the cursors of the previous answer's paging.
// from and to are RFC 3339 times (or dates): visits at or after from and
// before to; sessions that overlap [from, to). docs/usage.md.
func UsageRoutes(db usage.ReadStore) []route.Route {
	h := &usageAPI{db: db}
	return []route.Route{
		{Method: http.MethodGet, Path: visitsPath, Handler: h.visits},
		{Method: http.MethodGet, Path: shinyPath, Handler: h.sessions},
	}
}

// usageAPI is the handler of the instrumentation endpoints.
type usageAPI struct{ db usage.ReadStore }

func (h *usageAPI) visits(c echo.Context) error {
	return usagePage(c, h.db, func(ctx context.Context, p *dbprovider.UsageListParams) ([]VisitBody, []int64, error) {
		list, err := h.db.UsageVisitList(ctx, p)
		out, ids := make([]VisitBody, len(list)), make([]int64, len(list))
		for i, v := range list {
			out[i] = VisitBody{ContentGUID: v.ContentGUID, UserGUID: userGUIDOf(v.UserID), BundleID: idString(v.BundleID),
				Time: v.At.UTC().Format(time.RFC3339), DataVersion: usageDataVersion, Path: v.Path}
			ids[i] = v.ID
		}
		return out, ids, err
	})
}

func (h *usageAPI) sessions(c echo.Context) error {
	return usagePage(c, h.db, func(ctx context.Context, p *dbprovider.UsageListParams) ([]ShinySessionBody, []int64, error) {
		list, err := h.db.UsageSessionList(ctx, p)
		out, ids := make([]ShinySessionBody, len(list)), make([]int64, len(list))
		for i, s := range list {
			out[i] = ShinySessionBody{ContentGUID: s.ContentGUID, UserGUID: userGUIDOf(s.UserID),
				Started: s.StartedAt.UTC().Format(time.RFC3339), Ended: s.EndedAt.UTC().Format(time.RFC3339), DataVersion: usageDataVersion}
			ids[i] = s.ID
		}
		return out, ids, err
	})
}

func userGUIDOf(id *int64) *string {
	if id == nil {
		return nil
	}
	g := UserGUID(*id)
	return &g
}

func idString(id *int64) *string {
	if id == nil {
		return nil
	}
	s := strconv.FormatInt(*id, 10)
	return &s
}

// Cursors are opaque to clients: the id of a row, base64url-encoded.
const cursorPrefix = "podium-usage:"

func encodeCursor(id int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(cursorPrefix + strconv.FormatInt(id, 10)))
}

func decodeCursor(name, v string) (int64, error) {
	b, err := base64.RawURLEncoding.DecodeString(v)
	if err == nil && strings.HasPrefix(string(b), cursorPrefix) {
		if id, err := strconv.ParseInt(strings.TrimPrefix(string(b), cursorPrefix), 10, 64); err == nil && id >= 0 {
			return id, nil
		}
	}
	return 0, podium.Errorf(podium.EINVALID, "%s: %q is not a cursor of this server: pass the value of paging.cursors.%s of an earlier answer", name, v, name)
}

// lastCursor stands after every row: previous=lastCursor is the last page.
const lastCursor = 1<<63 - 1

// usagePage answers one instrumentation request: it checks the caller,
// reads the filters and cursors, fetches one row more than the page in the
// direction it walks (to know whether another page follows) and one row in
// the other direction, and builds Connect's paging.
func usagePage[T any](c echo.Context, db usage.ReadStore, list func(ctx context.Context, p *dbprovider.UsageListParams) ([]T, []int64, error)) error {
	u, err := RequireUser(c)
	if err != nil {
		return err
	}
	if !u.IsAdmin() {
		return podium.Errorf(podium.EFORBIDDEN, "only administrators may read usage")
	}
	ctx := c.Request().Context()
	q := c.QueryParams()
	p := &dbprovider.UsageListParams{}
	empty := func() error { return c.JSON(http.StatusOK, UsagePage[T]{Results: []T{}}) }
	if g := q.Get("content_guid"); g != "" {
		ct, err := db.ContentGetByGUID(ctx, g)
		if podium.IsCode(err, podium.ENOTFOUND) {
			return empty()
		} else if err != nil {
			return err
		}
		p.ContentID = ct.ID
	}
	for _, tp := range []struct {
		name string
		dst  *time.Time
	}{{"from", &p.From}, {"to", &p.To}} {
		if v := q.Get(tp.name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				if t, err = time.Parse(time.DateOnly, v); err != nil {
					return podium.Errorf(podium.EINVALID, "%s: %q is not an RFC 3339 time such as 2026-01-02T15:04:05Z, or a date such as 2026-01-02", tp.name, v)
				}
			}
			*tp.dst = t
		}
	}
	limit := 20
	if v := q.Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > 500 {
			return podium.Errorf(podium.EINVALID, "limit must be an integer from 1 to 500")
		}
	}
	asc := true
	if v := q.Get("asc_order"); v != "" {
		if asc, err = strconv.ParseBool(v); err != nil {
			return podium.Errorf(podium.EINVALID, "asc_order must be true or false")
		}
	}
	if v := q.Get("min_data_version"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return podium.Errorf(podium.EINVALID, "min_data_version must be an integer")
		}
		if n > usageDataVersion {
			return empty()
		}
	}
	next, prev := q.Get("next"), q.Get("previous")
	if next != "" && prev != "" {
		return podium.Errorf(podium.EINVALID, "pass next or previous, not both")
	}
	// forward: the walk goes in the page's order (asc: ids up).
	forward, cursorSet := true, false
	var cursor int64
	if next != "" {
		if cursor, err = decodeCursor("next", next); err != nil {
			return err
		}
		cursorSet = true
	} else if prev != "" {
		if cursor, err = decodeCursor("previous", prev); err != nil {
			return err
		}
		forward, cursorSet = false, true
	}
	// walk fetches n rows from cursor on (exclusive) in direction up
	// (ids ascending) or down, in that walking order.
	walk := func(up bool, from int64, set bool, n int) ([]T, []int64, error) {
		w := *p
		w.Limit, w.Desc = n, !up
		if set {
			if up {
				w.AfterID = from
			} else {
				w.BeforeID = from
			}
		}
		return list(ctx, &w)
	}
	up := asc == forward
	rows, ids, err := walk(up, cursor, cursorSet, limit+1)
	if err != nil {
		return err
	}
	more := len(rows) > limit
	if more {
		rows, ids = rows[:limit], ids[:limit]
	}
	if !forward { // walked backwards: show in the page's order
		for i, j := 0, len(rows)-1; i < j; i, j = i+1, j-1 {
			rows[i], rows[j] = rows[j], rows[i]
			ids[i], ids[j] = ids[j], ids[i]
		}
	}
	body := UsagePage[T]{Results: rows}
	link := func(key, cur string) *string {
		v := url.Values{}
		for k, vs := range q {
			if k != "next" && k != "previous" {
				v[k] = vs
			}
		}
		if key != "" {
			v.Set(key, cur)
		}
		s := c.Scheme() + "://" + c.Request().Host + c.Request().URL.Path
		if enc := v.Encode(); enc != "" {
			s += "?" + enc
		}
		return &s
	}
	body.Paging.First = link("", "")
	body.Paging.Last = link("previous", encodeCursor(lastCursorFor(asc)))
	if len(ids) > 0 {
		// Rows after the page (in its order) and before it.
		hasNext, hasPrev := more, more
		if forward {
			if cursorSet {
				r, _, err := walk(!asc, ids[0], true, 1)
				if err != nil {
					return err
				}
				hasPrev = len(r) > 0
			} else {
				hasPrev = false
			}
		} else {
			r, _, err := walk(asc, ids[len(ids)-1], true, 1)
			if err != nil {
				return err
			}
			hasNext = len(r) > 0
		}
		if hasNext {
			cur := encodeCursor(ids[len(ids)-1])
			body.Paging.Cursors.Next, body.Paging.Next = &cur, link("next", cur)
		}
		if hasPrev {
			cur := encodeCursor(ids[0])
			body.Paging.Cursors.Previous, body.Paging.Previous = &cur, link("previous", cur)
		}
	}
	return c.JSON(http.StatusOK, body)
}

// lastCursorFor is the cursor beyond the last row in the page order: the
// greatest id ascending, 0 descending.
func lastCursorFor(asc bool) int64 {
	if asc {
		return lastCursor
	}
	return 0
}
