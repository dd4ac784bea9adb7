package apps_test

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/podiumhq/podium/internal/testutil"
)

// TestServeRawQueues: the raw lane keeps MaxConnsPerProcess as ServeApp
// does. A request that finds the one process full waits its turn and is
// served when the slot frees; one whose turn does not come within
// InitTimeout gets ServeApp's 503 with Retry-After, through the lane.
func TestServeRawQueues(t *testing.T) {
	t.Parallel()
	lim := defaults()
	lim.MaxProcesses, lim.MaxConnsPerProcess, lim.InitTimeout = 1, 1, time.Second
	f := setupServer(t, lim, nil, true)
	get := func(path string) (*http.Response, string) {
		res, err := http.Get(f.base + path)
		if err != nil {
			t.Error(err)
			return nil, ""
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		return res, string(b)
	}
	if res, _ := get("small"); res == nil || res.StatusCode != 200 {
		t.Fatalf("first request: %v", res)
	}
	hold := func() (release func(), done chan *http.Response) {
		// A directory the app (running as nobody) can look into.
		dir, err := os.MkdirTemp("", "podium-hold-")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(dir, "go")
		done = make(chan *http.Response, 1)
		go func() {
			res, _ := get("hold?file=" + file)
			done <- res
		}()
		testutil.WaitFor(t, 10*time.Second, "the held request to take the slot", func() bool {
			ps := f.sup.Processes(guid)
			return len(ps) == 1 && ps[0].Connections == 1
		})
		return func() { _ = os.WriteFile(file, nil, 0o644) }, done
	}

	// Served in turn.
	release, held := hold()
	queued := make(chan *http.Response, 1)
	go func() {
		res, _ := get("small")
		queued <- res
	}()
	testutil.WaitFor(t, 10*time.Second, "the second request to queue", func() bool { return f.sup.Snapshot().Content[guid].Queued == 1 })
	release()
	if res := <-held; res == nil || res.StatusCode != 200 {
		t.Fatalf("the held request: %v", res)
	}
	if res := <-queued; res == nil || res.StatusCode != 200 || res.Header.Get("X-Lane") != "raw" {
		t.Fatalf("the queued request: %v", res)
	}

	// Not served within InitTimeout: 503.
	release, held = hold()
	res, body := get("small")
	release()
	<-held
	if res == nil || res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") != "5" || res.Header.Get("X-Lane") != "raw" {
		t.Fatalf("a request that never got its turn: %v %q", res, body)
	}
}
