package runas

import (
	"errors"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/podiumhq/podium/internal/testutil"
)

func TestCredential(t *testing.T) {
	t.Parallel()
	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		c, err := Credential(&user.User{Uid: "1001", Gid: "1002"})
		if err != nil {
			t.Fatal(err)
		}
		if c.Uid != 1001 || c.Gid != 1002 || c.Groups == nil || len(c.Groups) != 0 {
			t.Fatalf("credential = %+v, want uid 1001, gid 1002 and an empty, non-nil group list", c)
		}
	})
	t.Run("ErrRoot", func(t *testing.T) {
		t.Parallel()
		if _, err := Credential(&user.User{Uid: "0", Gid: "1002"}); !errors.Is(err, ErrRoot) {
			t.Fatalf("err = %v, want ErrRoot", err)
		}
	})
	t.Run("ErrNonNumeric", func(t *testing.T) {
		t.Parallel()
		for _, u := range []*user.User{{Uid: "x", Gid: "1"}, {Uid: "1", Gid: "S-1-5"}} {
			if _, err := Credential(u); err == nil || errors.Is(err, ErrRoot) {
				t.Fatalf("Credential(%+v) err = %v, want a parse error", u, err)
			}
		}
	})
}

func TestUnsearchable(t *testing.T) {
	t.Parallel()
	root := testutil.OpenTempDir(t, 0o755) // t.TempDir's parent would block "other"
	deep := filepath.Join(root, "data", "content", "guid")
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(root, "data")
	// The directories belong to this process's user and group; the
	// credentials below stand for their owner, a member of their group,
	// and anybody else.
	uid, gid := uint32(os.Getuid()), uint32(os.Getgid())
	owner := &syscall.Credential{Uid: uid, Gid: gid + 1}
	group := &syscall.Credential{Uid: uid + 1, Gid: gid}
	other := &syscall.Credential{Uid: uid + 1, Gid: gid + 1}
	for _, c := range []struct {
		mode os.FileMode
		cred *syscall.Credential
		want string
	}{
		{0o755, other, ""},
		{0o751, other, ""}, // search without listing is enough
		{0o750, other, data},
		{0o750, group, ""},
		{0o705, group, data}, // the group's bits apply, not others'
		{0o070, owner, data}, // the owner's bits apply, not the group's
		{0o100, owner, ""},
	} {
		if err := os.Chmod(data, c.mode); err != nil {
			t.Fatal(err)
		}
		if got := Unsearchable(deep, c.cred); got != c.want {
			t.Errorf("data %o, uid %d gid %d: Unsearchable = %q, want %q", c.mode, c.cred.Uid, c.cred.Gid, got, c.want)
		}
	}
	if err := os.Chmod(data, 0o755); err != nil {
		t.Fatal(err)
	}
	if got := Unsearchable(filepath.Join(root, "missing"), other); got != filepath.Join(root, "missing") {
		t.Errorf("missing dir: %q, want it named", got)
	}
}

// TestLookPath resolves a command as the RunAs user would, in the child's
// PATH: a file that user may not execute, or in a directory it may not
// enter, is passed over for the next one, and an error names the command,
// the PATH and what was refused.
func TestLookPath(t *testing.T) {
	t.Parallel()
	nobody := &syscall.Credential{Uid: 65534, Gid: 65534, Groups: []uint32{}}
	// Owned by the test's user (not nobody): nobody gets the "other" bits.
	closed := testutil.OpenTempDir(t, 0o700) // like /root/.pyenv/shims
	noExec := testutil.OpenTempDir(t, 0o755)
	good := testutil.OpenTempDir(t, 0o755)
	for _, f := range []struct {
		dir  string
		mode os.FileMode
	}{{closed, 0o755}, {noExec, 0o700}, {good, 0o755}} {
		p := filepath.Join(f.dir, "tool")
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"), f.mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, f.mode); err != nil {
			t.Fatal(err)
		}
	}
	path := closed + ":" + noExec + ":" + good

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		got, err := LookPath("tool", path, nobody)
		if err != nil || got != filepath.Join(good, "tool") {
			t.Fatalf("LookPath = %q, %v; want %s", got, err, filepath.Join(good, "tool"))
		}
	})
	t.Run("PathUnchanged", func(t *testing.T) {
		t.Parallel()
		if got, err := LookPath("./bin/tool", path, nobody); err != nil || got != "./bin/tool" {
			t.Fatalf("LookPath = %q, %v; want the path unchanged", got, err)
		}
	})
	t.Run("ErrNamesCommandAndPath", func(t *testing.T) {
		t.Parallel()
		_, err := LookPath("tool", closed+":"+noExec, nobody)
		if err == nil {
			t.Fatal("no error for a command nobody may not run")
		}
		for _, want := range []string{`"tool"`, "PATH=" + closed + ":" + noExec, "cannot enter " + closed, filepath.Join(noExec, "tool") + ": no execute permission", "uid 65534"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not contain %q", err, want)
			}
		}
		if _, err := LookPath("no-such-tool", path, nobody); err == nil || !strings.Contains(err.Error(), "PATH="+path) {
			t.Errorf("missing command: %v", err)
		}
	})
}
