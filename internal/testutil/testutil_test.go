package testutil_test

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/podiumhq/podium/internal/testutil"
)

func TestWaitFor(t *testing.T) {
	t.Parallel()
	var n atomic.Int32
	start := time.Now()
	testutil.WaitFor(t, 5*time.Second, "three polls", func() bool { return n.Add(1) >= 3 })
	if got := n.Load(); got != 3 {
		t.Fatalf("cond called %d times, want 3", got)
	}
	if el := time.Since(start); el < 2*testutil.PollInterval {
		t.Fatalf("returned after %s, want at least two poll intervals", el)
	}
}

func TestFreePort(t *testing.T) {
	t.Parallel()
	port := testutil.FreePort(t)
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatalf("listen on the free port: %v", err)
	}
	l.Close()
}

func TestTimeout(t *testing.T) {
	t.Parallel()
	if got := testutil.Timeout(time.Second); got < time.Second {
		t.Fatalf("Timeout(1s) = %s, want at least 1s", got)
	}
}

func TestOpenTempDir(t *testing.T) {
	var dir string
	t.Run("make", func(t *testing.T) {
		dir = testutil.OpenTempDir(t, 0o755)
		fi, err := os.Stat(dir)
		if err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o755 {
			t.Fatalf("OpenTempDir: %v %v, want a 0755 directory", fi, err)
		}
		parent, err := os.Stat(filepath.Dir(dir))
		if err != nil || parent.Mode().Perm()&0o001 == 0 {
			t.Fatalf("parent of %s: %v %v, want one others may enter", dir, parent, err)
		}
	})
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("%s after the test: %v, want it removed", dir, err)
	}
}
