package sandbox

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestHiddenDirs: Podium's own directories are hidden when they lie
// below a system directory (which sandboxes show read-only), not a system
// directory itself nor a directory elsewhere; relative paths are skipped.
func TestHiddenDirs(t *testing.T) {
	got := HiddenDirs("/etc/podium", "/opt/podium/data/", "/var/lib/podium", "/etc", "relative", "", ".", "/etc/podium", "/usrlocal/x")
	if want := []string{"/etc/podium", "/opt/podium/data"}; !slices.Equal(got, want) {
		t.Fatalf("HiddenDirs = %q, want %q", got, want)
	}
}

// TestInstallPrefixes: an interpreter outside the system directories
// shows its installation (the directory above bin) read-only, once, also
// when reached through a link; one in a system directory, or a link to
// one, needs nothing; a missing one is skipped.
func TestInstallPrefixes(t *testing.T) {
	home := t.TempDir()
	py := filepath.Join(home, "pyenv", "versions", "3.12", "bin", "python3")
	if err := os.MkdirAll(filepath.Dir(py), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(py, nil, 0o755); err != nil {
		t.Fatal(err)
	}
	shim := filepath.Join(home, "shims", "python")
	sys := filepath.Join(home, "shims", "system-sh")
	if err := os.MkdirAll(filepath.Dir(shim), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(py, shim); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/bin/sh", sys); err != nil {
		t.Fatal(err)
	}
	real, err := filepath.EvalSymlinks(filepath.Join(home, "pyenv", "versions", "3.12"))
	if err != nil {
		t.Fatal(err)
	}
	got := InstallPrefixes([]string{py, shim, sys, "/bin/sh", filepath.Join(home, "missing", "bin", "R")})
	if want := []string{real}; !slices.Equal(got, want) {
		t.Fatalf("InstallPrefixes = %q, want %q", got, want)
	}
}
