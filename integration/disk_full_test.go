package integration

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/podiumhq/podium/hacheck"
	"github.com/podiumhq/podium/internal/nodetest"
	"github.com/podiumhq/podium/internal/testutil"
)

// mountTmpfs mounts a tmpfs of size on a new directory (root only: CI
// runs as root) and unmounts it when the test ends.
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatalf("this test mounts a small tmpfs as a full data directory and needs root (CI runs as root)")
	}
	dir := testutil.OpenTempDir(t, 0o755)
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size+",mode=0755", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs on %s: %v: %s", dir, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", "-l", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// fillDisk writes a file in dir until the filesystem is full and returns
// its path.
func fillDisk(t *testing.T, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "filler")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 16<<10)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("fill %s: %v", dir, err)
			}
			return p
		}
	}
}

// TestDiskFullIs507: with the data directory full (a real 4 MiB tmpfs),
// an upload is answered 507 with the free space and no server path,
// podium deploy exits 1 (not 2, "your input"), /__ping__ and the log warn
// under [Server] MinFreeSpace, and podium ha check fails its disk item.
// When space is freed, everything clears.
func TestDiskFullIs507(t *testing.T) {
	t.Parallel()
	data := mountTmpfs(t, "4m")
	conf := fmt.Sprintf("[Server]\nMinFreeSpace = 2MiB\n[Database]\nDir = %q\n%s[Applications]\nRunAs = nobody\n", t.TempDir(), haFastConfig)
	n := nodetest.StartNode(t, nodetest.Options{DataDir: data, Config: conf})
	key := pubUser(t, n, "pub", "publisher")
	site := pubDir(t, map[string]string{"manifest.json": `{"version": 1, "metadata": {"appmode": "static"}}`, "index.html": "<p>hello</p>"})
	if stdout, stderr, code := pubDeploy(t, n.URL, key, site, "--name", "before"); code != 0 {
		t.Fatalf("deploy with free space: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if _, body, _ := n.Ping(); strings.Contains(fmt.Sprint(body["warnings"]), "MinFreeSpace") {
		t.Fatalf("ping warns about free space while there is enough: %v", body["warnings"])
	}

	filler := fillDisk(t, data)
	stdout, stderr, code := pubDeploy(t, n.URL, key, site, "--name", "after")
	if code != 1 {
		t.Errorf("podium deploy on a full data directory: exit %d, want 1 (a server failure, not refused input)\n%s\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stderr, "data directory is full") || !strings.Contains(stderr, "free of") || !strings.Contains(stderr, "507") {
		t.Errorf("podium deploy's message %q: want the 507 and the free space", stderr)
	}
	if strings.Contains(stderr, data) || strings.Contains(stderr, "/content/") {
		t.Errorf("podium deploy's message names a server path: %q", stderr)
	}
	r := pubJSON(t, "POST", n.URL+"/__api__/v1/content", key, map[string]any{"name": "raw"})
	pubWant(t, "create content", r, 201)
	var ct struct{ GUID string }
	r.JSON(t, &ct)
	r = pubDo(t, "POST", n.URL+"/__api__/v1/content/"+ct.GUID+"/bundles", key, "application/gzip",
		pubBundle(t, map[string]string{"index.html": strings.Repeat("x", 64<<10)}))
	if r.Status != 507 || r.ErrorCode(t) != "insufficient_storage" || strings.Contains(string(r.Body), data) {
		t.Errorf("upload to a full data directory: %d %s, want 507 insufficient_storage without paths", r.Status, r.Body)
	}

	testutil.WaitFor(t, 30*time.Second, "/__ping__ warns about free space", func() bool {
		_, body, err := n.Ping()
		return err == nil && strings.Contains(fmt.Sprint(body["warnings"]), "MinFreeSpace")
	})
	if !strings.Contains(n.Log(), "under [Server] MinFreeSpace") {
		t.Errorf("the log does not warn about free space:\n%s", n.Log())
	}
	bin := nodetest.Binary(t)
	testutil.WaitFor(t, 30*time.Second, "podium ha check fails the disk item", func() bool {
		res, code, _ := haCheck(t, bin, n.ConfigPath)
		return res[hacheck.ItemDisk].Status == hacheck.Fail && code != 0
	})

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 30*time.Second, "the warnings clear once space is freed", func() bool {
		_, body, err := n.Ping()
		res, _, _ := haCheck(t, bin, n.ConfigPath)
		return err == nil && !strings.Contains(fmt.Sprint(body["warnings"]), "MinFreeSpace") && res[hacheck.ItemDisk].Status == hacheck.Pass
	})
	if _, stderr, code := pubDeploy(t, n.URL, key, site, "--name", "after"); code != 0 {
		t.Errorf("deploy after freeing space: exit %d: %s", code, stderr)
	}
}
