// Package nodetest runs real podium processes for integration tests: it
// builds the binary once per test process, writes a configuration file for
// each node (free port, temp data and state directories, optional shared
// PostgreSQL), starts `podium serve`, waits until /__ping__ answers 200, and
// stops every process it started when the test ends, even if the test
// fails. On failure it prints each node's log.
//
// It is for tests only and imports only the standard library and
// internal/testutil.
package nodetest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
)

// RaceBinaryEnv names the environment variable that, set to 1, builds the
// podium binary with -race (slower to build and to start; catches races in
// the real process).
const RaceBinaryEnv = "PODIUM_TEST_RACE_BINARY"

// builds caches one build per tag set for the life of the test process.
var (
	buildsMu sync.Mutex
	builds   = map[string]*build{}
)

type build struct {
	once sync.Once
	path string
	err  error
}

// Binary builds ./cmd/podium once per test process (with -race only if
// PODIUM_TEST_RACE_BINARY=1) and returns the path of the executable.
func Binary(tb testing.TB) string {
	tb.Helper()
	return BinaryWithTags(tb)
}

// BinaryWithTags is [Binary] for a variant built with the given build tags
// (for example a binary that knows one more migration). Each tag set is
// built once per test process.
func BinaryWithTags(tb testing.TB, tags ...string) string {
	tb.Helper()
	tags = append([]string(nil), tags...)
	sort.Strings(tags)
	race := os.Getenv(RaceBinaryEnv) == "1"
	key := strings.Join(tags, ",")
	if race {
		key += "+race"
	}
	buildsMu.Lock()
	b, ok := builds[key]
	if !ok {
		b = &build{}
		builds[key] = b
	}
	buildsMu.Unlock()
	b.once.Do(func() { b.path, b.err = goBuild(key, tags, race) })
	if b.err != nil {
		tb.Fatalf("nodetest: %v", b.err)
	}
	return b.path
}

// goBuild builds the binary into a per-user cache directory keyed by the
// tag set. It builds to a temporary name and renames, so test processes
// running in parallel (go test -p 2) never see a half-written file, and a
// process still running the previous build keeps its inode.
func goBuild(key string, tags []string, race bool) (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(root + "\x00" + key))
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("podium-nodetest-%d", os.Getuid()), hex.EncodeToString(sum[:6]))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("build: %w", err)
	}
	tmp, err := os.CreateTemp(dir, "podium-*.tmp")
	if err != nil {
		return "", fmt.Errorf("build: %w", err)
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	args := []string{"build", "-o", tmp.Name(), "-ldflags", "-X main.version=nodetest"}
	if race {
		args = append(args, "-race")
	}
	if len(tags) > 0 {
		args = append(args, "-tags", strings.Join(tags, ","))
	}
	args = append(args, "./cmd/podium")
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build: go %s: %w\n%s", strings.Join(args, " "), err, out.String())
	}
	path := filepath.Join(dir, "podium")
	if err := os.Rename(tmp.Name(), path); err != nil {
		return "", fmt.Errorf("build: %w", err)
	}
	return path, nil
}

// moduleRoot finds the directory of go.mod from the working directory (a
// test runs in its package's directory).
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("module root: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("module root: no go.mod above the working directory")
		}
		dir = parent
	}
}

// ModuleRoot returns the directory holding go.mod (the repository root).
func ModuleRoot(tb testing.TB) string {
	tb.Helper()
	root, err := moduleRoot()
	if err != nil {
		tb.Fatalf("nodetest: %v", err)
	}
	return root
}
