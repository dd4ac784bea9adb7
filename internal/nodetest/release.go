package nodetest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// ReleaseBinary builds ./cmd/podium as it was at a commit of this
// repository (an earlier release, for upgrade tests) and returns the path
// of the executable. The commit's tree is exported with "git archive" into
// a temporary directory and built there offline (GOFLAGS=-mod=readonly,
// GOPROXY=off: its modules come from the module cache, and the Go build
// cache makes a rebuild cheap). Each commit is built once per test
// process, into the same per-user cache directory as [Binary].
func ReleaseBinary(tb testing.TB, commit string) string {
	tb.Helper()
	key := "release:" + commit
	buildsMu.Lock()
	b, ok := builds[key]
	if !ok {
		b = &build{}
		builds[key] = b
	}
	buildsMu.Unlock()
	b.once.Do(func() { b.path, b.err = buildRelease(commit) })
	if b.err != nil {
		tb.Fatalf("nodetest: %v", b.err)
	}
	return b.path
}

func buildRelease(commit string) (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("podium-nodetest-%d", os.Getuid()), "release-"+commit)
	path := filepath.Join(dir, "podium")
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	src, err := os.MkdirTemp("", "podium-release-src-*")
	if err != nil {
		return "", fmt.Errorf("release %s: %w", commit, err)
	}
	defer os.RemoveAll(src)
	var out bytes.Buffer
	archive := exec.Command("sh", "-c", `git -C "$1" archive "$2" | tar -x -C "$3"`, "sh", root, commit, src)
	archive.Stdout, archive.Stderr = &out, &out
	if err := archive.Run(); err != nil {
		return "", fmt.Errorf("release %s: git archive: %w\n%s", commit, err, out.String())
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("release %s: %w", commit, err)
	}
	tmp := filepath.Join(dir, "podium.tmp")
	// The release may need modules that today's go.mod dropped (the
	// progress bar library, say), which a fresh machine's module cache
	// lacks: fetch what is missing through the configured proxy (go.sum
	// verifies every one), then build offline. With a warm cache the
	// download does nothing.
	download := exec.Command("go", "mod", "download")
	download.Dir = src
	download.Env = append(os.Environ(), "GOFLAGS=-mod=readonly", "GOWORK=off")
	download.Stdout, download.Stderr = &out, &out
	if err := download.Run(); err != nil {
		return "", fmt.Errorf("release %s: go mod download (its modules are neither in the module cache nor reachable through GOPROXY): %w\n%s", commit, err, out.String())
	}
	cmd := exec.Command("go", "build", "-o", tmp, "./cmd/podium")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=readonly", "GOPROXY=off", "GOWORK=off")
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("release %s: go build: %w\n%s", commit, err, out.String())
	}
	return path, os.Rename(tmp, path)
}
