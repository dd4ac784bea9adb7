package runtimes

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/internal/pywheel"
	"github.com/sirupsen/logrus"
)

// setup returns a manager whose package source is a FindLinks directory
// holding the wheel of a package "podium-hello" (module hello), without
// any index, and which sees the system's site-packages (Debian's
// python3-waitress and friends).
func setup(t *testing.T, root string, system bool) (*Manager, string) {
	t.Helper()
	return setupLinks(t, root, system, wheels(t))
}

var wheelDir struct {
	sync.Once
	dir string
}

// wheels returns the FindLinks directory, built once per test process.
func wheels(t *testing.T) string {
	wheelDir.Do(func() {
		dir, err := os.MkdirTemp("", "podium-wheels-")
		if err != nil {
			t.Fatal(err)
		}
		pywheel.Build(t, dir, "podium-hello", "1.0", map[string]string{"hello": "GREETING = 'hello from a local wheel'\n"})
		wheelDir.dir = dir
	})
	if wheelDir.dir == "" {
		t.Fatal("the wheels were not built")
	}
	return wheelDir.dir
}

func setupLinks(t *testing.T, root string, system bool, links string) (*Manager, string) {
	t.Helper()
	log := logrus.New()
	log.SetOutput(testWriter{t})
	m, err := New(context.Background(), Config{
		Executables: []string{pywheel.Python}, FindLinks: []string{links}, NoIndex: true,
		SystemSitePackages: system, Root: root, NodeID: "test",
	}, logrus.NewEntry(log))
	if err != nil {
		t.Fatal(err)
	}
	return m, links
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func bundleDir(t *testing.T, requirements string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "requirements.txt"), []byte(requirements), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestPrepare(t *testing.T) {
	t.Parallel()
	root := filepath.Join(t.TempDir(), "envs")
	m, _ := setup(t, root, true)
	spec := &Spec{AppMode: ModePythonAPI, Entrypoint: "app:app"}
	dir := bundleDir(t, "# the app's packages\npodium-hello==1.0\n")

	var lines []string
	env, err := m.Prepare(context.Background(), spec, dir, nil, func(l string) { lines = append(lines, l) })
	if err != nil {
		t.Fatalf("Prepare: %v\n%s", err, strings.Join(lines, "\n"))
	}
	if !env.Built || m.Builds() != 1 {
		t.Fatalf("first Prepare: Built=%t builds=%d, want a build", env.Built, m.Builds())
	}
	if !strings.Contains(strings.Join(lines, "\n"), "podium-hello") {
		t.Errorf("pip's output did not reach the log:\n%s", strings.Join(lines, "\n"))
	}
	out, err := exec.Command(env.Python(), "-c", "import hello, sys; print(hello.GREETING, sys.prefix)").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "hello from a local wheel "+env.Dir) {
		t.Fatalf("the environment's python: %v: %s (want the wheel's module, prefix %s)", err, out, env.Dir)
	}

	t.Run("ReusedForTheSamePackageSet", func(t *testing.T) {
		// Same packages, other order and comments: the same environment.
		again, err := m.Prepare(context.Background(), spec, bundleDir(t, "podium-hello==1.0  # again\n\n"), nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if again.Built || again.Dir != env.Dir || m.Builds() != 1 {
			t.Fatalf("second Prepare built=%t dir=%s builds=%d, want the cached %s", again.Built, again.Dir, m.Builds(), env.Dir)
		}
		if got, err := m.Lookup(spec, dir); err != nil || got.Dir != env.Dir {
			t.Fatalf("Lookup = %v, %v", got, err)
		}
	})

	t.Run("OtherNodeBuildsOnce", func(t *testing.T) {
		// Two managers on one cache root are two nodes sharing the data
		// directory; both deploy a new package set at the same moment.
		other, _ := setupLinks(t, root, true, wheels(t))
		dir := bundleDir(t, "podium-hello\n")
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, mm := range []*Manager{m, other} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = mm.Prepare(context.Background(), spec, dir, nil, nil)
			}()
		}
		wg.Wait()
		if errs[0] != nil || errs[1] != nil {
			t.Fatalf("Prepare: %v / %v", errs[0], errs[1])
		}
		if n := m.Builds() - 1 + other.Builds(); n != 1 {
			t.Fatalf("two simultaneous deployments built %d environments, want 1", n)
		}
		assertNoLeftovers(t, root)
	})
}

func assertNoLeftovers(t *testing.T, root string) {
	t.Helper()
	entries, _ := os.ReadDir(root)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("the cache holds %s, left over from a build", e.Name())
		}
	}
}

