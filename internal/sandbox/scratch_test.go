package sandbox

import (
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
)

// TestSweepBuildScratch: the scratch of a build whose key nobody holds
// (a node killed mid-build) is removed, with its work directory; a build
// in progress (its key's lock held) and finished entries are kept.
func TestSweepBuildScratch(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{".build-aaa-0001", ".build-aaa-0001.work", ".build-bbb-0002", "aaa", "ccc"} {
		if err := os.MkdirAll(filepath.Join(root, d, "sub"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	lock, err := os.OpenFile(filepath.Join(root, "bbb.lock"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	removed, err := SweepBuildScratch(root)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(root, ".build-aaa-0001"), filepath.Join(root, ".build-aaa-0001.work")}
	if !slices.Equal(removed, want) {
		t.Fatalf("removed %v, want %v", removed, want)
	}
	for _, d := range []string{".build-bbb-0002", "aaa", "ccc"} {
		if _, err := os.Stat(filepath.Join(root, d)); err != nil {
			t.Errorf("%s: %v, want it kept", d, err)
		}
	}
	if got, err := SweepBuildScratch(filepath.Join(root, "missing")); err != nil || got != nil {
		t.Errorf("missing root: %v, %v", got, err)
	}
}
