package sqlite

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/podiumhq/podium"
	"golang.org/x/sys/unix"
)

func TestRefuseNetworkFS(t *testing.T) {
	t.Parallel()
	t.Run("LocalTempDirPasses", func(t *testing.T) {
		if err := refuseNetworkFS(t.TempDir()); err != nil {
			t.Fatalf("local temp dir refused: %v", err)
		}
	})
	t.Run("MissingDirChecksNearestParent", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "not", "yet")
		var asked []string
		err := checkLocalFS(dir, func(path string, st *unix.Statfs_t) error {
			asked = append(asked, path)
			if strings.HasSuffix(path, "yet") || strings.HasSuffix(path, "not") {
				return unix.ENOENT
			}
			st.Type = 0x6969 // NFS
			return nil
		})
		if podium.ErrorCode(err) != podium.EREFUSED {
			t.Fatalf("NFS parent: %v, want EREFUSED", err)
		}
		if len(asked) != 3 {
			t.Errorf("statfs asked for %v, want the dir, its parent, then the existing grandparent", asked)
		}
	})
	for magic, name := range networkFS {
		t.Run("Refuses"+name, func(t *testing.T) {
			dir := t.TempDir()
			err := checkLocalFS(dir, func(path string, st *unix.Statfs_t) error {
				st.Type = magic
				return nil
			})
			if podium.ErrorCode(err) != podium.EREFUSED || podium.ExitCode(err) != 2 {
				t.Fatalf("%s: %v (exit %d), want EREFUSED, exit 2", name, err, podium.ExitCode(err))
			}
			msg := podium.ErrorMessage(err)
			for _, want := range []string{dir, "network filesystem (" + name + ")", "local disk", "podium migrate db"} {
				if !strings.Contains(msg, want) {
					t.Errorf("message %q does not contain %q", msg, want)
				}
			}
		})
	}
}

// TestOpenLock: a second exclusive open of the same Dir is refused, naming
// the holder's host and pid; after Close the lock is free again.
func TestOpenLock(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := context.Background()
	p, err := Open(ctx, Options{Dir: dir, Exclusive: true, Purpose: "serve"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = Open(ctx, Options{Dir: dir, Exclusive: true, Purpose: "serve"})
	if podium.ErrorCode(err) != podium.EREFUSED {
		t.Fatalf("second exclusive Open: %v, want EREFUSED", err)
	}
	msg := podium.ErrorMessage(err)
	for _, want := range []string{dir, "pid ", "host ", `"podium serve"`, "SQLite serves exactly one node"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q does not contain %q", msg, want)
		}
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	p2, err := Open(ctx, Options{Dir: dir, Exclusive: true, Purpose: "serve"})
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	p2.Close()
}