func TestPrepareErrors(t *testing.T) {
	t.Parallel()
	t.Run("BadRequirement", func(t *testing.T) {
		root := filepath.Join(t.TempDir(), "envs")
		m, _ := setup(t, root, true)
		var lines []string
		_, err := m.Prepare(context.Background(), &Spec{AppMode: ModePythonAPI}, bundleDir(t, "podium-no-such-package==9.9\n"), nil,
			func(l string) { lines = append(lines, l) })
		if !podium.IsCode(err, podium.EINVALID) || !strings.Contains(err.Error(), "podium-no-such-package") ||
			!strings.Contains(err.Error(), "ERROR:") {
			t.Fatalf("err = %v, want EINVALID with pip's error", err)
		}
		if !strings.Contains(strings.Join(lines, "\n"), "No matching distribution") {
			t.Errorf("pip's message is not in the log:\n%s", strings.Join(lines, "\n"))
		}
		entries, _ := os.ReadDir(root)
		for _, e := range entries {
			if !strings.HasSuffix(e.Name(), ".lock") {
				t.Errorf("a failed build left %s in the cache", e.Name())
			}
		}
	})
	t.Run("ModeNeedsWhatTheEnvironmentLacks", func(t *testing.T) {
		// Without the system's site-packages, nothing provides waitress.
		m, _ := setup(t, filepath.Join(t.TempDir(), "envs"), false)
		_, err := m.Prepare(context.Background(), &Spec{AppMode: ModePythonAPI}, bundleDir(t, ""), nil, nil)
		if !podium.IsCode(err, podium.EPRECONDITION) || !strings.Contains(err.Error(), "waitress") ||
			!strings.Contains(err.Error(), "[Python] SystemSitePackages") {
			t.Fatalf("err = %v, want EPRECONDITION naming waitress and [Python] SystemSitePackages", err)
		}
	})
	t.Run("NoInterpreter", func(t *testing.T) {
		m, err := New(context.Background(), Config{Root: t.TempDir()}, logrus.NewEntry(logrus.New()))
		if err != nil {
			t.Fatal(err)
		}
		_, err = m.Prepare(context.Background(), &Spec{AppMode: ModePythonFastAPI}, bundleDir(t, ""), nil, nil)
		if !podium.IsCode(err, podium.EPRECONDITION) || !strings.Contains(err.Error(), "[Python] Executable") {
			t.Fatalf("err = %v, want EPRECONDITION naming [Python] Executable", err)
		}
	})
}

func TestEvict(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	now := time.Date(2026, 1, 10, 12, 0, 0, 0, time.UTC)
	mk := func(key string, used time.Time, size int) {
		dir := filepath.Join(root, key)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "payload"), make([]byte, size), 0o644); err != nil {
			t.Fatal(err)
		}
		rec := filepath.Join(dir, recordName)
		if err := os.WriteFile(rec, []byte("{}"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(rec, used, used); err != nil {
			t.Fatal(err)
		}
	}
	mk("old-unused", now.Add(-48*time.Hour), 10)
	mk("old-live", now.Add(-48*time.Hour), 10)
	mk("lru-unused", now.Add(-2*time.Hour), 1000)
	mk("recent-unused", now.Add(-1*time.Hour), 1000)
	mk("just-used", now.Add(-time.Minute), 1000)
	if err := os.Mkdir(filepath.Join(root, ".build-crashed-0000"), 0o755); err != nil {
		t.Fatal(err)
	}
	m := &Manager{cfg: Config{Root: root, Retention: 24 * time.Hour, MaxSize: 2500}, log: logrus.NewEntry(logrus.New())}

	// Another holder of recent-unused's lock (a deployment checking it)
	// protects it.
	unlock, err := lockFile(context.Background(), filepath.Join(root, "recent-unused.lock"), nil)
	if err != nil {
		t.Fatal(err)
	}
	got := m.Evict(context.Background(), map[string]bool{"old-live": true}, now)
	unlock()
	want := "old-unused,lru-unused"
	if strings.Join(got, ",") != want {
		t.Fatalf("Evict removed %v, want %s", got, want)
	}
	for _, k := range []string{"old-live", "recent-unused", "just-used"} {
		if _, err := os.Stat(filepath.Join(root, k, recordName)); err != nil {
			t.Errorf("%s was removed: %v", k, err)
		}
	}
	if _, err := os.Stat(filepath.Join(root, ".build-crashed-0000")); err == nil {
		t.Error("a crashed build's directory was kept")
	}
}
