package apps_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/labstack/echo/v4"
	"github.com/podiumhq/podium/apps"
	"github.com/podiumhq/podium/internal/testutil"
)

// TestSessionHook: a WebSocket to an app is one session: the Session hook
// is called once when the connection is upgraded, with the app's content
// and the serving process's bundle, and its end function once when the
// connection closes; plain requests start no session.
func TestSessionHook(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var started, ended int
	var got []string
	f := setupWith(t, defaults(), func(o *apps.Options) {
		o.Session = func(c echo.Context, contentID int64, g string, bundleID int64) func() {
			mu.Lock()
			defer mu.Unlock()
			started++
			got = append(got, g, c.Request().URL.Path)
			if contentID != 1 || bundleID != 1 {
				t.Errorf("session of content %d bundle %d, want 1 and 1", contentID, bundleID)
			}
			return func() { mu.Lock(); ended++; mu.Unlock() }
		}
	})
	count := func() (int, int) { mu.Lock(); defer mu.Unlock(); return started, ended }
	ctx, cancel := context.WithTimeout(context.Background(), testutil.Timeout(20*time.Second))
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", f.base, nil)
	getJSON(t, req)
	if s, _ := count(); s != 0 {
		t.Fatalf("a plain request started %d sessions", s)
	}
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(f.base, "http")+"ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Write(ctx, websocket.MessageText, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Read(ctx); err != nil {
		t.Fatal(err)
	}
	if s, e := count(); s != 1 || e != 0 {
		t.Fatalf("open WebSocket: %d started, %d ended; want 1, 0", s, e)
	}
	_ = c.Close(websocket.StatusNormalClosure, "bye")
	testutil.WaitFor(t, testutil.Timeout(10*time.Second), "the session ended", func() bool { _, e := count(); return e == 1 })
	mu.Lock()
	defer mu.Unlock()
	if started != 1 || got[0] != guid || got[1] != "/content/"+guid+"/ws" {
		t.Fatalf("sessions: %d started, %q", started, got)
	}
}
