package apps_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/podiumhq/podium/internal/testutil"
)

// TestSnapshot checks the per-content figures the metrics read: processes,
// open WebSockets (counted while open, not after), proxied requests, and
// the crash and refused request of this content.
func TestSnapshot(t *testing.T) {
	t.Parallel()
	f := setup(t, defaults())
	getJSON(t, mustReq(t, f.base))

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+f.base[len("http"):]+"ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Write(ctx, websocket.MessageText, []byte("hi")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Read(ctx); err != nil {
		t.Fatal(err)
	}
	st := f.sup.Snapshot().Content[guid]
	if st.WebSockets != 1 || st.Processes < 1 || st.Ready < 1 || st.Connections < 1 || st.Requests != 2 {
		t.Errorf("with one WebSocket open after one request: %+v, want 1 websocket, a ready process, 2 requests", st)
	}
	_ = c.Close(websocket.StatusNormalClosure, "")
	testutil.WaitFor(t, 10*time.Second, "the WebSocket no longer counted", func() bool {
		st := f.sup.Snapshot().Content[guid]
		return st.WebSockets == 0 && st.Connections == 0
	})

	res, err := http.Get(f.base + "crash")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	testutil.WaitFor(t, 10*time.Second, "the crash counted for the content", func() bool {
		return f.sup.Snapshot().Content[guid].Crashed == 1
	})
	snap := f.sup.Snapshot()
	if st := snap.Content[guid]; st.Rejected != 1 || st.Started < 1 {
		t.Errorf("after a request that crashed the app: %+v, want 1 rejected (the 502), at least 1 started", st)
	}
	if snap.Events.Crashed != 1 || snap.Events.Requests != 3 {
		t.Errorf("totals: %+v, want 1 crash and 3 requests", snap.Events)
	}
}
