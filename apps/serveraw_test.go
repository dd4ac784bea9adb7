package apps_test

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/podiumhq/podium/apps"
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

// TestServeRawForwarding: the raw lane sends an app the forwarding headers
// the direct path sends, from a trusted proxy (whose X-Forwarded-* are
// kept and extended) and from anyone else (whose are replaced).
func TestServeRawForwarding(t *testing.T) {
	t.Parallel()
	_, loopback, _ := net.ParseCIDR("127.0.0.0/8")
	_, elsewhere, _ := net.ParseCIDR("192.0.2.0/24")
	for _, tc := range []struct {
		name    string
		trusted *net.IPNet
	}{{"trusted proxy", loopback}, {"untrusted client", elsewhere}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			opt := func(o *apps.Options) { o.TrustedProxies = []*net.IPNet{tc.trusted} }
			got := map[bool]map[string]any{}
			for _, fast := range []bool{false, true} {
				f := setupServer(t, defaults(), opt, fast)
				req := mustRequest(t, http.MethodGet, f.base)
				req.Host = "podium.test" // the same for both servers
				req.Header.Add("X-Forwarded-For", "203.0.113.7")
				req.Header.Add("X-Forwarded-For", "198.51.100.2")
				req.Header.Set("X-Forwarded-Proto", "https")
				req.Header.Set("X-Forwarded-Host", "public.example")
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				var m map[string]any
				err = json.NewDecoder(res.Body).Decode(&m)
				res.Body.Close()
				if err != nil || (fast && res.Header.Get("X-Lane") != "raw") {
					t.Fatalf("fast %v: %v %v", fast, err, res.Header)
				}
				delete(m, "pid")
				got[fast] = m
			}
			if !reflect.DeepEqual(got[false], got[true]) {
				t.Errorf("the app saw, from the direct path:\n%v\nfrom the raw lane:\n%v", got[false], got[true])
			}
			want := map[string]any{"x_forwarded_for": "127.0.0.1", "x_forwarded_proto": "http", "x_forwarded_host": "podium.test"}
			if tc.trusted == loopback {
				want = map[string]any{"x_forwarded_for": "203.0.113.7, 198.51.100.2, 127.0.0.1", "x_forwarded_proto": "https", "x_forwarded_host": "public.example"}
			}
			for k, v := range want {
				if got[true][k] != v {
					t.Errorf("%s %v, want %q", k, got[true][k], v)
				}
			}
		})
	}
}
