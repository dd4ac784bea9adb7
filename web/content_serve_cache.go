package web

import (
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/publish"
)

// targetTTL is how long a granted app target is reused without asking the
// database again. It bounds how late this node notices a change made
// through another node (access type, permissions, delete, a redeploy to
// another appmode): a reader who lost access may still reach an app for
// up to this long there. Changes made through this node's API drop the
// entry at once (invalidateOnChange).
const targetTTL = time.Second

// targetCacheMax bounds the entries kept; past it, expired entries are
// swept on insert, and if none expired the cache is emptied.
const targetCacheMax = 8192

// targetKey identifies one reader of one content item. The role is part
// of the key so that a changed role is a miss; the user record itself is
// read on every request by the authentication middleware, which refuses
// locked users.
type targetKey struct {
	guid string
	uid  int64 // 0: anonymous
	role string
}

type targetEntry struct {
	target  *publish.Target
	expires time.Time
}

// targetCache remembers, for a short while, that a reader may see app or
// api content: every request to an app would otherwise read the content
// (and the reader's ACL role) from the database. Only successful answers
// for app and api content are kept; refusals and static content always go
// to the database.
type targetCache struct {
	now func() time.Time

	mu      sync.RWMutex
	entries map[targetKey]targetEntry
}

func newTargetCache() *targetCache {
	return &targetCache{now: time.Now, entries: map[targetKey]targetEntry{}}
}

func keyOf(u *podium.User, guid string) targetKey {
	if u == nil {
		return targetKey{guid: guid}
	}
	return targetKey{guid: guid, uid: u.ID, role: u.Role}
}

// get returns the cached target of k, nil when absent or expired.
func (tc *targetCache) get(k targetKey) *publish.Target {
	tc.mu.RLock()
	e, ok := tc.entries[k]
	tc.mu.RUnlock()
	if !ok || !tc.now().Before(e.expires) {
		return nil
	}
	return e.target
}

func (tc *targetCache) put(k targetKey, t *publish.Target) {
	now := tc.now()
	tc.mu.Lock()
	defer tc.mu.Unlock()
	if len(tc.entries) >= targetCacheMax {
		for k, e := range tc.entries {
			if !now.Before(e.expires) {
				delete(tc.entries, k)
			}
		}
		if len(tc.entries) >= targetCacheMax {
			clear(tc.entries)
		}
	}
	tc.entries[k] = targetEntry{target: t, expires: now.Add(targetTTL)}
}

// invalidate drops every entry of content guid.
func (tc *targetCache) invalidate(guid string) {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	for k := range tc.entries {
		if k.guid == guid {
			delete(tc.entries, k)
		}
	}
}

// contentAPIPrefix starts the API paths that change one content item
// (/__api__/v1/content/{guid}[/...]).
const contentAPIPrefix = "/__api__/v1/content/"

// invalidateOnChange drops the cached targets of a content item after a
// request to this node's API changed it (settings, permissions, delete,
// deploy): the change applies here at once, not a targetTTL later.
//
// New installs it on every request, so that the cache of
// ContentServeRoutes stays right whichever area changed the content.
func (s *Server) invalidateOnChange(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		if safeMethod(req.Method) || !strings.HasPrefix(req.URL.Path, contentAPIPrefix) {
			return next(c)
		}
		err := next(c)
		guid, _, _ := strings.Cut(req.URL.Path[len(contentAPIPrefix):], "/")
		if guid != "" {
			// Even after an error: the change may have been made.
			s.targets.invalidate(guid)
		}
		return err
	}
}

// methodNotAllowed answers a request other than GET or HEAD for files.
func methodNotAllowed(c echo.Context) error {
	c.Response().Header().Set(echo.HeaderAllow, "GET, HEAD")
	return echo.NewHTTPError(http.StatusMethodNotAllowed, "published files are read with GET or HEAD")
}
