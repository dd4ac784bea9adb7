package apps

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/podiumhq/podium/internal/logging"
	"github.com/podiumhq/podium/internal/testutil"
)

// oneApp is an AppSource that lists no app (so Start starts nothing) but
// answers ActiveApp.
type oneApp struct{ app *App }

func (o oneApp) ActiveApp(context.Context, string) (*App, error) { return o.app, nil }
func (o oneApp) AppGUIDs(context.Context) ([]string, error)      { return nil, nil }

// sleepers returns the pids of processes whose command line is
// "sleep <tag>".
func sleepers(t *testing.T, tag string) []string {
	t.Helper()
	want := []byte("sleep\x00" + tag + "\x00")
	var out []string
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && bytes.HasSuffix(b, want) {
			out = append(out, e.Name())
		}
	}
	return out
}

// TestStopRacingAStartStopsTheProcess: a request that needs one more
// process starts it in the background; when Stop runs between the start
// of that process and its registration, the process is stopped all the
// same, before Stop returns, and never registered. Without the fix the
// process was registered after Stop had collected the live ones, from a
// goroutine Stop did not wait for.
func TestStopRacingAStartStopsTheProcess(t *testing.T) {
	t.Parallel()
	tag := "31" + time.Now().Format("150405") // unique enough among this test's runs
	dir := testutil.OpenTempDir(t, 0o755)
	app := &App{GUID: "race", BundleID: 1, Dir: dir, Command: []string{"/bin/sleep", tag}}
	s := New(Options{Source: oneApp{app}, Limits: Limits{MaxProcesses: 1, MaxConnsPerProcess: 1, LoadFactor: 1,
		IdleTimeout: time.Minute, InitTimeout: time.Minute},
		RunAs: "nobody", LogDir: t.TempDir(), Log: logging.Component(logging.Discard(), "apps"), StopGrace: time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	stopped := make(chan error, 1)
	s.afterStart = func() {
		// The node stops now: it cancels the service context, then
		// calls Stop.
		go func() { cancel(); stopped <- s.Stop(context.Background()) }()
		testutil.WaitFor(t, 10*time.Second, "Stop to begin", func() bool {
			s.mu.Lock()
			defer s.mu.Unlock()
			return s.stopped
		})
	}
	pl := s.pool(app.GUID)
	s.mu.Lock()
	pl.starting++ // as the proxy reserves a start
	s.mu.Unlock()
	s.goSpawn(pl, app)

	select {
	case err := <-stopped:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(testutil.Timeout(30 * time.Second)):
		t.Fatal("Stop did not return")
	}
	if pids := sleepers(t, tag); len(pids) > 0 {
		t.Errorf("app process %v still runs after Stop returned", pids)
	}
	if procs := s.Processes(app.GUID); len(procs) != 0 {
		t.Errorf("a stopped supervisor lists processes: %+v", procs)
	}

	// After Stop, a request that wants a process starts none.
	s.afterStart = nil
	s.mu.Lock()
	pl.starting++
	s.mu.Unlock()
	s.goSpawn(pl, app)
	s.mu.Lock()
	defer s.mu.Unlock()
	if pl.starting != 0 || len(pl.procs) != 0 {
		t.Errorf("after Stop: starting %d, processes %d, want none", pl.starting, len(pl.procs))
	}
}
